import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { engineStatus } from './engineErrors.js';

export type DataDirView =
  { state: 'same' } | { state: 'different'; detail: string } | { state: 'unknown'; detail: string };

const PROBE_PATH = '/runbox-probe';

/** On each probe container: `host:pid` of the doctor that made it. */
export const PROBE_LABEL = 'io.runbox.probe';

/**
 * Removes probe containers a killed doctor left (created, never started, its process
 * gone): those labelled by a process of this host that `alive` says is gone. Another
 * host's probes, and a running doctor's, are left alone. Best effort: doctor goes on.
 */
export async function removeStaleProbes(
  docker: Docker,
  alive: (pid: number) => boolean,
): Promise<void> {
  const host = hostname();
  const probes = await docker
    .listContainers({ all: true, filters: { label: [PROBE_LABEL] } })
    .catch((): Docker.ContainerInfo[] => []);
  for (const probe of probes) {
    const owner = probe.Labels[PROBE_LABEL] ?? '';
    const at = owner.lastIndexOf(':');
    if (owner.slice(0, at) !== host || alive(Number(owner.slice(at + 1)))) continue;
    await docker
      .getContainer(probe.Id)
      .remove({ force: true })
      .catch(() => {});
  }
}

/**
 * Job folders are bind-mounted into job containers by their path as runbox sees it, and
 * the engine resolves that path on its own host. When runbox runs in a container whose
 * data dir is mounted from another host path, every job would see an empty /work. This
 * writes a random marker into the data dir and reads it back through a bind mount of
 * the same path in a created (never started) container from `image`: the same bytes
 * mean the engine sees the same folder.
 */
export async function probeDataDir(
  docker: Docker,
  dataDir: string,
  image: string,
): Promise<DataDirView> {
  const name = `.doctor-probe-${randomBytes(8).toString('hex')}`;
  const marker = randomBytes(16).toString('hex');
  await writeFile(join(dataDir, name), marker, { mode: 0o644 });
  let container: Docker.Container | null = null;
  try {
    try {
      container = await docker.createContainer({
        // Named, so one left by a killed doctor is recognisable in `docker ps -a`, and
        // labelled with its maker, so the next doctor removes it (removeStaleProbes).
        name: `runbox-doctor-probe-${randomBytes(6).toString('hex')}`,
        Labels: { [PROBE_LABEL]: `${hostname()}:${process.pid}` },
        Image: image,
        Cmd: ['true'],
        NetworkDisabled: true,
        // A `bind` mount (not Binds) makes a missing source an error instead of an empty
        // folder the engine would create on its host.
        HostConfig: {
          Mounts: [{ Type: 'bind', Source: dataDir, Target: PROBE_PATH, ReadOnly: true }],
        },
      });
    } catch (error) {
      const message = (error as Error).message;
      if (/bind source path does not exist|invalid mount config/i.test(message)) {
        return { state: 'different', detail: `the engine has no ${dataDir} on its host` };
      }
      return { state: 'unknown', detail: `could not create a probe container: ${message}` };
    }
    // A 404 (no such file in the mount) means the engine's folder lacks the marker.
    const seen = await container
      .getArchive({ path: `${PROBE_PATH}/${name}` })
      .then(readOne)
      .catch((error: unknown) => {
        if (engineStatus(error) === 404) return null;
        throw error;
      });
    if (seen === marker) return { state: 'same' };
    return {
      state: 'different',
      detail: `the engine's ${dataDir} is another folder (a marker written here is not there)`,
    };
  } finally {
    await container?.remove({ force: true }).catch(() => {});
    await rm(join(dataDir, name), { force: true });
  }
}

async function readOne(archive: NodeJS.ReadableStream): Promise<string> {
  const tar = extract();
  let text: string | null = null;
  tar.on('entry', (_header, stream, next) => {
    void buffer(stream).then((bytes) => {
      text ??= bytes.toString('utf8');
      next();
    }, next);
  });
  const done = new Promise<void>((resolve, reject) => {
    tar.on('finish', resolve);
    tar.on('error', reject);
  });
  archive.pipe(tar);
  await done;
  if (text === null) throw new Error('empty archive');
  return text;
}
