import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CURRENT_CONTRACT } from '../../src/contract/contract.js';
import { claimJobs } from '../../src/queue/sqlite/claimJobs.js';
import type { Db } from '../../src/queue/sqlite/db.js';
import { enqueueJobs } from '../../src/queue/sqlite/enqueueJobs.js';
import { openDatabase } from '../../src/queue/sqlite/openDatabase.js';
import { getJob } from '../../src/queue/sqlite/readJobs.js';
import { requeueExpired } from '../../src/queue/sqlite/requeueJobs.js';
import { failOrphanedReservations } from '../../src/queue/sqlite/reservations.js';
import { registerWorker, stopWorker } from '../../src/queue/sqlite/workers.js';

const dir = mkdtempSync(join(tmpdir(), 'runbox-queue-isolation-'));
let counter = 0;
const opened: Db[] = [];
afterAll(() => {
  for (const db of opened) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function fresh(path = join(dir, `q${++counter}.db`)) {
  const opened_ = openDatabase(path);
  opened.push(opened_.db);
  return { ...opened_, path };
}

const T0 = 1_700_000_000_000;
const LEASE = 30_000;
const DEAD_MS = 30_000;
const RETRY = { baseMs: 1000, capMs: 60_000 };
const spec = { runtime: 'shell', command: ['true'] };

function register(db: Db, id: string, now = T0): void {
  registerWorker(
    db,
    { id, host: hostname(), pid: process.pid, version: 'test', contract: CURRENT_CONTRACT },
    CURRENT_CONTRACT,
    now,
  );
}

describe('the database id', () => {
  it('is made once per database, kept across opens, and differs between databases', () => {
    const a = fresh();
    const b = fresh();
    expect(a.databaseId).toMatch(/^[0-9a-f]{16}$/);
    expect(b.databaseId).not.toBe(a.databaseId);
    a.db.close();
    expect(fresh(a.path).databaseId).toBe(a.databaseId);
  });
});

describe('jobs reserved for one worker (runbox run)', () => {
  it('are left out of every other claim and taken by the worker they name', () => {
    const { db } = fresh();
    register(db, 'run-pool');
    const [reserved] = enqueueJobs(db, [{ spec, maxAttempts: 1, reservedFor: 'run-pool' }], T0);
    const [shared] = enqueueJobs(db, [{ spec, maxAttempts: 1 }], T0);
    const server = claimJobs(db, { workerId: 'server', limit: 10, leaseMs: LEASE, now: T0 });
    expect(server.map((j) => j.id)).toEqual([shared!.job.id]);
    const run = claimJobs(db, {
      workerId: 'run-pool',
      limit: 10,
      leaseMs: LEASE,
      now: T0,
      reserved: true,
    });
    expect(run.map((j) => j.id)).toEqual([reserved!.job.id]);
  });

  it('fail WorkerLost once their worker is gone, and stay queued while it lives', () => {
    const { db } = fresh();
    register(db, 'alive');
    register(db, 'stopped');
    register(db, 'silent');
    const ids = enqueueJobs(
      db,
      ['alive', 'stopped', 'silent', 'never-registered'].map((w) => ({
        spec,
        maxAttempts: 3,
        reservedFor: w,
      })),
      T0,
    ).map((o) => o.job.id);
    stopWorker(db, 'stopped', T0 + 1);
    const now = T0 + DEAD_MS + 1;
    register(db, 'alive', now);
    expect(failOrphanedReservations(db, now, DEAD_MS).sort()).toEqual(ids.slice(1).sort());
    expect(getJob(db, ids[0]!)!.status).toBe('queued');
    const lost = getJob(db, ids[1]!)!;
    expect(lost.status).toBe('failed');
    expect(lost.errorType).toBe('WorkerLost');
    expect(lost.errorMessage).toMatch(/runbox run process .* is gone/);
  });
});

describe('the reaper', () => {
  it('leaves expired leases the caller still holds, and reaps the rest', () => {
    const { db } = fresh();
    enqueueJobs(
      db,
      [
        { spec, maxAttempts: 3 },
        { spec, maxAttempts: 3 },
      ],
      T0,
    );
    const [held, lost] = claimJobs(db, { workerId: 'w', limit: 2, leaseMs: LEASE, now: T0 });
    const outcome = requeueExpired(db, T0 + LEASE + 1, RETRY, () => 0, new Set([held!.id]));
    expect(outcome.requeued).toEqual([lost!.id]);
    expect(getJob(db, held!.id)!.status).toBe('running');
  });
});
