import { chmod, chown, mkdir, open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import type { ResolvedSpec } from '../spec/parseJobSpec.js';
import { WORK_DIR } from './containerConfig.js';
import { toEngineError } from './engineErrors.js';
import { JOB_GID, JOB_UID } from './scratchDir.js';

/**
 * A tar stream of the job's script and input files, owned by the job's user, with
 * an entry for every parent folder so nested inputs are writable by the job too.
 * Paths were checked relative and ".."-free by parseJobSpec.
 */
export function packInputs(files: ResolvedSpec['files']): NodeJS.ReadableStream {
  const tar = pack();
  const mtime = new Date();
  const owner = { uid: JOB_UID, gid: JOB_GID, uname: 'nobody', gname: 'nogroup', mtime };
  const dirs = new Set<string>();
  for (const file of files) {
    const parts = file.path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      tar.entry({ name: `${dir}/`, type: 'directory', mode: 0o755, ...owner });
    }
    tar.entry(
      {
        name: posix.normalize(file.path),
        type: 'file',
        mode: file.mode,
        size: file.content.length,
        ...owner,
      },
      file.content,
    );
  }
  tar.finalize();
  // tar-stream's pack is a streamx Readable; dockerode wants a Node stream.
  return Readable.from(tar as AsyncIterable<Buffer>);
}

/** Puts the inputs into /work of a created (not yet started) container. */
export async function putInputs(
  container: Docker.Container,
  files: ResolvedSpec['files'],
): Promise<void> {
  if (files.length === 0) return;
  try {
    await container.putArchive(packInputs(files), { path: WORK_DIR });
  } catch (error) {
    throw toEngineError(error, 'copying the inputs into the container');
  }
}

/**
 * Writes the inputs straight into the job's scratch work/ folder, which the container
 * sees as /work through its bind mount: the same files, modes and owner as putInputs,
 * without the engine's archive call (it mounts the container's file system for the
 * copy: 100-160 ms of a one-line job here, against well under 1 ms for the files).
 * Only as root, which can give the files to the job's user; otherwise putInputs.
 * The folder is new and the container has not started, so nothing in it can redirect a
 * write; paths were checked relative and ".."-free by parseJobSpec.
 */
export async function writeInputs(
  container: Docker.Container,
  workDir: string,
  files: ResolvedSpec['files'],
): Promise<void> {
  if (files.length === 0) return;
  if (process.geteuid?.() !== 0) return putInputs(container, files);
  const dirs = new Set<string>();
  for (const file of files) {
    const parts = posix.normalize(file.path).split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      const host = join(workDir, dir);
      await mkdir(host).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      await chmod(host, 0o755);
      await chown(host, JOB_UID, JOB_GID);
    }
    // 'wx': a name given twice, or anything already there, is an error, not followed.
    const handle = await open(join(workDir, posix.normalize(file.path)), 'wx', file.mode);
    try {
      await handle.writeFile(file.content);
      // open's mode is filtered by the umask; chmod is not.
      await handle.chmod(file.mode);
      await handle.chown(JOB_UID, JOB_GID);
    } finally {
      await handle.close();
    }
  }
}
