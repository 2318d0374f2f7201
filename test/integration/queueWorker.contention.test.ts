import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  api,
  openReadOnly,
  sleep,
  submitBatch,
  watchContainerStarts,
} from '../helpers/queueProbe.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * Two worker pools in two processes (`runbox serve` and `runbox worker`) on one
 * database file, competing for the same queue: no job is ever held by two workers, and
 * none runs twice. Observed three ways: the database as it changes (one owner and one
 * attempt token per job), the final records (one attempt each), and the engine's event
 * log (one container start per job).
 */

const JOBS = 200;

describe('two worker processes on one database', () => {
  const sandbox = useProcessSandbox('contention');

  it(`never hold the same job at once (${JOBS} no-op jobs)`, async () => {
    const watch = await watchContainerStarts(TEST_INSTANCE);
    const configFile = writeTestConfig(sandbox.dataDir, {
      lease: { heartbeatMs: 500, expiryMs: 10_000 },
    });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 2 });
    sandbox.processes.push(server);
    const worker = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile,
      command: 'worker',
      workers: 2,
    });
    sandbox.processes.push(worker);

    const jobs = await submitBatch(
      server.url,
      Array.from({ length: JOBS }, () => ({ runtime: 'shell', command: ['true'] })),
    );
    const ids = new Set(jobs.map((j) => j.id));
    expect(ids.size).toBe(JOBS);

    // Watch the running rows while both pools work.
    const db = openReadOnly(join(sandbox.dataDir, 'runbox.db'));
    const running = db.prepare(
      "SELECT id, lease_owner, attempt_token FROM jobs WHERE status = 'running'",
    );
    const remaining = db.prepare(
      "SELECT count(*) AS n FROM jobs WHERE status IN ('queued', 'running')",
    );
    const owners = new Map<string, Set<string>>();
    const tokens = new Map<string, Set<string>>();
    let maxRunning = 0;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const rows = running.all() as Array<{
        id: string;
        lease_owner: string;
        attempt_token: string;
      }>;
      maxRunning = Math.max(maxRunning, rows.length);
      for (const row of rows) {
        (owners.get(row.id) ?? owners.set(row.id, new Set()).get(row.id)!).add(row.lease_owner);
        (tokens.get(row.id) ?? tokens.set(row.id, new Set()).get(row.id)!).add(row.attempt_token);
      }
      if ((remaining.get() as { n: number }).n === 0) break;
      if (Date.now() > deadline) throw new Error('the queue did not drain in 120 s');
      await sleep(5);
    }
    db.close();

    // No more than the four slots ever held jobs at once.
    expect(maxRunning).toBeLessThanOrEqual(4);
    for (const [id, seen] of owners) expect([...seen], id).toHaveLength(1);
    for (const [id, seen] of tokens) expect([...seen], id).toHaveLength(1);
    // Both processes took a fair part of the work.
    const perOwner = new Map<string, number>();
    for (const seen of owners.values()) {
      const owner = [...seen][0]!;
      perOwner.set(owner, (perOwner.get(owner) ?? 0) + 1);
    }
    expect(perOwner.size).toBe(2);
    for (const count of perOwner.values()) expect(count).toBeGreaterThanOrEqual(JOBS * 0.1);

    // Every job succeeded on its one and only attempt.
    let cursor: string | null = null;
    const final: Array<{ id: string; status: string; attempts: number }> = [];
    do {
      const page: {
        body: {
          jobs: Array<{ id: string; status: string; attempts: number }>;
          next_cursor: string | null;
        };
      } = await api(server.url, 'GET', `/v1/jobs?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      final.push(...page.body.jobs);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(final).toHaveLength(JOBS);
    for (const job of final) {
      expect(job.status, job.id).toBe('succeeded');
      expect(job.attempts, job.id).toBe(1);
    }

    // The engine ran exactly one container per job.
    const starts = await watch.stop();
    expect(starts.size).toBe(JOBS);
    for (const id of ids) expect(starts.get(id), id).toEqual([1]);

    // Both pools are registered and alive, and both stop cleanly.
    const { body } = await api<{ workers: Array<{ pid: number; state: string }> }>(
      server.url,
      'GET',
      '/v1/workers',
    );
    expect(body.workers.map((w) => [w.pid, w.state]).sort()).toEqual(
      [
        [server.child.pid, 'alive'],
        [worker.child.pid, 'alive'],
      ].sort(),
    );
    worker.kill('SIGTERM');
    server.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(await server.exited).toBe(0);
    // Contention cost nothing: no claim, heartbeat or commit failed (SQLITE_BUSY) in either.
    for (const p of [server, worker]) {
      expect(p.stderr()).not.toMatch(/"level":"(error|warn)"/);
    }
  });
});
