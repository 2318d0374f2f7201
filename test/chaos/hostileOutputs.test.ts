import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileBlobStore } from '../../src/storage/index.js';
import {
  filesUnder,
  http,
  report,
  shellJob,
  tempDataDir,
  waitAllFinal,
  type JobView,
} from '../helpers/chaosKit.js';
import { expectNoLeftoverContainers, labelledContainers } from '../helpers/leftovers.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * Issue 7, "Hostile output archives": what a job leaves in /outputs (read from the
 * host folder, or as the engine's tar stream when that is not readable) is hostile
 * input. Links are never
 * followed (the host's /etc/passwd is never read), FIFOs are skipped, every name of a
 * hard-linked file is kept as a file, and the file and byte limits stop the stream.
 *
 * The 5 GB sparse file: this server allows files up to 8 GiB (fsize ulimit), so the
 * job can make it, and the output byte limit (1 GiB) refuses it from the tar header,
 * before a byte of it is read. A 9 GiB one is stopped by the fsize ulimit in the job.
 */
const GiB = 1024 ** 3;

const JOBS = {
  links: shellJob(
    [
      'cd "$RUNBOX_OUTPUTS"',
      'echo real > real',
      'ln real hard',
      'ln -s /etc/passwd passwd',
      'ln -s / root',
      'ln -s ../../../../../../etc/shadow shadow',
      'mkfifo fifo',
      'mkdir -p sub && ln -s ../.. sub/up',
    ].join('\n'),
  ),
  manyFiles: shellJob('cd "$RUNBOX_OUTPUTS" && seq 1 20000 | xargs touch', {
    timeout_seconds: 120,
  }),
  sparse5g: shellJob('truncate -s 5G "$RUNBOX_OUTPUTS/sparse"\necho made it'),
  sparse9g: shellJob('truncate -s 9G "$RUNBOX_OUTPUTS/toolarge" && echo made it'),
};

describe('hostile output archives', () => {
  const data = tempDataDir('hostileout');
  const configFile = writeTestConfig(data.dir, {
    limits: { minFreeBytes: 1, outputBytes: GiB, outputFiles: 10_000 },
    defaults: { fileSizeBytes: 8 * GiB },
  });
  let server: RunboxProcess | null = null;

  afterAll(async () => {
    server?.kill('SIGKILL');
    await expectNoLeftoverContainers(TEST_INSTANCE).catch(() => {});
    data.cleanup();
  });

  it('never follows links, skips FIFOs, keeps hard links as files, and stops at the limits', async () => {
    const started = Date.now();
    const passwdBefore = statSync('/etc/passwd');
    const hostPasswd = readFileSync('/etc/passwd');
    const hostPasswdSha = createHash('sha256').update(hostPasswd).digest('hex');
    server = await startServerProcess({ dataDir: data.dir, configFile, workers: 2 });
    const url = server.url;

    const ids: Record<keyof typeof JOBS, string> = {} as never;
    for (const [name, body] of Object.entries(JOBS)) {
      const r = await http(url, '/v1/jobs', { body: { ...body, max_attempts: 1 } });
      expect(r.status).toBe(201);
      ids[name as keyof typeof JOBS] = r.json.id as string;
    }
    const final = await waitAllFinal(url, Object.values(ids), 300_000);
    const job = (name: keyof typeof JOBS): JobView => final.get(ids[name])!;

    // Links: recorded as links, never read through; FIFO skipped.
    const links = job('links');
    expect(links.status, JSON.stringify(links.error)).toBe('succeeded');
    const byPath = new Map(links.result!.outputs.map((o) => [o.path, o]));
    expect(byPath.get('passwd')).toMatchObject({ type: 'symlink', size: 0, sha256: null });
    expect(byPath.get('root')).toMatchObject({ type: 'symlink', sha256: null });
    expect(byPath.get('shadow')).toMatchObject({ type: 'symlink', sha256: null });
    expect(byPath.get('sub/up')).toMatchObject({ type: 'symlink', sha256: null });
    const skipped = new Map(links.result!.skipped_outputs.map((s) => [s.path, s.reason]));
    expect(skipped.get('fifo')).toMatch(/named pipe/);
    // Both names of a hard-linked file are kept as regular files of the same content.
    expect(byPath.get('real')).toMatchObject({ type: 'file' });
    expect(byPath.get('hard')).toMatchObject({ type: 'file', sha256: byPath.get('real')!.sha256 });
    const passwdAnswer = await http(url, `/v1/jobs/${links.id}/outputs/passwd`);
    expect(passwdAnswer.status).toBe(404);
    expect(passwdAnswer.text).not.toContain('root:x:0:0');

    // 20,000 files: the file limit stops the stream; what came before it is kept.
    const many = job('manyFiles');
    expect(many.status).toBe('failed');
    expect(many.error?.type).toBe('OutputLimitExceeded');
    expect(many.error?.message).toMatch(/10000 output files/);
    expect(many.result!.outputs.length).toBe(10_000);

    // 5 GB sparse: refused from its header by the byte limit, nothing stored.
    const sparse = job('sparse5g');
    expect(sparse.status).toBe('failed');
    expect(sparse.error?.type).toBe('OutputLimitExceeded');
    // Named by the job's own field, as the running watchdog's error is (e5aeb0d).
    expect(sparse.error?.message).toMatch(/limits\.output_bytes/);
    expect(sparse.error?.field).toBe('limits.output_bytes');
    expect(sparse.result!.outputs.filter((o) => o.path === 'sparse')).toEqual([]);
    const sparseSeconds = (
      sparse.result as unknown as { metrics: { stage_times: { outputs: number } } }
    ).metrics.stage_times.outputs;
    expect(sparseSeconds).toBeLessThan(20);

    // 9 GiB: the fsize ulimit stops the job itself (SIGXFSZ).
    const tooLarge = job('sparse9g');
    expect(tooLarge.status).toBe('failed');
    expect(tooLarge.error?.type).toBe('NonZeroExit');
    const made = tooLarge.result!.outputs.find((o) => o.path === 'toolarge');
    expect(made?.size ?? 0).toBeLessThanOrEqual(8 * GiB);

    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = null;

    // Nothing outside the store: the data dir holds the database, config and blobs only
    // (and blobs.database, which names the database the blobs belong to).
    const files = filesUnder(data.dir).map((f) => f.slice(data.dir.length + 1));
    const strays = files.filter(
      (f) =>
        !/^(runbox\.db(-wal|-shm)?|config\.json|blobs\.database|blobs\/[0-9a-f]{2}\/[0-9a-f]+|blobs\/packs\/[0-9a-f]{32}\.(pack|dead))$/.test(
          f,
        ),
    );
    expect(strays).toEqual([]);
    const blobNames = files.filter((f) => f.startsWith('blobs/')).map((f) => f.replace(/\//g, ''));
    expect(blobNames.some((b) => b.includes(hostPasswdSha))).toBe(false);
    // Small outputs live in packs (storage/fs/packs.ts): asked through the store.
    const store = await createFileBlobStore(
      { dataDir: data.dir, zstd: { codec: 'auto', level: 3, frameBytes: 1024 * 1024 } },
      { packSmallBlobs: true },
    );
    expect(await store.stat(hostPasswdSha)).toBeNull();
    const storeBytes = files
      .filter((f) => f.startsWith('blobs/'))
      .reduce((n, f) => n + statSync(join(data.dir, f)).size, 0);
    expect(storeBytes).toBeLessThan(64 * 1024 * 1024);
    const passwdAfter = statSync('/etc/passwd');
    expect(passwdAfter.mtimeMs).toBe(passwdBefore.mtimeMs);
    expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);

    report('hostile-outputs', {
      links: {
        outputs: links.result!.outputs.map((o) => `${o.path}:${o.type}`),
        skipped: links.result!.skipped_outputs.map((s) => `${s.path}: ${s.reason}`),
      },
      manyFiles: { kept: many.result!.outputs.length, error: many.error?.message },
      sparse5g: { error: sparse.error?.message, outputsStageSeconds: sparseSeconds },
      sparse9g: { exitCode: tooLarge.result!.exit_code, error: tooLarge.error?.type },
      storeBytes,
      hostFileRead: false,
      seconds: Math.round((Date.now() - started) / 1000),
    });
  });
});
