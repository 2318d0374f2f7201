import { afterAll, describe, expect, it } from 'vitest';
import { CURRENT_CONTRACT } from '../../src/contract/contract.js';
import { PostgresQueue } from '../../src/queue/postgres/PostgresQueue.js';
import { http, shellJob, sleep, tempDataDir, waitAllFinal } from '../helpers/chaosKit.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import { freshDatabase, sqlOn, type TestDatabase } from '../helpers/postgres.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';

/**
 * Issue 15 from outside: real `runbox serve` processes (own data dirs) on one PostgreSQL,
 * real jobs in real containers on the one Docker engine of this machine.
 */
const JOBS = Number(process.env.RUNBOX_PG_NODES_JOBS ?? 60);
// Short leases so a killed node's jobs come back within seconds.
const FAST = {
  lease: { heartbeatMs: 300, expiryMs: 2500 },
  workerDeadMs: 2500,
  retry: { baseMs: 100, capMs: 500 },
  limits: { minFreeBytes: 1 },
};

const procs: RunboxProcess[] = [];
const cleanups: Array<() => void | Promise<void>> = [];
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function node(db: TestDatabase, name: string, workers = 2) {
  const data = tempDataDir(`pgnode-${name}`);
  cleanups.push(data.cleanup);
  const configFile = writeTestConfig(data.dir, FAST);
  const proc = await startServerProcess({
    dataDir: data.dir,
    configFile,
    workers,
    env: { RUNBOX_QUEUE: db.url },
  });
  procs.push(proc);
  return { ...proc, dataDir: data.dir, configFile };
}

/** Ids of jobs a node's log says it recorded as succeeded. */
function succeededIn(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter(
      (line) => line.includes('"msg":"job finished"') && line.includes('"outcome":"succeeded"'),
    )
    .map((line) => (JSON.parse(line) as { job: string }).job);
}

describe('several runbox serve nodes on one PostgreSQL', () => {
  it('run every job once across nodes, and requeue the jobs of a node killed with -9', async () => {
    const db = await freshDatabase('runbox_nodes');
    cleanups.push(() => db.drop());
    const nodes = [await node(db, 'a'), await node(db, 'b'), await node(db, 'c')];
    const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const target = nodes[i % 3]!;
      const answer = await http(target.url, '/v1/jobs', {
        body: shellJob('echo "$TAG"; sleep 0.5', { env: { TAG: `job-${i}-ü` } }),
      });
      expect(answer.status).toBe(201);
      ids.push(answer.json.id as string);
    }
    // Kill c while it holds jobs.
    for (let i = 0; i < 200; i++) {
      const held = await sqlOn<{ n: string }>(
        db.url,
        "SELECT count(*) AS n FROM runbox.jobs WHERE status = 'running' AND lease_owner LIKE $1",
        [`%-${c.child.pid}-%`],
      );
      if (Number(held[0]!.n) > 0) break;
      await sleep(50);
    }
    c.kill('SIGKILL');
    await c.exited;

    const final = await waitAllFinal(a.url, ids, 240_000);
    expect([...final.values()].filter((j) => j.status !== 'succeeded')).toEqual([]);
    // Every job's result was recorded once: by exactly one of the nodes that lived, or by
    // c before it died (never by two).
    const recorded = [
      ...succeededIn(a.stderr()),
      ...succeededIn(b.stderr()),
      ...succeededIn(c.stderr()),
    ];
    expect(recorded.sort()).toEqual([...ids].sort());
    // c's running jobs came back (WorkerLost, attempt 2) and were finished by a or b.
    const retried = [...final.values()].filter((j) => j.attempts > 1);
    expect(retried.length).toBeGreaterThan(0);
    // Both survivors worked, and every job is visible through either.
    expect(succeededIn(a.stderr()).length).toBeGreaterThan(0);
    expect(succeededIn(b.stderr()).length).toBeGreaterThan(0);
    const viaB = await http(b.url, `/v1/jobs/${ids[2]}`);
    expect(viaB.json.status).toBe('succeeded');

    // c comes back on its data dir: its recovery removes the containers it left.
    const again = await startServerProcess({
      dataDir: c.dataDir,
      configFile: c.configFile,
      workers: 1,
      env: { RUNBOX_QUEUE: db.url },
    });
    procs.push(again);
    const [{ value: databaseId }] = (await sqlOn<{ value: string }>(
      db.url,
      "SELECT value FROM runbox.meta WHERE key = 'database_id'",
    )) as [{ value: string }];
    for (const p of [a, b, again]) p.kill('SIGTERM');
    await Promise.all([a.exited, b.exited, again.exited]);
    await expectNoLeftoverContainers({ database: databaseId });
  });

  it('cancels a job running on another node at once, and wakes a waiter on another node', async () => {
    const db = await freshDatabase('runbox_nodes');
    cleanups.push(() => db.drop());
    const a = await node(db, 'x');
    const b = await node(db, 'y', 0);
    const submitted = await http(b.url, '/v1/jobs', { body: shellJob('sleep 60') });
    const id = submitted.json.id as string;
    for (let i = 0; i < 200; i++) {
      if ((await http(b.url, `/v1/jobs/${id}`)).json.status === 'running') break;
      await sleep(50);
    }
    const started = Date.now();
    const cancelled = await http(b.url, `/v1/jobs/${id}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    const waited = await http(b.url, `/v1/jobs/${id}?wait=true&wait_seconds=20`);
    expect(waited.json.status).toBe('cancelled');
    // Far sooner than a heartbeat round trip plus the kill grace would allow by polling alone.
    expect(Date.now() - started).toBeLessThan(8000);
    const quick = await http(b.url, '/v1/jobs', { body: shellJob('echo hi') });
    const done = await http(b.url, `/v1/jobs/${quick.json.id as string}?wait=true&wait_seconds=30`);
    expect(done.json.status).toBe('succeeded');
    for (const p of [a, b]) p.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);
  });

  it('a node exits 78 when a newer build raises the contract stamp, and an old build cannot join', async () => {
    const db = await freshDatabase('runbox_nodes');
    cleanups.push(() => db.drop());
    const old = await node(db, 'old', 1);
    const newer = await PostgresQueue.open(
      db.url,
      {
        lease: { heartbeatMs: 5000, expiryMs: 30000 },
        retry: { baseMs: 1000, capMs: 60000 },
        workerDeadMs: 30000,
        workerRetentionMs: 1e9,
        jobRetentionMs: 0,
      },
      {
        contract: { ...CURRENT_CONTRACT, version: '1.99.0', fingerprint: 'f'.repeat(64) },
        listen: false,
      },
    );
    await newer.close();
    expect(await old.exited).toBe(78);
    expect(old.stderr()).toMatch(/ContractMismatch|result contract/);
    const late = await node(db, 'late').catch((error: Error) => error);
    expect(late).toBeInstanceOf(Error);
    expect((late as Error).message).toMatch(/exited \(78\)/);
  });
});
