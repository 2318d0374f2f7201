import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobResult } from '../../src/contract/resultSchema.js';
import { cancelJob } from '../../src/queue/sqlite/cancelJob.js';
import { claimJobs } from '../../src/queue/sqlite/claimJobs.js';
import type { Db } from '../../src/queue/sqlite/db.js';
import { enqueueJobs } from '../../src/queue/sqlite/enqueueJobs.js';
import { finishJobs, type FinishItem } from '../../src/queue/sqlite/finishJobs.js';
import { heartbeatJobs } from '../../src/queue/sqlite/heartbeatJobs.js';
import { idTime, newJobId } from '../../src/queue/ids.js';
import { openDatabase } from '../../src/queue/sqlite/openDatabase.js';
import { countByStatus, getJob, listJobs } from '../../src/queue/sqlite/readJobs.js';
import {
  adoptJob,
  releaseJobs,
  requeueExpired,
  requeueOwnedBy,
} from '../../src/queue/sqlite/requeueJobs.js';
import { deleteFinishedBefore, referencedBlobs } from '../../src/queue/sqlite/retention.js';
import { backoffMs, decide } from '../../src/queue/retryPolicy.js';
import type { EnqueueItem } from '../../src/queue/types.js';
import { validResult } from '../helpers/results.js';

const dir = mkdtempSync(join(tmpdir(), 'runbox-queue-jobs-'));
let counter = 0;
const opened: Db[] = [];
afterAll(() => {
  for (const db of opened) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function freshDb(): { db: Db; path: string } {
  const path = join(dir, `q${++counter}.db`);
  const { db } = openDatabase(path);
  opened.push(db);
  return { db, path };
}

const T0 = 1_700_000_000_000;
const LEASE = 30_000;
const RETRY = { baseMs: 1000, capMs: 60_000 };
const item = (over: Partial<EnqueueItem> = {}): EnqueueItem => ({
  spec: { runtime: 'shell', command: ['true'] },
  maxAttempts: 3,
  ...over,
});
const failed = (type: string, exitCode: number | null = null): JobResult => ({
  ...validResult(),
  exit_code: exitCode,
  error: { type: type as 'Internal', message: `${type} happened`, field: null },
});
const finish = (db: Db, items: FinishItem[], now: number, random = () => 0.5) =>
  finishJobs(db, items, { now, retry: RETRY, contractVersion: '1.0.0', random });
const claim = (db: Db, now: number, limit = 1, workerId = 'w1') =>
  claimJobs(db, { workerId, limit, leaseMs: LEASE, now });

let db: Db;
beforeEach(() => {
  db = freshDb().db;
});

describe('a cancel accepted before a success is recorded', () => {
  it('ends the job cancelled with its exit code and outputs kept, their blobs referenced', () => {
    enqueueJobs(db, [item()], T0);
    const [job] = claim(db, T0);
    // The cancel's answer said 'requested' while the worker was collecting outputs.
    expect(cancelJob(db, job!.id, T0 + 1).outcome).toBe('requested');
    const success: JobResult = {
      ...validResult(),
      outputs: [
        {
          path: 'a.txt',
          type: 'file',
          size: 1,
          sha256: 'aa',
          compressed_size: 1,
          link_target: null,
        },
      ],
    };
    expect(finish(db, [{ id: job!.id, token: job!.token, result: success }], T0 + 2)).toEqual([
      'cancelled',
    ]);
    const after = getJob(db, job!.id)!;
    expect(after).toMatchObject({ status: 'cancelled', errorType: 'Cancelled' });
    expect(after.result!.exit_code).toBe(0);
    expect(after.result!.error!.type).toBe('Cancelled');
    expect(after.result!.outputs.map((o) => o.path)).toEqual(['a.txt']);
    expect(referencedBlobs(db, ['aa'])).toEqual(new Set(['aa']));
  });

  it('still answers stale for a success whose attempt is no longer live', () => {
    enqueueJobs(db, [item()], T0);
    const [job] = claim(db, T0);
    cancelJob(db, job!.id, T0 + 1);
    const out = finish(db, [{ id: job!.id, token: 'old', result: validResult() }], T0 + 2);
    expect(out).toEqual(['stale']);
    expect(getJob(db, job!.id)!.status).toBe('running');
  });
});

describe('releasing and adopting', () => {
  it('ends a released job cancelled when its cancel was requested, instead of running it again', () => {
    enqueueJobs(db, [item(), item()], T0);
    const [j1, j2] = claim(db, T0, 2, 'w1');
    cancelJob(db, j1!.id, T0 + 1);
    cancelJob(db, j2!.id, T0 + 1);
    expect(releaseJobs(db, [{ id: j1!.id, token: j1!.token }], 'drain', T0 + 2)).toEqual([j1!.id]);
    expect(requeueOwnedBy(db, 'w1', 'drain', T0 + 3, RETRY)).toEqual({
      requeued: [],
      failed: [],
      cancelled: [j2!.id],
    });
    for (const j of [j1!, j2!]) {
      expect(getJob(db, j.id)).toMatchObject({ status: 'cancelled', errorType: 'Cancelled' });
    }
  });

  it('release and drain requeue at once without a failure; a stale token releases nothing', () => {
    enqueueJobs(db, [item(), item()], T0);
    const [j1, j2] = claim(db, T0, 2, 'w1');
    expect(releaseJobs(db, [{ id: j1!.id, token: 'nope' }], 'drain', T0 + 1)).toEqual([]);
    expect(releaseJobs(db, [{ id: j1!.id, token: j1!.token }], 'drain', T0 + 1)).toEqual([j1!.id]);
    expect(requeueOwnedBy(db, 'w1', 'drain', T0 + 2, RETRY).requeued).toEqual([j2!.id]);
    for (const j of [j1!, j2!]) {
      expect(getJob(db, j.id)).toMatchObject({
        status: 'queued',
        runAt: expect.any(Number),
        errorType: null,
        leaseOwner: null,
      });
    }
    // attempt numbers are never reused: the next claim is attempt 2
    expect(claim(db, T0 + 3, 2).map((j) => j.attempt)).toEqual([2, 2]);
  });

  it("a dead worker's jobs are lost with WorkerLost", () => {
    enqueueJobs(db, [item()], T0);
    const [job] = claim(db, T0, 1, 'dead');
    expect(requeueOwnedBy(db, 'dead', 'lost', T0 + 1, RETRY).requeued).toEqual([job!.id]);
    expect(getJob(db, job!.id)!.errorType).toBe('WorkerLost');
  });

  it('adopts the live attempt of a dead owner with a new token, not another attempt', () => {
    enqueueJobs(db, [item()], T0);
    const [job] = claim(db, T0, 1, 'gone');
    const args = { jobId: job!.id, workerId: 'new', leaseMs: LEASE, now: T0 + 5, deadMs: 30_000 };
    expect(adoptJob(db, { ...args, attempt: 2 })).toBeNull();
    const adopted = adoptJob(db, { ...args, attempt: 1 });
    expect(adopted).toMatchObject({ id: job!.id, attempt: 1 });
    expect(adopted!.token).not.toBe(job!.token);
    expect(finish(db, [{ id: job!.id, token: job!.token, result: validResult() }], T0 + 6)).toEqual(
      ['stale'],
    );
    expect(getJob(db, job!.id)!.leaseOwner).toBe('new');
  });
});

describe('cancel', () => {
  it('cancels a queued job at once; it is never claimed', () => {
    const [out] = enqueueJobs(db, [item()], T0);
    expect(cancelJob(db, out!.job.id, T0 + 1)).toMatchObject({
      outcome: 'cancelled',
      job: { status: 'cancelled', errorType: 'Cancelled', finishedAt: T0 + 1 },
    });
    expect(claim(db, T0 + 2)).toEqual([]);
  });

  it('asks a running job to stop; its Cancelled result ends it cancelled, keeping the result', () => {
    enqueueJobs(db, [item()], T0);
    const [job] = claim(db, T0);
    expect(cancelJob(db, job!.id, T0 + 1)).toMatchObject({
      outcome: 'requested',
      job: { status: 'running', cancelRequested: true },
    });
    const partial = { ...failed('Cancelled'), stdout: { bytes: 9, truncated: false, blob: 'cc' } };
    finish(db, [{ id: job!.id, token: job!.token, result: partial }], T0 + 2);
    expect(getJob(db, job!.id)).toMatchObject({
      status: 'cancelled',
      result: partial,
      errorType: 'Cancelled',
    });
  });

  it('never retries a job whose cancel was requested, even for a retryable error', () => {
    enqueueJobs(db, [item()], T0);
    const [job] = claim(db, T0);
    cancelJob(db, job!.id, T0 + 1);
    finish(db, [{ id: job!.id, token: job!.token, result: failed('EngineUnavailable') }], T0 + 2);
    expect(getJob(db, job!.id)!.status).toBe('cancelled');
  });

  it('leaves a finished job unchanged and says so; throws NotFound for an unknown id', () => {
    enqueueJobs(db, [item()], T0);
    const [job] = claim(db, T0);
    finish(db, [{ id: job!.id, token: job!.token, result: validResult() }], T0 + 1);
    expect(cancelJob(db, job!.id, T0 + 2)).toMatchObject({
      outcome: 'already-final',
      job: { status: 'succeeded' },
    });
    expect(() => cancelJob(db, 'nope', T0)).toThrow(expect.objectContaining({ type: 'NotFound' }));
  });
});

describe('listing and retention', () => {
  it('pages newest first with a cursor, optionally by status', () => {
    const ids = enqueueJobs(
      db,
      Array.from({ length: 5 }, () => item()),
      T0,
    ).map((o) => o.job.id);
    claim(db, T0, 2);
    const p1 = listJobs(db, { limit: 2 });
    expect(p1.jobs.map((j) => j.id)).toEqual([ids[4], ids[3]]);
    const p2 = listJobs(db, { limit: 2, cursor: p1.nextCursor });
    expect(p2.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    const p3 = listJobs(db, { limit: 2, cursor: p2.nextCursor });
    expect(p3).toEqual({ jobs: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
    expect(listJobs(db, { status: 'running' }).jobs.map((j) => j.id)).toEqual([ids[1], ids[0]]);
  });

  it('deletes finished jobs before a cutoff and names blobs nothing else refers to', () => {
    enqueueJobs(db, [item(), item(), item()], T0);
    const [a, b, c] = claim(db, T0, 3);
    finish(
      db,
      [{ id: a!.id, token: a!.token, result: validResult(), blobs: ['shared', 'only-a'] }],
      T0 + 1,
    );
    finish(
      db,
      [{ id: b!.id, token: b!.token, result: validResult(), blobs: ['shared'] }],
      T0 + 100,
    );
    const out = deleteFinishedBefore(db, T0 + 50);
    expect(out).toEqual({ jobIds: [a!.id], unreferencedBlobs: ['only-a'] });
    expect(getJob(db, a!.id)).toBeNull();
    expect(getJob(db, c!.id)!.status).toBe('running');
  });
});

describe('job ids', () => {
  it('sort by creation time, and strictly increase within one millisecond', () => {
    const ids = [newJobId(T0), newJobId(T0), newJobId(T0), newJobId(T0 + 1)];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(4);
    expect(ids[0]).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });
});

describe('enqueue', () => {
  it('stores many jobs in one call as queued, with defaults filled in', () => {
    const out = enqueueJobs(db, [item(), item({ priority: 5 })], T0);
    expect(out.map((o) => o.created)).toEqual([true, true]);
    const job = getJob(db, out[0]!.job.id)!;
    expect(job).toMatchObject({
      status: 'queued',
      attempts: 0,
      releasedAttempts: 0,
      maxAttempts: 3,
      priority: 0,
      runAt: T0,
      retryOnExitCodes: [],
      createdAt: T0,
      result: null,
    });
    expect(countByStatus(db)).toEqual({
      queued: 2,
      running: 0,
      succeeded: 0,
      failed: 0,
      cancelled: 0,
    });
  });

  it('returns the existing job for a repeated idempotency key, in the same batch or later', () => {
    const [first, sameBatch] = enqueueJobs(
      db,
      [item({ idempotencyKey: 'k1' }), item({ idempotencyKey: 'k1', priority: 9 })],
      T0,
    );
    expect(first!.created).toBe(true);
    expect(sameBatch).toMatchObject({ created: false, job: { id: first!.job.id, priority: 0 } });
    const [later] = enqueueJobs(db, [item({ idempotencyKey: 'k1' })], T0 + 10);
    expect(later).toMatchObject({ created: false, job: { id: first!.job.id } });
    expect(countByStatus(db).queued).toBe(1);
  });
});

describe('claim', () => {
  it('takes jobs by priority, then run_at, then id', () => {
    const ids = enqueueJobs(
      db,
      [
        item({ priority: 1, runAt: T0 - 500 }), // 0
        item({ priority: 0, runAt: T0 - 100 }), // 1
        item({ priority: 0, runAt: T0 - 200 }), // 2
        item({ priority: -1, runAt: T0 }), // 3
        item({ priority: 0, runAt: T0 - 200 }), // 4: same as 2, later id
      ],
      T0 - 1000,
    ).map((o) => o.job.id);
    const order = [3, 2, 4, 1, 0].map((i) => ids[i]);
    expect(claim(db, T0, 10).map((j) => j.id)).toEqual(order);
  });

  it('hands out one job at a time in that order too', () => {
    const ids = enqueueJobs(db, [item({ priority: 2 }), item({ priority: 1 })], T0).map(
      (o) => o.job.id,
    );
    expect(claim(db, T0)[0]!.id).toBe(ids[1]);
    expect(claim(db, T0)[0]!.id).toBe(ids[0]);
    expect(claim(db, T0)).toEqual([]);
  });

  it('does not claim a delayed job before its run_at', () => {
    const [out] = enqueueJobs(db, [item({ runAt: T0 + 5000 })], T0);
    expect(claim(db, T0 + 4999)).toEqual([]);
    const [job] = claim(db, T0 + 5000);
    expect(job!.id).toBe(out!.job.id);
  });

  it('gives each claim a fresh token, counts the attempt and sets the lease', () => {
    enqueueJobs(db, [item(), item()], T0);
    const jobs = claim(db, T0, 2);
    expect(jobs).toHaveLength(2);
    expect(jobs[0]!.token).toMatch(/^[0-9a-f]{32}$/);
    expect(jobs[0]!.token).not.toBe(jobs[1]!.token);
    expect(jobs[0]).toMatchObject({ attempt: 1, leaseExpiresAt: T0 + LEASE });
    expect(getJob(db, jobs[0]!.id)).toMatchObject({
      status: 'running',
      leaseOwner: 'w1',
      startedAt: T0,
    });
  });

  it('never hands one job to two connections claiming in turn on one file', () => {
    const { db: a, path } = freshDb();
    const { db: b } = { db: openDatabase(path).db };
    opened.push(b);
    const total = 300;
    enqueueJobs(
      a,
      Array.from({ length: total }, (_, i) => item({ priority: i % 7 })),
      T0,
    );
    const seen = new Map<string, string>();
    let rounds = 0;
    for (;;) {
      const got = [
        ...claim(a, T0, 1 + (rounds % 3), 'a').map((j) => ['a', j.id] as const),
        ...claim(b, T0, 1 + ((rounds + 1) % 4), 'b').map((j) => ['b', j.id] as const),
      ];
      rounds += 1;
      if (got.length === 0) break;
      for (const [who, id] of got) {
        expect(seen.has(id), `job ${id} claimed by ${seen.get(id)} and ${who}`).toBe(false);
        seen.set(id, who);
      }
    }
    expect(seen.size).toBe(total);
    expect(new Set(seen.values())).toEqual(new Set(['a', 'b']));
  });
});

describe('heartbeat and stale tokens', () => {
  it('renews a held lease and reports a cancel request', () => {
    enqueueJobs(db, [item(), item()], T0);
    const [j1, j2] = claim(db, T0, 2);
    cancelJob(db, j2!.id, T0 + 1);
    const out = heartbeatJobs(
      db,
      [
        { id: j1!.id, token: j1!.token },
        { id: j2!.id, token: j2!.token },
      ],
      LEASE,
      T0 + 5000,
    );
    expect(out).toEqual({ held: [j1!.id, j2!.id], lost: [], cancelRequested: [j2!.id] });
    expect(getJob(db, j1!.id)!.leaseExpiresAt).toBe(T0 + 5000 + LEASE);
  });

  it('tells the old worker its job is lost once the lease was taken over', () => {
    enqueueJobs(db, [item()], T0);
    const [old] = claim(db, T0, 1, 'stalled');
    requeueExpired(db, T0 + LEASE + 1, RETRY, () => 0);
    const [live] = claim(db, T0 + LEASE + 1, 1, 'fresh');
    expect(live!.id).toBe(old!.id);
    expect(live!.attempt).toBe(2);
    const out = heartbeatJobs(db, [{ id: old!.id, token: old!.token }], LEASE, T0 + LEASE + 2);
    expect(out).toEqual({ held: [], lost: [old!.id], cancelRequested: [] });
  });

  it("rejects a late result from a taken-over attempt and keeps the live attempt's", () => {
    enqueueJobs(db, [item()], T0);
    const [old] = claim(db, T0, 1, 'stalled');
    requeueExpired(db, T0 + LEASE + 1, RETRY, () => 0);
    const [live] = claim(db, T0 + LEASE + 1, 1, 'fresh');
    expect(
      finish(db, [{ id: old!.id, token: old!.token, result: validResult() }], T0 + LEASE + 2),
    ).toEqual(['stale']);
    expect(getJob(db, old!.id)).toMatchObject({
      status: 'running',
      leaseOwner: 'fresh',
      result: null,
    });
    expect(
      finish(db, [{ id: live!.id, token: live!.token, result: validResult() }], T0 + LEASE + 3),
    ).toEqual(['recorded']);
    expect(getJob(db, old!.id)!.status).toBe('succeeded');
  });

  it('rejects a second result for an attempt that already finished', () => {
    enqueueJobs(db, [item()], T0);
    const [job] = claim(db, T0);
    const once = { id: job!.id, token: job!.token, result: validResult() };
    expect(finish(db, [once], T0 + 1)).toEqual(['recorded']);
    expect(finish(db, [{ ...once, result: failed('Internal') }], T0 + 2)).toEqual(['stale']);
    expect(getJob(db, job!.id)).toMatchObject({ status: 'succeeded', errorType: null });
  });
});

describe('finish', () => {
  it('records success with the result, the contract version and the blobs it refers to', () => {
    enqueueJobs(db, [item()], T0);
    const [job] = claim(db, T0);
    const result: JobResult = {
      ...validResult(),
      stdout: { bytes: 3, truncated: false, blob: 'aa' },
    };
    finish(db, [{ id: job!.id, token: job!.token, result, blobs: ['aa', 'bb'] }], T0 + 10);
    expect(getJob(db, job!.id)).toMatchObject({
      status: 'succeeded',
      finishedAt: T0 + 10,
      result,
      contractVersion: '1.0.0',
      leaseOwner: null,
      leaseExpiresAt: null,
    });
    expect(referencedBlobs(db, ['aa', 'bb', 'cc'])).toEqual(new Set(['aa', 'bb']));
  });

  it('retries an infrastructure error with backoff, then fails when attempts are spent', () => {
    enqueueJobs(db, [item({ maxAttempts: 2 })], T0);
    const [a1] = claim(db, T0);
    finish(
      db,
      [{ id: a1!.id, token: a1!.token, result: failed('EngineUnavailable') }],
      T0 + 10,
      () => 0.5,
    );
    expect(getJob(db, a1!.id)).toMatchObject({
      status: 'queued',
      runAt: T0 + 10 + 500, // attempt 1: half of base
      errorType: 'EngineUnavailable',
      leaseOwner: null,
    });
    expect(claim(db, T0 + 509)).toEqual([]);
    const [a2] = claim(db, T0 + 510);
    expect(a2!.attempt).toBe(2);
    finish(db, [{ id: a2!.id, token: a2!.token, result: failed('EngineUnavailable') }], T0 + 600);
    expect(getJob(db, a1!.id)).toMatchObject({
      status: 'failed',
      attempts: 2,
      finishedAt: T0 + 600,
    });
  });

  it("fails a script's non-zero exit at once unless the job listed that exit code", () => {
    enqueueJobs(db, [item(), item({ retryOnExitCodes: [3] })], T0);
    const [plain, listed] = claim(db, T0, 2);
    finish(
      db,
      [
        { id: plain!.id, token: plain!.token, result: failed('NonZeroExit', 3) },
        { id: listed!.id, token: listed!.token, result: failed('NonZeroExit', 3) },
      ],
      T0 + 1,
    );
    expect(getJob(db, plain!.id)!.status).toBe('failed');
    expect(getJob(db, listed!.id)!.status).toBe('queued');
  });

  it('does not retry an image the job forbids pulling, but retries a failed pull', () => {
    const image = (errorField: string) =>
      decide(
        {
          errorType: 'ImageUnavailable',
          errorField,
          exitCode: null,
          attempts: 1,
          releasedAttempts: 0,
          maxAttempts: 5,
          retryOnExitCodes: [],
          cancelRequested: false,
        },
        RETRY,
      ).kind;
    expect(image('pull_policy')).toBe('failed');
    expect(image('image')).toBe('retry');
  });

  it('does not retry a timeout or an invalid spec', () => {
    expect(
      decide(
        {
          errorType: 'Timeout',
          exitCode: null,
          attempts: 1,
          releasedAttempts: 0,
          maxAttempts: 5,
          retryOnExitCodes: [],
          cancelRequested: false,
        },
        RETRY,
      ),
    ).toEqual({ kind: 'failed' });
    expect(
      decide(
        {
          errorType: 'InvalidSpec',
          exitCode: null,
          attempts: 1,
          releasedAttempts: 0,
          maxAttempts: 5,
          retryOnExitCodes: [],
          cancelRequested: false,
        },
        RETRY,
      ),
    ).toEqual({ kind: 'failed' });
    expect(
      decide(
        {
          errorType: 'WorkerLost',
          exitCode: null,
          attempts: 1,
          releasedAttempts: 0,
          maxAttempts: 5,
          retryOnExitCodes: [],
          cancelRequested: false,
        },
        RETRY,
      ).kind,
    ).toBe('retry');
  });
});

describe('backoff', () => {
  it('stays within [0, min(cap, base * 2^(attempt-1))] and reaches the ceiling', () => {
    const settings = { baseMs: 100, capMs: 5000 };
    for (const [attempt, ceiling] of [
      [1, 100],
      [2, 200],
      [3, 400],
      [6, 3200],
      [7, 5000],
      [50, 5000],
    ] as const) {
      expect(backoffMs(attempt, settings, () => 0)).toBe(0);
      expect(backoffMs(attempt, settings, () => 0.999999)).toBe(ceiling - 1);
      for (let i = 0; i < 200; i++) {
        const d = backoffMs(attempt, settings);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
      }
    }
  });
});

describe('the reaper', () => {
  it('requeues an expired lease with WorkerLost and backoff, judging by lease only', () => {
    enqueueJobs(db, [item()], T0 - 10 * 24 * 3600 * 1000); // very old: must not matter
    const [job] = claim(db, T0);
    expect(requeueExpired(db, T0 + LEASE, RETRY)).toEqual({
      requeued: [],
      failed: [],
      cancelled: [],
    });
    const out = requeueExpired(db, T0 + LEASE + 1, RETRY, () => 0.5);
    expect(out.requeued).toEqual([job!.id]);
    expect(getJob(db, job!.id)).toMatchObject({
      status: 'queued',
      errorType: 'WorkerLost',
      attempts: 1,
      runAt: T0 + LEASE + 1 + 500,
      leaseOwner: null,
    });
    expect(getJob(db, job!.id)!.errorMessage).toContain('lease expired');
  });

  it('fails an expired job whose attempts are spent', () => {
    enqueueJobs(db, [item({ maxAttempts: 1 })], T0);
    const [job] = claim(db, T0);
    expect(requeueExpired(db, T0 + LEASE + 1, RETRY).failed).toEqual([job!.id]);
    expect(getJob(db, job!.id)).toMatchObject({
      status: 'failed',
      errorType: 'WorkerLost',
      finishedAt: T0 + LEASE + 1,
    });
  });

  it('leaves renewed leases alone', () => {
    enqueueJobs(db, [item()], T0);
    const [job] = claim(db, T0);
    heartbeatJobs(db, [{ id: job!.id, token: job!.token }], LEASE, T0 + 20_000);
    expect(requeueExpired(db, T0 + LEASE + 1, RETRY).requeued).toEqual([]);
  });

  it('ends a lost job that had a cancel request as cancelled', () => {
    enqueueJobs(db, [item()], T0);
    const [job] = claim(db, T0);
    cancelJob(db, job!.id, T0 + 1);
    expect(requeueExpired(db, T0 + LEASE + 1, RETRY).cancelled).toEqual([job!.id]);
    expect(getJob(db, job!.id)!.status).toBe('cancelled');
  });
});

describe('job ids', () => {
  it('tell when they were made', () => {
    // Ids only go forward within a process: times later than any this file used.
    for (const t of [2 ** 46, 2 ** 46 + 1, 2 ** 47]) expect(idTime(newJobId(t))).toBe(t);
    expect(idTime('01M8QXS3FM2D7G9YN2FTTWV9YJ'.toLowerCase())).toBe(
      Date.parse('2026-12-01T04:28:33.140Z'),
    );
  });
});
