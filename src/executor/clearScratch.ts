import type Docker from 'dockerode';
import { JOB_GID, JOB_UID } from './scratchDir.js';

/**
 * Each entry made writable and enterable by its owner (a folder before what is in it),
 * then removed. The folders given are runbox's: only what is inside them is touched.
 * Written for busybox as well as coreutils (no `find -delete`; `chmod -R` stops at a
 * top it may not change, so it is given the entries inside).
 */
const CLEAR_SCRIPT =
  'find "$@" -mindepth 1 -maxdepth 1 -exec chmod -R u+rwX {} + ; ' +
  'find "$@" -mindepth 1 -maxdepth 1 -exec rm -rf {} +';

/** Enough for chmod and find over any folder; the limits only stop a runaway. */
const CLEAR_LIMITS = { memory: 64 * 1024 * 1024, pids: 16 };

/**
 * Empties `dirs` (an attempt's work/ and outputs/) as the job's user, in a container of
 * the image the job ran: everything in them was made by that uid (no capabilities, no
 * new privileges), so the owner can make each folder writable and remove it, which the
 * runbox user cannot. The container has the job's sandbox (no network, no
 * capabilities, read-only root) and removes itself when it exits, also if runbox dies
 * meanwhile. Resolves once it is gone; a failure is the caller's to report.
 */
export async function clearAsJobUser(docker: Docker, image: string, dirs: string[]): Promise<void> {
  if (dirs.length === 0) return;
  const targets = dirs.map((_, i) => `/clear/${i}`);
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['/bin/sh', '-c', CLEAR_SCRIPT, 'clear'],
    Cmd: targets,
    User: `${JOB_UID}:${JOB_GID}`,
    NetworkDisabled: true,
    HostConfig: {
      AutoRemove: true,
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Memory: CLEAR_LIMITS.memory,
      PidsLimit: CLEAR_LIMITS.pids,
      Mounts: dirs.map((dir, i) => ({ Type: 'bind', Source: dir, Target: targets[i]! })),
    },
  });
  const removed = container.wait({ condition: 'removed' });
  await container.start();
  await removed;
}
