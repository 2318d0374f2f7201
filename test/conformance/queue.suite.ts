import { afterEach, describe, expect, it } from 'vitest';
import { CURRENT_CONTRACT } from '../../src/contract/contract.js';
import { failureResult } from '../../src/contract/failureResult.js';
import type { JobResult } from '../../src/contract/resultSchema.js';
import { RunboxError } from '../../src/errors/index.js';
import type {
  QueueBackend,
  QueueOpenOptions,
  QueueSettings,
} from '../../src/queue/QueueBackend.js';
import type { ClaimedJob, EnqueueItem } from '../../src/queue/types.js';
import { validResult } from '../helpers/results.js';

/**
 * One suite for every queue backend (QueueBackend.ts states the contract; this checks
 * it). A backend's test file calls queueConformance(name, makeQueue); see
 * queue.sqlite.test.ts. No fake clock: leases, liveness and retention are made short
 * for the cases that need them and the suite waits in real time, so a backend whose
 * clock is the database's (PostgreSQL's now()) runs it unchanged.
 */
export interface QueueHarness {
  backend: QueueBackend;
  /** A second backend instance on the same database: another process's connection. */
  connectAgain(): Promise<QueueBackend>;
  /** Closes every instance it made and drops what it created (file, schema). */
  dispose(): Promise<void>;
}

/** A fresh, EMPTY queue with exactly these settings and options. */
export type MakeQueue = (
  settings: QueueSettings,
  options: QueueOpenOptions,
) => Promise<QueueHarness>;

/** Long enough that nothing expires by accident on a loaded machine. */
const CALM: QueueSettings = {
  lease: { heartbeatMs: 5_000, expiryMs: 60_000 },
  retry: { baseMs: 1_000, capMs: 60_000 },
  commitWindowMs: 2,
  workerDeadMs: 60_000,
  workerRetentionMs: 24 * 3600 * 1000,
  jobRetentionMs: 7 * 24 * 3600 * 1000,
};

/** Short enough to wait out: a lease or a worker's life lapses after SHORT ms. */
const SHORT = 300;
const PAST_SHORT = SHORT * 2 + 100;
/**
 * A worker's life where a test needs a worker still alive after several writes since it
 * last spoke: each write is a commit (an fsync, or a round trip to PostgreSQL), and on a
 * loaded 2-core machine a handful of them can take longer than SHORT.
 */
const WORKER_LIFE = 1000;
const PAST_WORKER_LIFE = WORKER_LIFE + 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const item = (over: Partial<EnqueueItem> = {}): EnqueueItem => ({
  spec: { runtime: 'shell', command: ['true'], note: 'naïve ✓ 日本' },
  maxAttempts: 3,
  ...over,
});

/** A failure the retry policy retries while attempts remain (an infrastructure error). */
const retryable = (): JobResult => failureResult(new RunboxError('Internal', 'boom'));
/** A failure that is final at once. */
const final = (): JobResult => ({
  ...failureResult(new RunboxError('NonZeroExit', 'exit 3')),
  exit_code: 3,
});

const worker = (id: string, contract = CURRENT_CONTRACT) => ({
  id,
  host: 'conformance-host',
  pid: 4242,
  version: '0.0.0-test',
  contract,
});

export function queueConformance(name: string, makeQueue: MakeQueue): void {
  describe(`queue conformance: ${name}`, () => {
    const harnesses: QueueHarness[] = [];
    afterEach(async () => {
      for (const h of harnesses.splice(0)) await h.dispose();
    });

    /** Random jitter pinned to 0: a retry is due at once, so the suite need not wait. */
    async function open(
      over: Partial<QueueSettings> = {},
    ): Promise<QueueBackend & { harness: QueueHarness }> {
      const harness = await makeQueue({ ...CALM, ...over }, { random: () => 0 });
      harnesses.push(harness);
      return Object.assign(harness.backend, { harness });
    }

    async function claimOne(q: QueueBackend, workerId = 'w1'): Promise<ClaimedJob> {
      const [job] = await q.claim({ workerId, limit: 1 });
      if (!job) throw new Error('nothing to claim');
      return job;
    }

    describe('claim', () => {
      it('takes due jobs by priority, then run_at, then submission; never a future one', async () => {
        const q = await open();
        const past = Date.now() - 60_000;
        const [low, urgentLate, urgentEarly, normalA, normalB, future] = await q.submit([
          item({ priority: 10, runAt: past }),
          item({ priority: -5, runAt: past + 1000 }),
          item({ priority: -5, runAt: past }),
          item({ runAt: past }),
          item({ runAt: past }),
          item({ priority: -100, runAt: Date.now() + 3_600_000 }),
        ]);
        const claimed = await q.claim({ workerId: 'w1', limit: 10 });
        expect(claimed.map((j) => j.id)).toEqual(
          [urgentEarly, urgentLate, normalA, normalB, low].map((o) => o!.job.id),
        );
        expect(claimed.map((j) => j.runAt)).toEqual([past, past + 1000, past, past, past]);
        expect((await q.get(future!.job.id))!.status).toBe('queued');
        expect(await q.claim({ workerId: 'w1', limit: 10 })).toEqual([]);
      });

      it('honours the limit, and a limit of 0 takes nothing', async () => {
        const q = await open();
        await q.submit([item(), item(), item()]);
        expect(await q.claim({ workerId: 'w1', limit: 0 })).toEqual([]);
        expect(await q.claim({ workerId: 'w1', limit: 2 })).toHaveLength(2);
        expect(await q.counts()).toMatchObject({ queued: 1, running: 2 });
      });

      it('hands out a fresh token per attempt and a lease, and never shows the token', async () => {
        const q = await open();
        const [submitted] = await q.submit([item({ priority: 3, maxAttempts: 4 })]);
        const before = Date.now();
        const job = await claimOne(q);
        expect(job).toMatchObject({
          id: submitted!.job.id,
          attempt: 1,
          priority: 3,
          maxAttempts: 4,
          spec: item().spec,
        });
        expect(job.token).toMatch(/^[\x21-\x7e]{16,}$/);
        // The backend's clock; allow for a database host a little off ours.
        expect(job.leaseExpiresAt).toBeGreaterThan(before + 60_000 - 5_000);
        const record = await q.get(job.id);
        expect(record).toMatchObject({ status: 'running', attempts: 1, leaseOwner: 'w1' });
        expect(JSON.stringify(record)).not.toContain(job.token);
        expect(JSON.stringify(await q.list())).not.toContain(job.token);

        await q.finish([{ id: job.id, token: job.token, result: retryable() }]);
        const again = await claimOne(q);
        expect(again.attempt).toBe(2);
        expect(again.token).not.toBe(job.token);
      });

      it('never gives one job to two concurrent claimers (two connections)', async () => {
        const q = await open();
        const other = await q.harness.connectAgain();
        const total = 60;
        await q.submit(Array.from({ length: total }, () => item()));
        const taken: string[][] = [[], []];
        await Promise.all(
          [q, other].map(async (backend, i) => {
            for (;;) {
              const jobs = await backend.claim({ workerId: `w${i}`, limit: 1 + (i % 3) });
              if (jobs.length === 0) return;
              taken[i]!.push(...jobs.map((j) => j.id));
            }
          }),
        );
        const all = [...taken[0]!, ...taken[1]!];
        expect(new Set(all).size).toBe(total);
        expect(all).toHaveLength(total);
      });

      it('keeps a reserved job for its worker only', async () => {
        const q = await open();
        await q.registerWorker(worker('owner'));
        const [reserved] = await q.submit([item({ reservedFor: 'owner', priority: -10 })]);
        const [shared] = await q.submit([item()]);
        expect((await q.claim({ workerId: 'other', limit: 5 })).map((j) => j.id)).toEqual([
          shared!.job.id,
        ]);
        expect(await q.claim({ workerId: 'other', limit: 5, reserved: true })).toEqual([]);
        const mine = await q.claim({ workerId: 'owner', limit: 5, reserved: true });
        expect(mine.map((j) => j.id)).toEqual([reserved!.job.id]);
      });
    });

    describe('named queues', () => {
      it('claims only from the queues asked for; a queue no worker serves is never claimed', async () => {
        const q = await open();
        const [gpu, plain, batch] = await q.submit([
          item({ queue: 'gpu', priority: -10 }),
          item(),
          item({ queue: 'batch.nightly_2-x' }),
        ]);
        expect(gpu!.job.queue).toBe('gpu');
        expect(plain!.job.queue).toBe('default');
        expect((await q.get(batch!.job.id))!.queue).toBe('batch.nightly_2-x');
        // No queues named: the default queue only.
        const fromDefault = await q.claim({ workerId: 'cpu', limit: 10 });
        expect(fromDefault.map((j) => [j.id, j.queue])).toEqual([[plain!.job.id, 'default']]);
        expect(
          await q.claim({ workerId: 'cpu', limit: 10, queues: [{ name: 'default', limit: 10 }] }),
        ).toEqual([]);
        const fromGpu = await q.claim({
          workerId: 'gpu-node',
          limit: 10,
          queues: [
            { name: 'gpu', limit: 1 },
            { name: 'other', limit: 5 },
          ],
        });
        expect(fromGpu.map((j) => [j.id, j.queue])).toEqual([[gpu!.job.id, 'gpu']]);
        expect((await q.get(batch!.job.id))!.status).toBe('queued');
        // finishAndClaim takes queues the same way.
        const { claimed } = await q.finishAndClaim(
          [{ id: fromGpu[0]!.id, token: fromGpu[0]!.token, result: validResult() }],
          { workerId: 'gpu-node', limit: 5, queues: [{ name: 'gpu', limit: 5 }] },
        );
        expect(claimed).toEqual([]);
        expect((await q.get(batch!.job.id))!.status).toBe('queued');
      });

      it('takes at most each queue its own limit, best first within each', async () => {
        const q = await open();
        const gpus = await q.submit(
          Array.from({ length: 3 }, (_, i) => item({ queue: 'gpu', priority: 3 - i })),
        );
        const cpus = await q.submit(Array.from({ length: 5 }, () => item()));
        const claimed = await q.claim({
          workerId: 'node',
          limit: 10,
          queues: [
            { name: 'default', limit: 4 },
            { name: 'gpu', limit: 1 },
          ],
        });
        const ids = claimed.map((j) => j.id);
        expect(claimed.filter((j) => j.queue === 'gpu').map((j) => j.id)).toEqual([
          gpus[2]!.job.id,
        ]);
        expect(claimed.filter((j) => j.queue === 'default')).toHaveLength(4);
        expect(ids).not.toContain(cpus[4]!.job.id);
        // A queue's limit is also capped by the claim's limit; 0 takes none of it.
        const capped = await q.claim({
          workerId: 'node',
          limit: 1,
          queues: [
            { name: 'gpu', limit: 5 },
            { name: 'default', limit: 0 },
          ],
        });
        expect(capped.map((j) => j.id)).toEqual([gpus[1]!.job.id]);
        expect(await q.counts()).toMatchObject({ queued: 2, running: 6 });
      });

      it('a reserved claim takes its jobs whatever queue they name', async () => {
        const q = await open();
        await q.registerWorker(worker('owner'));
        const [mine] = await q.submit([item({ reservedFor: 'owner', queue: 'gpu' })]);
        expect(
          await q.claim({ workerId: 'x', limit: 5, queues: [{ name: 'gpu', limit: 5 }] }),
        ).toEqual([]);
        const taken = await q.claim({ workerId: 'owner', limit: 5, reserved: true });
        expect(taken.map((j) => [j.id, j.queue])).toEqual([[mine!.job.id, 'gpu']]);
      });

      it('summarises each queue: depth, running, oldest due, live workers serving it', async () => {
        const q = await open({ workerDeadMs: WORKER_LIFE });
        await q.registerWorker({ ...worker('cpu'), queues: { default: 4 } });
        await q.registerWorker({ ...worker('gpu'), queues: { default: 2, gpu: 1 } });
        await q.registerWorker({ ...worker('gone'), queues: { gpu: 8 } });
        await q.stopWorker('gone');
        const past = Date.now() - 60_000;
        await q.submit([
          item({ queue: 'gpu', runAt: past }),
          item({ queue: 'gpu', runAt: past + 1000 }),
          item({ queue: 'gpu', runAt: Date.now() + 3_600_000 }),
          item({ queue: 'orphan' }),
          item({ reservedFor: 'cpu', queue: 'private' }),
        ]);
        await q.claim({ workerId: 'gpu', limit: 1, queues: [{ name: 'gpu', limit: 1 }] });
        const byName = Object.fromEntries((await q.queues()).map((s) => [s.name, s]));
        expect(Object.keys(byName)).toEqual(['default', 'gpu', 'orphan']);
        expect(byName.default).toEqual({
          name: 'default',
          queued: 0,
          due: 0,
          running: 0,
          oldestDueAt: null,
          workers: 2,
          slots: 6,
        });
        // Seen: the job due in an hour counted as waiting like the due one: an operator
        // read a backlog. Due and queued are told apart.
        expect(byName.gpu).toMatchObject({ queued: 2, due: 1, running: 1, workers: 1, slots: 1 });
        expect(Math.abs(byName.gpu!.oldestDueAt! - (past + 1000))).toBeLessThan(5);
        expect(byName.orphan).toMatchObject({
          queued: 1,
          due: 1,
          running: 0,
          workers: 0,
          slots: 0,
        });
        // A worker no longer heard from serves nothing.
        await sleep(PAST_WORKER_LIFE);
        expect((await q.queues()).find((s) => s.name === 'default')).toBeUndefined();
      });

      it('refuses an invalid queue name naming the field, and stores nothing', async () => {
        const q = await open();
        for (const bad of ['', 'GPU', 'a'.repeat(65), 'gpü', 'a b', 'a/b']) {
          await expect(q.submit([item(), item({ queue: bad })])).rejects.toMatchObject({
            type: 'InvalidSpec',
            field: 'jobs.1.queue',
          });
        }
        expect((await q.submit([item({ queue: 'a'.repeat(64) })]))[0]!.job.queue).toHaveLength(64);
        expect(await q.counts()).toMatchObject({ queued: 1 });
      });
    });

    describe('submit', () => {
      it('stores all items or none: one invalid item rejects the call naming it', async () => {
        const q = await open();
        await expect(q.submit([item(), item({ maxAttempts: 0 })])).rejects.toMatchObject({
          type: 'InvalidSpec',
          field: 'jobs.1.max_attempts',
        });
        await expect(q.submit([item({ priority: 1.5 })])).rejects.toMatchObject({
          field: 'priority',
        });
        expect(await q.counts()).toEqual({
          queued: 0,
          running: 0,
          succeeded: 0,
          failed: 0,
          cancelled: 0,
        });
      });

      it('fills the defaults and keeps the spec as sent, hostile text included', async () => {
        const q = await open();
        const spec = { runtime: 'shell', command: ['printf', '\u0000\ud83d\ude00 "\\'], env: {} };
        const before = Date.now();
        const [out] = await q.submit([{ spec, maxAttempts: 1 }]);
        expect(out!.created).toBe(true);
        expect(out!.job).toMatchObject({
          status: 'queued',
          priority: 0,
          attempts: 0,
          maxAttempts: 1,
          queue: 'default',
          retryOnExitCodes: [],
          idempotencyKey: null,
          cancelRequested: false,
          result: null,
        });
        expect(Math.abs(out!.job.runAt - before)).toBeLessThan(5_000);
        expect((await q.get(out!.job.id))!.spec).toEqual(spec);
      });

      it('hands input files back whole on every read (a page lists them): get, claim, adopt, cancel, key', async () => {
        // SQLite keeps them apart from the row (migration 011); every backend must give
        // the spec back exactly as sent, with a status change or a heartbeat between.
        const q = await open({ workerDeadMs: SHORT });
        const bytes = Buffer.alloc(2 * 1024 * 1024 + 3, 0xfe)
          .toString('base64')
          .replace(/(.{76})/g, '$1\n');
        const spec = {
          runtime: 'shell',
          command: ['ls'],
          // Listed as it is, NULs and the escapes PostgreSQL's listing stands in for them
          // included (written as text here: a backslash, then u0041).
          script: { path: 'run.sh', content: 'printf "\\u0041 \\\\u0000"\u0000\\u0000\n' },
          files: [
            { path: 'in/big.bin', content: bytes, encoding: 'base64' },
            { path: 'naïve ☃.txt', content: '日本\n' },
            // PostgreSQL's json refuses to decode a \u0000 escape as text; its size must
            // still be read (a literal backslash-u0000 is six bytes of text).
            { path: 'nul.txt', content: 'a\u0000b\n\\u0000é', mode: 0o600 },
          ],
        };
        const [out, other] = await q.submit([
          { spec, maxAttempts: 2, idempotencyKey: 'files-key' },
          { spec, maxAttempts: 1 },
        ]);
        const id = out!.job.id;
        expect((await q.get(id))!.spec).toEqual(spec);
        // A page lists them without their content (a page of 50 such jobs was one string
        // too long to build), with their decoded size; whitespace in base64 is no byte.
        const listed = {
          ...spec,
          files: [
            { path: 'in/big.bin', encoding: 'base64', bytes: 2 * 1024 * 1024 + 3 },
            { path: 'naïve ☃.txt', bytes: 7 },
            { path: 'nul.txt', mode: 0o600, bytes: 12 },
          ],
        };
        expect((await q.list({ limit: 2 })).jobs.map((j) => j.spec)).toEqual([listed, listed]);
        const [again] = await q.submit([{ spec, maxAttempts: 2, idempotencyKey: 'files-key' }]);
        expect(again).toMatchObject({ created: false, job: { id } });
        expect(again!.job.spec).toEqual(spec);
        await q.registerWorker(worker('doomed'));
        const [claimed] = await q.claim({ workerId: 'doomed', limit: 1 });
        expect(claimed).toMatchObject({ id, spec });
        await q.heartbeat('doomed', [{ id: claimed!.id, token: claimed!.token }]);
        await q.stopWorker('doomed');
        const adopted = await q.adopt({ jobId: claimed!.id, attempt: 1, workerId: 'new' });
        expect(adopted!.spec).toEqual(spec);
        expect(
          await q.finish([{ id: adopted!.id, token: adopted!.token, result: validResult() }]),
        ).toEqual(['recorded']);
        expect((await q.get(adopted!.id))!.spec).toEqual(spec);
        const cancelled = await q.cancel(other!.job.id);
        expect(cancelled!.job.spec).toEqual(spec);
      });

      it('an idempotency key returns the existing job across calls', async () => {
        const q = await open();
        const [first] = await q.submit([item({ idempotencyKey: 'k-ü', requestHash: 'h1' })]);
        expect(first!.created).toBe(true);
        const [repeat] = await q.submit([item({ idempotencyKey: 'k-ü', requestHash: 'h1' })]);
        expect(repeat).toMatchObject({ created: false, job: { id: first!.job.id } });
        const [later, fresh] = await q.submit([
          item({ idempotencyKey: 'k-ü', requestHash: null }),
          item({ idempotencyKey: 'k-ü2', requestHash: 'h1' }),
        ]);
        expect(later).toMatchObject({ created: false, job: { id: first!.job.id } });
        expect(fresh!.created).toBe(true);
        expect((await q.counts()).queued).toBe(2);
      });

      it('one call naming a key twice is refused, naming the repeat and what it repeats; nothing is stored', async () => {
        const q = await open();
        await q.submit([item({ idempotencyKey: 'old', requestHash: 'h1' })]);
        // The same job sent twice, the same key for two bodies, a key already stored:
        // each refused before anything is written.
        for (const [hashes, key] of [
          [['h1', 'h1'], 'k'],
          [['h1', 'h2'], 'k'],
          [[null, 'h2'], 'k'],
          [['h1', 'h1'], 'old'],
        ] as const) {
          await expect(
            q.submit([
              item({ idempotencyKey: key, requestHash: hashes[0] }),
              item(),
              item({ idempotencyKey: key, requestHash: hashes[1] }),
            ]),
          ).rejects.toMatchObject({
            type: 'InvalidSpec',
            field: 'jobs.2.idempotency_key',
            message: expect.stringContaining('jobs.0'),
          });
        }
        expect((await q.counts()).queued).toBe(1);
      });

      it('refuses a key that is not well-formed Unicode or holds NUL, naming it; nothing is stored', async () => {
        const q = await open();
        // Lone surrogates: distinct here, one U+FFFD key in PostgreSQL, two keys in SQLite.
        await expect(
          q.submit([
            item({ idempotencyKey: 'x\ud800', requestHash: 'h1' }),
            item({ idempotencyKey: 'x\udfff', requestHash: 'h2' }),
          ]),
        ).rejects.toMatchObject({ type: 'InvalidSpec', field: 'jobs.0.idempotency_key' });
        for (const key of ['\udc00', 'a\u0000b', '\ud83d\ude00\ud83d']) {
          await expect(q.submit([item({ idempotencyKey: key })])).rejects.toMatchObject({
            type: 'InvalidSpec',
            field: 'idempotency_key',
          });
        }
        // Well-formed astral characters are keys like any other.
        const [emoji] = await q.submit([item({ idempotencyKey: '\ud83d\ude00' })]);
        expect(emoji!.created).toBe(true);
        expect((await q.counts()).queued).toBe(1);
      });

      it('the same key with another body is a Conflict, and the whole call stores nothing', async () => {
        const q = await open();
        await q.submit([item({ idempotencyKey: 'k', requestHash: 'h1' })]);
        await expect(
          q.submit([item(), item({ idempotencyKey: 'k', requestHash: 'h2' })]),
        ).rejects.toMatchObject({ type: 'Conflict', field: 'idempotency_key' });
        expect((await q.counts()).queued).toBe(1);
      });
    });

    describe('results', () => {
      it('records a success once; a second finish or a wrong token is stale and changes nothing', async () => {
        const q = await open();
        await q.submit([item()]);
        const job = await claimOne(q);
        expect(await q.finish([{ id: job.id, token: 'not-the-token', result: final() }])).toEqual([
          'stale',
        ]);
        expect((await q.get(job.id))!.status).toBe('running');
        const finished: string[] = [];
        const unsubscribe = q.onFinished((ids) => finished.push(...ids));
        expect(await q.finish([{ id: job.id, token: job.token, result: validResult() }])).toEqual([
          'recorded',
        ]);
        expect(finished).toEqual([job.id]);
        unsubscribe();
        expect(await q.finish([{ id: job.id, token: job.token, result: final() }])).toEqual([
          'stale',
        ]);
        const record = await q.get(job.id);
        expect(record).toMatchObject({
          status: 'succeeded',
          errorType: null,
          leaseOwner: null,
          contractVersion: CURRENT_CONTRACT.version,
          result: validResult(),
        });
        expect(record!.finishedAt).not.toBeNull();
        expect(await q.finishedByOutcome()).toEqual([
          { status: 'succeeded', errorType: null, count: 1 },
        ]);
      });

      it('retries a retryable failure while attempts remain, then fails it', async () => {
        const q = await open();
        const [out] = await q.submit([item({ maxAttempts: 2 })]);
        const first = await claimOne(q);
        expect(await q.finish([{ id: first.id, token: first.token, result: retryable() }])).toEqual(
          ['recorded'],
        );
        expect(await q.get(out!.job.id)).toMatchObject({
          status: 'queued',
          attempts: 1,
          errorType: 'Internal',
          result: { error: { type: 'Internal' } },
        });
        const second = await claimOne(q);
        expect(second.attempt).toBe(2);
        // The first attempt's token died with it.
        expect(
          await q.finish([{ id: first.id, token: first.token, result: validResult() }]),
        ).toEqual(['stale']);
        await q.finish([{ id: second.id, token: second.token, result: retryable() }]);
        expect(await q.get(out!.job.id)).toMatchObject({ status: 'failed', errorType: 'Internal' });
      });

      it('a non-retryable failure is final at once', async () => {
        const q = await open();
        await q.submit([item({ maxAttempts: 5 })]);
        const job = await claimOne(q);
        await q.finish([{ id: job.id, token: job.token, result: final() }]);
        expect(await q.get(job.id)).toMatchObject({
          status: 'failed',
          attempts: 1,
          errorType: 'NonZeroExit',
        });
      });

      it('records the blobs a result refers to, for the gc', async () => {
        const q = await open();
        await q.submit([item()]);
        const job = await claimOne(q);
        const [a, b, c] = ['a', 'b', 'c'].map((x) => x.repeat(64));
        await q.finish([
          { id: job.id, token: job.token, result: validResult(), blobs: [a!, b!, a!] },
        ]);
        expect([...(await q.referencedBlobs([a!, b!, c!]))].sort()).toEqual([a, b]);
      });

      it('finishAndClaim records and hands out the next jobs in one call', async () => {
        const q = await open();
        await q.submit([item(), item(), item()]);
        const job = await claimOne(q);
        const { outcomes, claimed } = await q.finishAndClaim(
          [{ id: job.id, token: job.token, result: validResult() }],
          { workerId: 'w1', limit: 5 },
        );
        expect(outcomes).toEqual(['recorded']);
        expect(claimed).toHaveLength(2);
        expect(await q.counts()).toMatchObject({ succeeded: 1, running: 2, queued: 0 });
      });

      it('finishAndClaim checks every item as finish does: forged, unknown, blobs', async () => {
        const q = await open();
        await q.submit([item(), item(), item()]);
        const [a, b] = await q.claim({ workerId: 'w1', limit: 2 });
        const sha = 'd'.repeat(64);
        const finished: string[] = [];
        const unsubscribe = q.onFinished((ids) => finished.push(...ids));
        const { outcomes, claimed } = await q.finishAndClaim(
          [
            { id: a!.id, token: a!.token, result: validResult(), blobs: [sha] },
            { id: b!.id, token: 'forged', result: validResult(), blobs: ['e'.repeat(64)] },
            { id: 'NO-SUCH-JOB', token: 'x', result: validResult() },
          ],
          { workerId: 'w1', limit: 5 },
        );
        unsubscribe();
        expect(outcomes).toEqual(['recorded', 'stale', 'stale']);
        expect(finished).toEqual([a!.id]);
        expect(claimed).toHaveLength(1);
        expect((await q.get(a!.id))!.status).toBe('succeeded');
        expect((await q.get(b!.id))!.status).toBe('running');
        expect([...(await q.referencedBlobs([sha, 'e'.repeat(64)]))]).toEqual([sha]);
        // A claim of nothing records all the same.
        const late = await q.finishAndClaim([{ id: b!.id, token: b!.token, result: final() }], {
          workerId: 'w1',
          limit: 0,
        });
        expect(late).toEqual({ outcomes: ['recorded'], claimed: [] });
        expect((await q.get(b!.id))!.status).toBe('failed');
      });

      it('finishAndClaim calls in flight at once never record one job twice nor claim one twice', async () => {
        const q = await open();
        const other = await q.harness.connectAgain();
        const total = 80;
        await q.submit(Array.from({ length: total }, () => item()));
        // Two pools on two connections (and two calls in flight per pool), each handing
        // back what it holds, and a copy of the other's last batch: a result recorded
        // twice or a job handed out twice would show below.
        const held: ClaimedJob[][] = [await q.claim({ workerId: 'w0', limit: 4 }), []];
        held[1] = await other.claim({ workerId: 'w1', limit: 4 });
        const taken = [...held[0]!, ...held[1]!].map((j) => j.id);
        let recorded = 0;
        let stale = 0;
        let lastBatch: ClaimedJob[] = [];
        await Promise.all(
          [q, q, other, other].map(async (backend, lane) => {
            const mine = held[lane >> 1]!;
            for (;;) {
              const batch = mine.splice(0, 2);
              if (batch.length === 0) {
                const more = await backend.claim({ workerId: `w${lane >> 1}`, limit: 2 });
                if (more.length === 0) return;
                taken.push(...more.map((j) => j.id));
                mine.push(...more);
                continue;
              }
              const copy = lastBatch;
              lastBatch = batch;
              const { outcomes, claimed } = await backend.finishAndClaim(
                [...batch, ...copy].map((j) => ({
                  id: j.id,
                  token: j.token,
                  result: validResult(),
                })),
                { workerId: `w${lane >> 1}`, limit: 2 },
              );
              recorded += outcomes.slice(0, batch.length).filter((o) => o === 'recorded').length;
              stale += outcomes.slice(0, batch.length).filter((o) => o === 'stale').length;
              taken.push(...claimed.map((j) => j.id));
              mine.push(...claimed);
            }
          }),
        );
        expect(new Set(taken).size).toBe(total);
        expect(taken).toHaveLength(total);
        // A batch's own jobs are recorded by it unless a copy in another batch got there first.
        expect(recorded + stale).toBe(total);
        expect(await q.counts()).toMatchObject({ succeeded: total, running: 0, queued: 0 });
      });
    });

    describe('leases', () => {
      it('heartbeat renews live leases, reports lost tokens and cancel requests', async () => {
        const q = await open();
        await q.submit([item(), item()]);
        const [a, b] = await q.claim({ workerId: 'w1', limit: 2 });
        await q.cancel(b!.id);
        const outcome = await q.heartbeat('w1', [
          { id: a!.id, token: a!.token },
          { id: b!.id, token: b!.token },
          { id: a!.id, token: 'forged' },
          { id: 'NO-SUCH-JOB', token: 'x' },
        ]);
        expect(outcome.held).toEqual([a!.id, b!.id]);
        expect(outcome.cancelRequested).toEqual([b!.id]);
        expect(outcome.lost).toEqual([a!.id, 'NO-SUCH-JOB']);
      });

      it('reaps an expired lease: requeued as WorkerLost, the old token stale everywhere', async () => {
        const q = await open({ lease: { heartbeatMs: 100, expiryMs: SHORT } });
        await q.submit([item({ maxAttempts: 2 })]);
        const job = await claimOne(q);
        expect(await q.reap()).toEqual({ requeued: [], failed: [], cancelled: [] });
        await sleep(PAST_SHORT);
        expect(await q.reap()).toEqual({ requeued: [job.id], failed: [], cancelled: [] });
        expect(await q.get(job.id)).toMatchObject({
          status: 'queued',
          errorType: 'WorkerLost',
          leaseOwner: null,
        });
        expect((await q.heartbeat('w1', [job])).lost).toEqual([job.id]);
        expect(await q.finish([{ id: job.id, token: job.token, result: validResult() }])).toEqual([
          'stale',
        ]);
        expect(await q.release([job], 'late')).toEqual([]);
        // The last attempt lost ends the job.
        const second = await claimOne(q, 'w2');
        await sleep(PAST_SHORT);
        expect(await q.reap()).toEqual({ requeued: [], failed: [second.id], cancelled: [] });
        expect((await q.get(second.id))!.status).toBe('failed');
      });

      it('a heartbeat keeps a lease alive past its expiry; `keep` spares a held job', async () => {
        const q = await open({ lease: { heartbeatMs: 100, expiryMs: SHORT } });
        await q.submit([item(), item()]);
        const [beating, kept] = await q.claim({ workerId: 'w1', limit: 2 });
        for (let t = 0; t < PAST_SHORT; t += SHORT / 3) {
          await sleep(SHORT / 3);
          await q.heartbeat('w1', [beating!]);
        }
        expect(await q.reap(new Set([kept!.id]))).toEqual({
          requeued: [],
          failed: [],
          cancelled: [],
        });
        expect(await q.reap()).toEqual({ requeued: [kept!.id], failed: [], cancelled: [] });
      });

      it('a lost job with a cancel request ends cancelled, not requeued', async () => {
        const q = await open({ lease: { heartbeatMs: 100, expiryMs: SHORT } });
        await q.submit([item()]);
        const job = await claimOne(q);
        await q.cancel(job.id);
        await sleep(PAST_SHORT);
        expect(await q.reap()).toEqual({ requeued: [], failed: [], cancelled: [job.id] });
        expect(await q.get(job.id)).toMatchObject({ status: 'cancelled', errorType: 'Cancelled' });
      });

      it('release gives a job back at once without a failure; the attempt keeps its number', async () => {
        const q = await open();
        await q.submit([item(), item()]);
        const [a, b] = await q.claim({ workerId: 'w1', limit: 2 });
        await q.cancel(b!.id);
        expect(
          (await q.release([a!, b!, { id: a!.id, token: 'forged' }], 'drained')).sort(),
        ).toEqual([a!.id, b!.id].sort());
        expect(await q.get(a!.id)).toMatchObject({
          status: 'queued',
          attempts: 1,
          releasedAttempts: 1,
          errorType: null,
        });
        expect(await q.get(b!.id)).toMatchObject({
          status: 'cancelled',
          errorType: 'Cancelled',
          releasedAttempts: 0,
        });
        expect((await claimOne(q)).attempt).toBe(2);
      });

      it('an attempt given back by a drain does not count against max_attempts', async () => {
        const q = await open({ lease: { heartbeatMs: 100, expiryMs: SHORT } });
        const [out] = await q.submit([item({ maxAttempts: 2 })]);
        const id = out!.job.id;
        // Given back twice, once by each way a drain does it.
        await q.release([await claimOne(q)], 'drained');
        await claimOne(q, 'drainer');
        await q.requeueOwnedBy('drainer', 'drain');
        // Attempt 3 is the first that counts: a retryable failure leaves one more.
        const third = await claimOne(q);
        expect(third.attempt).toBe(3);
        await q.finish([{ id, token: third.token, result: retryable() }]);
        expect(await q.get(id)).toMatchObject({
          status: 'queued',
          attempts: 3,
          releasedAttempts: 2,
          errorType: 'Internal',
        });
        // The second that counts is lost with its worker: the reaper's last attempt.
        const fourth = await claimOne(q);
        await sleep(PAST_SHORT);
        expect(await q.reap()).toEqual({ requeued: [], failed: [id], cancelled: [] });
        expect(await q.get(id)).toMatchObject({
          status: 'failed',
          attempts: 4,
          releasedAttempts: 2,
          errorType: 'WorkerLost',
        });
        expect((await q.get(id))!.errorMessage).toContain(
          'attempt 4, 2 of 2 counted (2 given back by a drain)',
        );
        expect(fourth.attempt).toBe(4);
      });

      it('adopt takes over a dead owner’s attempt with a new token, and nothing else', async () => {
        const q = await open({ workerDeadMs: WORKER_LIFE });
        await q.registerWorker(worker('alive'));
        await q.registerWorker(worker('doomed'));
        await q.submit([item(), item()]);
        const held = await claimOne(q, 'alive');
        const orphan = await claimOne(q, 'doomed');
        await q.stopWorker('doomed');
        expect(await q.adopt({ jobId: held.id, attempt: 1, workerId: 'new' })).toBeNull();
        expect(await q.adopt({ jobId: orphan.id, attempt: 2, workerId: 'new' })).toBeNull();
        const adopted = await q.adopt({ jobId: orphan.id, attempt: 1, workerId: 'new' });
        expect(adopted).toMatchObject({ id: orphan.id, attempt: 1 });
        expect(adopted!.token).not.toBe(orphan.token);
        expect(adopted!.runAt).toBeUndefined();
        expect(await q.finish([{ id: orphan.id, token: orphan.token, result: final() }])).toEqual([
          'stale',
        ]);
        expect((await q.get(orphan.id))!.leaseOwner).toBe('new');
        // A silent owner dies by the clock too.
        await sleep(PAST_WORKER_LIFE);
        expect(await q.adopt({ jobId: held.id, attempt: 1, workerId: 'new' })).not.toBeNull();
      });

      it('requeueOwnedBy: drain without penalty, lost as WorkerLost; dead owners all at once', async () => {
        const q = await open();
        await q.registerWorker(worker('live'));
        await q.submit([item(), item(), item(), item()]);
        const drained = await claimOne(q, 'drainer');
        const lost = await claimOne(q, 'crashed');
        const ghost = await claimOne(q, 'ghost');
        const live = await claimOne(q, 'live');
        expect(await q.requeueOwnedBy('drainer', 'drain')).toEqual({
          requeued: [drained.id],
          failed: [],
          cancelled: [],
        });
        expect(await q.get(drained.id)).toMatchObject({ status: 'queued', errorType: null });
        expect((await q.requeueOwnedBy('crashed', 'lost')).requeued).toEqual([lost.id]);
        expect(await q.get(lost.id)).toMatchObject({ status: 'queued', errorType: 'WorkerLost' });
        expect((await q.requeueOwnedByDeadWorkers()).requeued).toEqual([ghost.id]);
        expect((await q.runningJobs()).map((j) => [j.id, j.owner, j.attempt])).toEqual([
          [live.id, 'live', 1],
        ]);
      });

      it('the reaper fails a job reserved for a worker that is gone', async () => {
        const q = await open({ workerDeadMs: WORKER_LIFE });
        await q.registerWorker(worker('run-process'));
        const [out] = await q.submit([item({ reservedFor: 'run-process' })]);
        expect((await q.reap()).failed).toEqual([]);
        await sleep(PAST_WORKER_LIFE);
        expect((await q.reap()).failed).toEqual([out!.job.id]);
        expect(await q.get(out!.job.id)).toMatchObject({
          status: 'failed',
          errorType: 'WorkerLost',
        });
      });
    });

    describe('cancel', () => {
      it('cancels a queued job, requests a running one (repeatably), leaves a final one', async () => {
        const q = await open();
        const [queued, running] = await q.submit([item({ priority: 1 }), item()]);
        await claimOne(q);
        expect(await q.cancel(queued!.job.id)).toMatchObject({
          outcome: 'cancelled',
          job: { status: 'cancelled', errorType: 'Cancelled' },
        });
        expect(await q.cancel(running!.job.id)).toMatchObject({
          outcome: 'requested',
          job: { status: 'running', cancelRequested: true },
        });
        expect((await q.cancel(running!.job.id))!.outcome).toBe('requested');
        expect((await q.cancel(queued!.job.id))!.outcome).toBe('already-final');
        expect(await q.cancel('01JZZZZZZZZZZZZZZZZZZZZZZZ')).toBeNull();
        // A cancelled job is never claimed.
        expect(await q.claim({ workerId: 'w2', limit: 5 })).toEqual([]);
      });

      it('ends a success recorded after its cancel was accepted cancelled, outputs kept, by finish and finishAndClaim', async () => {
        const q = await open();
        const [a, b, plain] = await q.submit([item(), item(), item()]);
        const claimed = await q.claim({ workerId: 'w1', limit: 3 });
        const token = (id: string) => claimed.find((c) => c.id === id)!.token;
        const sha = 'c'.repeat(64);
        const success: JobResult = {
          ...validResult(),
          outputs: [
            {
              path: 'o',
              type: 'file',
              size: 1,
              sha256: sha,
              compressed_size: 1,
              link_target: null,
            },
          ],
        };
        for (const job of [a!, b!]) {
          expect((await q.cancel(job.job.id))!.outcome).toBe('requested');
        }
        // 'cancelled': recorded, and the pool is told the job ended cancelled.
        expect(
          await q.finish([{ id: a!.job.id, token: token(a!.job.id), result: success }]),
        ).toEqual(['cancelled']);
        const { outcomes } = await q.finishAndClaim(
          [
            { id: b!.job.id, token: token(b!.job.id), result: success },
            { id: plain!.job.id, token: token(plain!.job.id), result: success },
          ],
          { workerId: 'w1', limit: 0 },
        );
        expect(outcomes).toEqual(['cancelled', 'recorded']);
        for (const job of [a!, b!]) {
          const now = await q.get(job.job.id);
          expect(now).toMatchObject({
            status: 'cancelled',
            errorType: 'Cancelled',
            errorMessage:
              'cancelled after it exited with code 0, while its outputs were collected; ' +
              'its logs and outputs are kept',
          });
          expect(now!.result!.error).toMatchObject({ type: 'Cancelled' });
          expect(now!.result!.outputs.map((o) => o.sha256)).toEqual([sha]);
        }
        expect((await q.get(plain!.job.id))!.status).toBe('succeeded');
        expect(await q.referencedBlobs([sha])).toEqual(new Set([sha]));
      });

      it('ends a job whose attempt failed on its own while its cancel was pending as Cancelled', async () => {
        const q = await open();
        const [out] = await q.submit([item({ maxAttempts: 3, retryOnExitCodes: [3] })]);
        const claimed = await claimOne(q);
        await q.cancel(out!.job.id);
        expect(await q.finish([{ id: claimed.id, token: claimed.token, result: final() }])).toEqual(
          ['cancelled'],
        );
        const job = await q.get(out!.job.id);
        expect(job).toMatchObject({ status: 'cancelled', errorType: 'Cancelled', attempts: 1 });
        expect(job!.errorMessage).toBe(
          'cancelled; its last attempt had ended on its own (NonZeroExit: exit 3) and was not retried',
        );
        expect(job!.result!.error!.type).toBe('NonZeroExit');
      });

      it('says a job waiting for its retry ran before, not that it never did', async () => {
        const q = await open();
        await q.submit([item({ maxAttempts: 3 })]);
        const claimed = await claimOne(q);
        await q.finish([{ id: claimed.id, token: claimed.token, result: retryable() }]);
        expect(await q.get(claimed.id)).toMatchObject({ status: 'queued', attempts: 1 });
        const { job } = (await q.cancel(claimed.id))!;
        expect(job).toMatchObject({ status: 'cancelled', errorType: 'Cancelled' });
        expect(job.errorMessage).toBe('cancelled while queued to run again, after 1 attempt(s)');
      });
    });

    describe('reads', () => {
      it('statusOf answers the status alone, as get has it, or null for an unknown id', async () => {
        const q = await open();
        const [queued, running] = await q.submit([item({ priority: 1 }), item({ priority: 0 })]);
        await claimOne(q);
        expect(await q.statusOf(queued!.job.id)).toBe('queued');
        expect(await q.statusOf(running!.job.id)).toBe('running');
        await q.cancel(queued!.job.id);
        expect(await q.statusOf(queued!.job.id)).toBe((await q.get(queued!.job.id))!.status);
        expect(await q.statusOf(queued!.job.id)).toBe('cancelled');
        expect(await q.statusOf('01JZZZZZZZZZZZZZZZZZZZZZZZ')).toBeNull();
      });

      it('lists newest first, by status, in stable pages', async () => {
        const q = await open();
        const outs = await q.submit(Array.from({ length: 5 }, () => item()));
        const ids = outs.map((o) => o.job.id);
        await claimOne(q);
        const page1 = await q.list({ limit: 2 });
        expect(page1.jobs.map((j) => j.id)).toEqual([ids[4], ids[3]]);
        await q.submit([item()]); // arrives meanwhile; later pages do not shift
        const page2 = await q.list({ limit: 2, cursor: page1.nextCursor });
        expect(page2.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
        const page3 = await q.list({ limit: 2, cursor: page2.nextCursor });
        expect(page3).toEqual({
          jobs: [expect.objectContaining({ id: ids[0] })],
          nextCursor: null,
        });
        expect((await q.list({ status: 'running' })).jobs.map((j) => j.id)).toEqual([ids[0]]);
        await expect(q.list({ status: 'bogus' as never })).rejects.toMatchObject({
          type: 'InvalidSpec',
          field: 'status',
        });
        expect(await q.get('01JZZZZZZZZZZZZZZZZZZZZZZZ')).toBeNull();
        expect(await q.counts()).toEqual({
          queued: 5,
          running: 1,
          succeeded: 0,
          failed: 0,
          cancelled: 0,
        });
      });

      it('counts the last hour by minute for the dashboard: submitted, dequeued, finished, depth', async () => {
        const q = await open();
        const outs = await q.submit(Array.from({ length: 4 }, () => item()));
        const done = await claimOne(q);
        await q.finish([{ id: done.id, token: done.token, result: final() }]);
        await claimOne(q);
        expect(await q.cancel(outs[3]!.job.id)).toBeTruthy();
        const buckets = await q.activity();
        expect(buckets).toHaveLength(60);
        for (let i = 1; i < buckets.length; i++) {
          expect(buckets[i]!.start - buckets[i - 1]!.start).toBe(60_000);
        }
        const sum = (k: 'submitted' | 'dequeued' | 'succeeded' | 'failed' | 'cancelled') =>
          buckets.reduce((n, b) => n + b[k], 0);
        // A minute boundary may fall between the calls: totals over the hour are exact.
        expect(sum('submitted')).toBe(4);
        expect(sum('dequeued')).toBe(3); // two started, one cancelled while queued
        expect(sum('succeeded') + sum('failed')).toBe(1);
        expect(sum('cancelled')).toBe(1);
        expect(buckets.at(-1)!.queued).toBe(1);
      });

      it('names a database id that every connection shares', async () => {
        const q = await open();
        const other = await q.harness.connectAgain();
        expect(q.databaseId).toMatch(/\S{8,}/);
        expect(other.databaseId).toBe(q.databaseId);
        expect(typeof q.capabilities.groupCommit).toBe('boolean');
      });
    });

    describe('workers', () => {
      it('registers, judges alive by heartbeat, stops, and deletes after retention', async () => {
        const q = await open({ workerDeadMs: WORKER_LIFE, workerRetentionMs: WORKER_LIFE });
        await q.registerWorker(worker('w-live'));
        await q.registerWorker(worker('w-silent'));
        await q.registerWorker(worker('w-stopped'));
        await q.registerWorker(worker('w-live')); // idempotent
        await q.stopWorker('w-stopped');
        expect(await q.heartbeatWorker('w-stopped')).toBe(false);
        expect(await q.heartbeatWorker('nobody')).toBe(false);
        expect(await q.isWorkerAlive('w-live')).toBe(true);
        expect(await q.isWorkerAlive('w-stopped')).toBe(false);
        expect(await q.isWorkerAlive(null)).toBe(false);
        for (let t = 0; t < PAST_WORKER_LIFE; t += SHORT / 3) {
          await sleep(SHORT / 3);
          expect(await q.heartbeatWorker('w-live')).toBe(true);
        }
        const states = Object.fromEntries(
          (await q.listWorkers()).map((w) => [w.id, w.alive ? 'alive' : 'dead']),
        );
        expect(states).toEqual({ 'w-live': 'alive', 'w-silent': 'dead', 'w-stopped': 'dead' });
        expect(await q.deleteDeadWorkers()).toBe(2);
        expect((await q.listWorkers()).map((w) => w.id)).toEqual(['w-live']);
      });

      it('marks a worker whose process is gone lost: it claims no more, keeps its stop time, and a restart clears it', async () => {
        const q = await open();
        await q.registerWorker(worker('w-gone'));
        await q.registerWorker(worker('w-stopped'));
        await q.stopWorker('w-stopped');
        await q.markWorkerLost('w-gone');
        // A stopped worker stays stopped: only a running one can be found lost.
        await q.markWorkerLost('w-stopped');
        expect(await q.heartbeatWorker('w-gone')).toBe(false);
        expect(await q.isWorkerAlive('w-gone')).toBe(false);
        const byId = new Map((await q.listWorkers()).map((w) => [w.id, w]));
        expect(byId.get('w-gone')).toMatchObject({ alive: false, lost: true });
        expect(byId.get('w-gone')!.stoppedAt).not.toBeNull();
        expect(byId.get('w-stopped')).toMatchObject({ alive: false, lost: false });
        await q.registerWorker(worker('w-gone'));
        expect((await q.listWorkers()).find((w) => w.id === 'w-gone')).toMatchObject({
          alive: true,
          lost: false,
          stoppedAt: null,
        });
      });

      it('refuses an incompatible worker with ContractMismatch and writes nothing', async () => {
        const q = await open();
        const stale = { ...CURRENT_CONTRACT, version: '99.0.0', fingerprint: 'e'.repeat(64) };
        await expect(q.registerWorker(worker('old', stale))).rejects.toMatchObject({
          type: 'ContractMismatch',
        });
        expect(await q.listWorkers()).toEqual([]);
      });
    });

    describe('retention', () => {
      it('deletes finished jobs past retention, oldest first, in batches, and names blobs no job uses', async () => {
        const q = await open({ jobRetentionMs: SHORT });
        const [x, y] = ['1', '2'].map((c) => c.repeat(64));
        await q.submit([item(), item(), item(), item()]);
        const [a, b, c, d] = await q.claim({ workerId: 'w1', limit: 4 });
        await q.finish([{ id: a!.id, token: a!.token, result: validResult(), blobs: [x!] }]);
        await q.finish([{ id: b!.id, token: b!.token, result: validResult(), blobs: [x!, y!] }]);
        await q.finish([{ id: c!.id, token: c!.token, result: final() }]);
        expect(await q.deleteExpiredJobs()).toEqual({ jobIds: [], unreferencedBlobs: [] });
        await sleep(PAST_SHORT);
        // d is still running: retention never touches a job that has not ended.
        const first = await q.deleteExpiredJobs(1);
        expect(first.jobIds).toEqual([a!.id]);
        expect(first.unreferencedBlobs).toEqual([]); // b still refers to x
        const rest = await q.deleteExpiredJobs(10);
        expect(rest.jobIds.sort()).toEqual([b!.id, c!.id].sort());
        expect(rest.unreferencedBlobs.sort()).toEqual([x, y].sort());
        expect(await q.get(a!.id)).toBeNull();
        expect((await q.get(d!.id))!.status).toBe('running');
        expect((await q.referencedBlobs([x!, y!])).size).toBe(0);
      });

      it('keeps everything when jobRetentionMs is 0', async () => {
        const q = await open({ jobRetentionMs: 0 });
        await q.submit([item()]);
        const job = await claimOne(q);
        await q.finish([{ id: job.id, token: job.token, result: validResult() }]);
        await sleep(50);
        expect(await q.deleteExpiredJobs()).toEqual({ jobIds: [], unreferencedBlobs: [] });
      });
    });
  });
}
