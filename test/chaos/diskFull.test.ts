import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  rmdirSync,
  statfsSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  docker,
  entriesUnder,
  http,
  integrityCheck,
  pollHealth,
  report,
  shellJob,
  sleep,
  waitAllFinal,
} from '../helpers/chaosKit.js';
import { expectNoLeftoverContainers, labelledContainers } from '../helpers/leftovers.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * Issue 7, "Disk full": the data directory is a 64 MiB tmpfs. Submissions are refused
 * with 507 below limits.minFreeBytes, a job whose outputs do not fit fails with a
 * clear error, a job finishing while the disk is completely full is recorded once
 * space is back without being run again, the
 * database stays sound, and everything works again once space is freed.
 */
const MiB = 1024 * 1024;

/**
 * Writes zeros into `path` until only `leaveBytes` are free (0: until the file system
 * refuses even a page). Returns the bytes written.
 */
function fill(path: string, leaveBytes = 0): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(MiB);
  let written = 0;
  try {
    for (;;) {
      const info = statfsSync(path);
      const room = info.bavail * info.bsize - leaveBytes;
      if (room <= 0) return written;
      written += writeSync(fd, chunk, 0, Math.min(chunk.length, Math.max(4096, room)));
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    return written;
  } finally {
    closeSync(fd);
  }
}

/** Waits until the job's container runs (its scratch folders exist by then). */
async function untilContainerRuns(jobId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = await docker.listContainers({
      filters: { label: [`io.runbox.job=${jobId}`], status: ['running'] },
    });
    if (found.length > 0) return;
    if (Date.now() > deadline) throw new Error(`job ${jobId} never ran`);
    await sleep(50);
  }
}

describe('disk full', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runbox-chaos-diskfull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', dir]);
  const configDir = mkdtempSync(join(tmpdir(), 'runbox-chaos-diskfull-config-'));
  const configFile = writeTestConfig(configDir, {
    limits: { minFreeBytes: 16 * MiB },
    lease: { heartbeatMs: 500, expiryMs: 3000 },
    retry: { baseMs: 200, capMs: 1000 },
    workerDeadMs: 3000,
  });
  const filler = join(dir, 'filler');
  let server: RunboxProcess | null = null;

  afterAll(async () => {
    server?.kill('SIGKILL');
    // A failed run leaves the server up; the tmpfs stays busy until it is gone.
    await server?.exited;
    await expectNoLeftoverContainers(TEST_INSTANCE).catch(() => {});
    try {
      execFileSync('umount', [dir]);
      rmdirSync(dir);
    } catch {
      // still busy: left for the machine's tmp cleaner
    }
    execFileSync('rm', ['-rf', configDir]);
  });

  it('refuses work with 507, fails oversized outputs clearly, loses nothing, and recovers', async () => {
    const started = Date.now();
    server = await startServerProcess({ dataDir: dir, configFile, workers: 1 });
    const url = server.url;
    const health = pollHealth(url, 100);
    const marker = 'echo "$TAG" > "$RUNBOX_OUTPUTS/marker"';

    // Room enough: a small job succeeds.
    const first = await http(url, '/v1/jobs?wait=true', {
      body: shellJob(marker, { env: { TAG: 'a' } }),
    });
    expect(first.status).toBe(201);
    expect(first.json.status).toBe('succeeded');

    // Outputs that fit the job's folder but not the store beside it: a clear failure.
    const big = await http(url, '/v1/jobs?wait=true', {
      body: shellJob('head -c 40000000 /dev/urandom > "$RUNBOX_OUTPUTS/big"', { max_attempts: 1 }),
    });
    expect(big.status).toBe(201);
    expect(big.json.status).toBe('failed');
    expect(['Internal', 'OutputLimitExceeded']).toContain(big.json.error.type);
    expect(big.json.error.message).toMatch(/ENOSPC|no space/i);
    // The data disk is full, not the engine: the message must not send anyone to dockerd.
    expect(big.json.error.message).not.toMatch(/Docker engine/);
    expect(entriesUnder(join(dir, 'blobs', 'tmp'))).toEqual([]);

    // Below minFreeBytes: refused at the door with 507, single and batch.
    const leftForRunbox = 8 * MiB;
    fill(filler, leftForRunbox);
    const refused = await http(url, '/v1/jobs', { body: shellJob(marker, { env: { TAG: 'x' } }) });
    expect(refused.status).toBe(507);
    expect(refused.json.error.type).toBe('InsufficientStorage');
    expect(refused.json.error.message).toMatch(/limits\.minFreeBytes/);
    const refusedBatch = await http(url, '/v1/jobs/batch', {
      body: { jobs: [shellJob(marker, { env: { TAG: 'y' } })] },
    });
    expect(refusedBatch.status).toBe(507);
    unlinkSync(filler);

    // A job that ends while the disk is completely full. It needs no disk of its own
    // (no logs, no outputs), so the one write left is its result's record: that cannot
    // be written then, and the worker keeps the result and records it once space is
    // back, without running the job again. (A job whose own logs or outputs cannot be
    // stored then fails that attempt with ENOSPC and runs again: see the README.)
    const running = await http(url, '/v1/jobs', {
      body: shellJob('sleep 3', { max_attempts: 10 }),
    });
    expect(running.status).toBe(201);
    await untilContainerRuns(running.json.id as string);
    const filled = fill(filler);
    await sleep(6000);
    const whileFull = await http(url, '/healthz');
    expect(whileFull.status).toBe(200);
    const stillRefused = await http(url, '/v1/jobs', {
      body: shellJob(marker, { env: { TAG: 'z' } }),
    });
    expect(stillRefused.status).toBe(507);
    unlinkSync(filler);

    const recovered = await http(url, '/v1/jobs?wait=true', {
      body: shellJob(marker, { env: { TAG: 'after' } }),
    });
    expect(recovered.status).toBe(201);
    expect(recovered.json.status).toBe('succeeded');
    const during = (await waitAllFinal(url, [running.json.id as string], 120_000)).get(
      running.json.id as string,
    )!;
    expect(during.status, JSON.stringify(during.error)).toBe('succeeded');
    expect(during.attempts, server.stderr()).toBe(1);
    expect(during.result?.exit_code).toBe(0);

    // A job that ends while the disk is full and has a log to store: its attempt fails
    // with ENOSPC and it runs again once there is room (README "A full disk costs no
    // data": attempts 2).
    const logged = await http(url, '/v1/jobs', {
      body: shellJob('sleep 3; echo "h\u00e9llo"', { max_attempts: 10 }),
    });
    expect(logged.status).toBe(201);
    await untilContainerRuns(logged.json.id as string);
    fill(filler);
    await sleep(6000);
    unlinkSync(filler);
    const rerun = (await waitAllFinal(url, [logged.json.id as string], 120_000)).get(
      logged.json.id as string,
    )!;
    expect(rerun.status, JSON.stringify(rerun.error)).toBe('succeeded');
    expect(rerun.attempts, server.stderr()).toBe(2);
    const rerunLog = await http(url, `/v1/jobs/${logged.json.id as string}/logs?stream=stdout`);
    expect(rerunLog.text).toBe('h\u00e9llo\n');

    const healthFigures = await health.stop();
    const stderr = server.stderr();
    // It did meet the full disk: its record failed, and was kept rather than lost.
    expect(stderr).toMatch(/keeping the result until it can be recorded/);
    // The logged job's first attempt failed for the store (Internal) and was retried, not
    // lost to WorkerLost or run twice for another reason.
    expect(stderr).toMatch(
      new RegExp(
        `"job":"${logged.json.id as string}","attempt":1,"error_type":"Internal"[^\\n]*"job retried"`,
      ),
    );
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = null;
    expect(integrityCheck(join(dir, 'runbox.db'))).toBe('ok');
    expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);
    expect(entriesUnder(join(dir, 'scratch'))).toEqual([]);
    expect(entriesUnder(join(dir, 'blobs', 'tmp'))).toEqual([]);
    expect(healthFigures.statuses).toEqual({ 200: healthFigures.polls });

    report('disk-full', {
      tmpfsMiB: 64,
      minFreeMiB: 16,
      bigOutputError: `${big.json.error.type}: ${String(big.json.error.message).slice(0, 160)}`,
      refusedStatus: refused.status,
      filledBytesWhileRunning: filled,
      jobDuringFull: { status: during.status, attempts: during.attempts },
      loggedJobDuringFull: { status: rerun.status, attempts: rerun.attempts },
      recordFailuresLogged: (
        stderr.match(/recording a result failed|SQLITE_FULL|database or disk is full/g) ?? []
      ).length,
      healthz: healthFigures,
      jobsLost: 0,
      integrity: 'ok',
      seconds: Math.round((Date.now() - started) / 1000),
    });
  });
});
