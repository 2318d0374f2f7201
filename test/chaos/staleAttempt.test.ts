import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  http,
  openDbReadonly,
  pythonJob,
  report,
  sleep,
  tempDataDir,
  waitAllFinal,
  watchContainers,
} from '../helpers/chaosKit.js';
import { expectNoLeftoverContainers, labelledContainers } from '../helpers/leftovers.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * Issue 7, "Stale attempt": a worker process is frozen (SIGSTOP) while it holds a 3 s
 * job on a 1 s lease. Another worker process takes the job over and records it; the
 * frozen one, thawed, finishes its run and is turned away.
 */
const SCRIPT = `
import os, time
out = os.environ["RUNBOX_OUTPUTS"]
with open(out + "/marker", "w") as f:
    f.write("%.6f\\n" % time.time())
time.sleep(3)
with open(out + "/done", "w") as f:
    f.write("done\\n")
`;

async function waitFor<T>(what: string, fn: () => Promise<T | null>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('stale attempt', () => {
  const data = tempDataDir('stale');
  const configFile = writeTestConfig(data.dir, {
    lease: { heartbeatMs: 300, expiryMs: 1000 },
    retry: { baseMs: 100, capMs: 300 },
    limits: { minFreeBytes: 1 },
  });
  const procs: RunboxProcess[] = [];

  afterAll(async () => {
    for (const p of procs) {
      p.child.kill('SIGCONT');
      p.kill('SIGKILL');
    }
    await expectNoLeftoverContainers(TEST_INSTANCE).catch(() => {});
    data.cleanup();
  });

  it('records the live attempt only and discards the paused one', async () => {
    const started = Date.now();
    const containers = await watchContainers();
    const api = await startServerProcess({ dataDir: data.dir, configFile, workers: 0 });
    procs.push(api);
    const paused = await startServerProcess({
      dataDir: data.dir,
      configFile,
      command: 'worker',
      workers: 1,
    });
    procs.push(paused);

    const submitted = await http(api.url, '/v1/jobs', { body: pythonJob(SCRIPT) });
    expect(submitted.status).toBe(201);
    const id = submitted.json.id as string;
    await waitFor('the first attempt to start', async () => {
      const job = (await http(api.url, `/v1/jobs/${id}`)).json;
      return job.status === 'running' ? job : null;
    });
    await waitFor('its container to start', async () =>
      containers.events.some((e) => e.job === id && e.action === 'start') ? true : null,
    );
    await sleep(300);
    paused.child.kill('SIGSTOP');
    const pausedAt = Date.now() / 1000;

    const live = await startServerProcess({
      dataDir: data.dir,
      configFile,
      command: 'worker',
      workers: 1,
    });
    procs.push(live);
    const final = (await waitAllFinal(api.url, [id], 60_000)).get(id)!;
    expect(final.status, JSON.stringify(final.error)).toBe('succeeded');
    expect(final.attempts).toBe(2);
    const recorded = (await http(api.url, `/v1/jobs/${id}`)).json;

    // Thaw the stale worker: its attempt ends (or is killed) and its result is refused.
    paused.child.kill('SIGCONT');
    await waitFor(
      'the stale worker to report its rejected result',
      async () => (/late result rejected/.test(paused.stderr()) ? true : null),
      30_000,
    );
    const after = (await http(api.url, `/v1/jobs/${id}`)).json;
    expect(after.result).toEqual(recorded.result);
    expect(after.updated_at).toBe(recorded.updated_at);
    expect(after.attempts).toBe(2);

    // The manifest is the live attempt's: its marker was written after the pause.
    const paths = (after.result.outputs as Array<{ path: string }>).map((o) => o.path).sort();
    expect(paths).toEqual(['done', 'marker']);
    const marker = Number((await http(api.url, `/v1/jobs/${id}/outputs/marker`)).text);
    expect(marker).toBeGreaterThan(pausedAt);

    for (const p of procs) p.kill('SIGTERM');
    for (const p of procs) expect(await p.exited).toBe(0);
    procs.length = 0;
    const events = await containers.stop();

    // Only the recorded result's blobs are referenced by the job.
    const db = openDbReadonly(join(data.dir, 'runbox.db'));
    const referenced = (
      db.prepare('SELECT sha256 FROM job_blobs WHERE job_id = ?').all(id) as Array<{
        sha256: string;
      }>
    )
      .map((r) => r.sha256)
      .sort();
    db.close();
    const result = after.result as {
      stdout: { blob: string | null };
      stderr: { blob: string | null };
      outputs: Array<{ sha256: string | null }>;
    };
    const expected = [
      ...new Set(
        [result.stdout.blob, result.stderr.blob, ...result.outputs.map((o) => o.sha256)].filter(
          (s): s is string => s !== null,
        ),
      ),
    ].sort();
    expect(referenced).toEqual(expected);
    expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);

    const creates = events.filter((e) => e.action === 'create' && e.job === id);
    report('stale-attempt', {
      attempts: after.attempts,
      containers: creates.map((e) => `attempt ${e.attempt}`),
      resultsRecorded: 1,
      staleRejected: (paused.stderr().match(/late result rejected/g) ?? []).length,
      markerWrittenAfterPauseSeconds: Math.round((marker - pausedAt) * 100) / 100,
      seconds: Math.round((Date.now() - started) / 1000),
    });
  });
  it('removes the lost attempt’s container while its worker is frozen, and leaves none when that worker dies', async () => {
    const api = await startServerProcess({ dataDir: data.dir, configFile, workers: 0 });
    procs.push(api);
    const paused = await startServerProcess({
      dataDir: data.dir,
      configFile,
      command: 'worker',
      workers: 1,
    });
    procs.push(paused);
    const submitted = await http(api.url, '/v1/jobs', {
      body: pythonJob('import time\ntime.sleep(12)\nprint("done")\n'),
    });
    expect(submitted.status).toBe(201);
    const id = submitted.json.id as string;
    const ofAttempt = async (attempt: number) =>
      (await labelledContainers(TEST_INSTANCE)).filter(
        (c) =>
          c.Labels['io.runbox.job'] === id && c.Labels['io.runbox.attempt'] === String(attempt),
      );
    await waitFor('attempt 1 running in its container', async () =>
      (await ofAttempt(1)).some((c) => c.State === 'running') ? true : null,
    );
    paused.child.kill('SIGSTOP');
    const live = await startServerProcess({
      dataDir: data.dir,
      configFile,
      command: 'worker',
      workers: 1,
    });
    procs.push(live);
    await waitFor('attempt 2 running in its container', async () =>
      (await ofAttempt(2)).some((c) => c.State === 'running') ? true : null,
    );
    // The frozen worker cannot remove its container; the reaper that requeued it did.
    await waitFor(
      'the lost attempt’s container removed',
      async () => ((await ofAttempt(1)).length === 0 ? true : null),
      5_000,
    );
    expect(live.stderr() + api.stderr()).toMatch(/removing the container of a lost attempt/);
    expect((await ofAttempt(2)).map((c) => c.State)).toEqual(['running']);

    // The frozen worker dies without waking: nothing of its attempt comes back.
    paused.child.kill('SIGKILL');
    expect(await paused.exited).toBe('SIGKILL');
    const final = (await waitAllFinal(api.url, [id], 60_000)).get(id)!;
    expect(final.status, JSON.stringify(final.error)).toBe('succeeded');
    expect(final.attempts).toBe(2);
    await waitFor(
      'no container left while the live processes run',
      async () => ((await labelledContainers(TEST_INSTANCE)).length === 0 ? true : null),
      10_000,
    );
    for (const p of [api, live]) p.kill('SIGTERM');
    for (const p of [api, live]) expect(await p.exited).toBe(0);
    procs.length = 0;
  });
});
