import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { collectOutputs } from '../../src/executor/collectOutputs.js';
import { JOB_GID, JOB_UID } from '../../src/executor/scratchDir.js';
import { createFileBlobStore, type FileBlobStore } from '../../src/storage/index.js';

/**
 * runbox not root over a folder a job left: the job's uid may leave a file only it may
 * read, or a folder only it may enter. The walk meets it part way (after some files are
 * put into the batch), gives the host folder up and reads the engine's archive from its
 * start: the result is the archive's, whole, and every blob it names is stored once
 * the batch commits. The test process plays runbox-not-root with seteuid (the whole
 * process, libuv's threads included); it must be root to do so, as CI is.
 */

const IMAGE = 'runbox-test/shell:latest';
const LIMITS = { files: 100_000, bytes: 1 << 30 };
const NOT_ROOT = 4242;

function seteuid(id: number): void {
  if (!process.seteuid) throw new Error('process.seteuid is POSIX only');
  process.seteuid(id);
}

describe.runIf(process.getuid?.() === 0)(
  'collectOutputs when runbox may not read the host folder',
  () => {
    const docker = new Docker({ socketPath: loadConfig({ env: {} }).dockerSocket });
    let base: string;
    let store: FileBlobStore;
    const containers: Docker.Container[] = [];

    beforeAll(async () => {
      base = mkdtempSync(join(tmpdir(), 'runbox-fallback-'));
      chmodSync(base, 0o755);
      const dataDir = join(base, 'data');
      store = await createFileBlobStore(loadConfig({ env: {}, overrides: { dataDir } }));
      // The store stays writable by the process as NOT_ROOT (it is runbox's own).
      execFileSync('chown', ['-R', `${NOT_ROOT}:${NOT_ROOT}`, dataDir]);
    });
    afterEach(() => seteuid(0));
    afterAll(async () => {
      for (const c of containers) await c.remove({ force: true });
      rmSync(base, { recursive: true, force: true });
    });

    /** A job's folder (as createScratch makes it) holding readable files and `hidden`. */
    async function jobFolder(
      name: string,
      hide: (dir: string) => void,
    ): Promise<{ dir: string; container: Docker.Container }> {
      const dir = join(base, name);
      mkdirSync(dir);
      chmodSync(dir, 0o777);
      chownSync(dir, JOB_UID, JOB_GID);
      for (let i = 0; i < 30; i++) writeFileSync(join(dir, `f${i}`), randomBytes(100 + i));
      writeFileSync(join(dir, 'big'), randomBytes(1 << 20));
      hide(dir);
      const container = await docker.createContainer({
        Image: IMAGE,
        Cmd: ['true'],
        NetworkDisabled: true,
        HostConfig: { Mounts: [{ Type: 'bind', Source: dir, Target: '/outputs', ReadOnly: true }] },
      });
      containers.push(container);
      return { dir, container };
    }

    /** Collects as NOT_ROOT; the engine's archive is asked as root (the socket is root's). */
    async function collectNotRoot(dir: string, container: Docker.Container) {
      let archiveAsked = false;
      const asRunbox = {
        getArchive: (options: { path: string }) => {
          archiveAsked = true;
          seteuid(0);
          return container.getArchive(options);
        },
      } as unknown as Docker.Container;
      const batch = store.beginBatch();
      seteuid(NOT_ROOT);
      const got = await collectOutputs(asRunbox, store, LIMITS, { batch, hostDir: dir });
      seteuid(0);
      await batch.commit();
      return { got, archiveAsked };
    }

    it.each([
      [
        'a mode-000 file of the job uid',
        (dir: string) => {
          writeFileSync(join(dir, 'zz-secret'), 'only mine\n', { mode: 0o000 });
          chownSync(join(dir, 'zz-secret'), JOB_UID, JOB_GID);
        },
      ],
      [
        'a folder without search permission',
        (dir: string) => {
          mkdirSync(join(dir, 'zz-locked'));
          writeFileSync(join(dir, 'zz-locked', 'inside'), 'inside\n');
          chmodSync(join(dir, 'zz-locked'), 0o700);
          chownSync(join(dir, 'zz-locked'), JOB_UID, JOB_GID);
        },
      ],
    ])('restarts from the archive at %s', async (name, hide) => {
      const { dir, container } = await jobFolder(name.replace(/\W/g, '-'), hide);
      const archive = await collectOutputs(container, store, LIMITS);
      expect(archive.error).toBeNull();
      expect(archive.outputs.length).toBe(32);
      const { got, archiveAsked } = await collectNotRoot(dir, container);
      expect(archiveAsked).toBe(true);
      expect(got).toEqual(archive);
      for (const o of got.outputs) {
        expect(await store.stat(o.sha256!)).toMatchObject({ size: o.size });
      }
    });

    it('reads the host folder alone when every file is readable', async () => {
      const { dir, container } = await jobFolder('readable', () => {});
      const archive = await collectOutputs(container, store, LIMITS);
      const { got, archiveAsked } = await collectNotRoot(dir, container);
      expect(archiveAsked).toBe(false);
      expect(got).toEqual(archive);
    });
  },
);
