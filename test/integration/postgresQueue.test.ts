import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CURRENT_CONTRACT, type ContractDescriptor } from '../../src/contract/contract.js';
import type { JobResult } from '../../src/contract/resultSchema.js';
import { RunboxError } from '../../src/errors/index.js';
import { createLogger } from '../../src/log.js';
import { inspectPgDatabase } from '../../src/queue/postgres/inspect.js';
import { compileNamed } from '../../src/queue/postgres/named.js';
import { PostgresQueue, type PostgresQueueConfig } from '../../src/queue/postgres/PostgresQueue.js';
import type { EnqueueItem } from '../../src/queue/types.js';
import {
  freshDatabase,
  PG_QUEUE_CONFIG as CONFIG,
  sqlOn,
  type TestDatabase,
} from '../helpers/postgres.js';
import { validResult } from '../helpers/results.js';
import { PG_LATEST_SCHEMA_VERSION } from '../../src/queue/postgres/migrations/index.js';

const item = (over: Partial<EnqueueItem> = {}): EnqueueItem => ({
  spec: { runtime: 'shell', command: ['true'] },
  maxAttempts: 3,
  ...over,
});
const failed = (type: string): JobResult => ({
  ...validResult(),
  exit_code: null,
  error: { type: type as 'Internal', message: `${type} happened`, field: null },
});
const newerBuild: ContractDescriptor = {
  ...CURRENT_CONTRACT,
  version: '1.99.0',
  fingerprint: 'f'.repeat(64),
};

const databases: TestDatabase[] = [];
const queues: PostgresQueue[] = [];
async function freshQueue(
  config: Partial<PostgresQueueConfig> = {},
  options: Parameters<typeof PostgresQueue.open>[2] = {},
): Promise<{ queue: PostgresQueue; db: TestDatabase }> {
  const db = await freshDatabase();
  databases.push(db);
  const queue = await PostgresQueue.open(db.url, { ...CONFIG, ...config }, options);
  queues.push(queue);
  return { queue, db };
}
async function another(
  db: TestDatabase,
  config: Partial<PostgresQueueConfig> = {},
  options: Parameters<typeof PostgresQueue.open>[2] = {},
): Promise<PostgresQueue> {
  const queue = await PostgresQueue.open(db.url, { ...CONFIG, ...config }, options);
  queues.push(queue);
  return queue;
}
afterAll(async () => {
  for (const queue of queues) await queue.close();
  for (const db of databases) await db.drop();
});

/**
 * workerDeadMs where a worker must still count as alive one query after it spoke: a
 * round trip to PostgreSQL on a loaded 2-core machine can take longer than 200 ms.
 */
const WORKER_LIFE = 1000;
const PAST_WORKER_LIFE = WORKER_LIFE + 300;

function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not met in time'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe('named parameters', () => {
  it('numbers each distinct name once and leaves casts and literals alone', () => {
    const q = compileNamed("SELECT :a::int, ':b', \"x:c\", :b, :a, now() + :ms * interval '1 ms'");
    expect(q.text).toBe("SELECT $1::int, ':b', \"x:c\", $2, $1, now() + $3 * interval '1 ms'");
    expect(q.names).toEqual(['a', 'b', 'ms']);
  });
});

describe('opening a PostgreSQL queue', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
    databases.push(db);
  });

  it('migrates once when five nodes open a fresh database at the same moment', async () => {
    const opened = await Promise.all(
      [1, 2, 3, 4, 5].map(() => PostgresQueue.open(db.url, CONFIG, { listen: false })),
    );
    queues.push(...opened);
    expect(new Set(opened.map((q) => q.databaseId)).size).toBe(1);
    expect(opened[0]!.databaseId).toMatch(/^[0-9a-f]{16}$/);
    const meta = await sqlOn<{ key: string; value: string }>(
      db.url,
      'SELECT key, value FROM runbox.meta ORDER BY key',
    );
    expect(Object.fromEntries(meta.map((r) => [r.key, r.value]))).toMatchObject({
      schema_version: String(PG_LATEST_SCHEMA_VERSION),
      contract_version: CURRENT_CONTRACT.version,
      contract_fingerprint: CURRENT_CONTRACT.fingerprint,
      contract_generation: '1',
    });
  });

  it('refuses a build whose contract the stamp rules out, writing nothing (exit 78 material)', async () => {
    const other: ContractDescriptor = { ...CURRENT_CONTRACT, version: '2.0.0' };
    const error = await PostgresQueue.open(db.url, CONFIG, { contract: other }).catch((e) => e);
    expect(error).toBeInstanceOf(RunboxError);
    expect((error as RunboxError).type).toBe('ContractMismatch');
    expect((error as RunboxError).message).toContain('major version differs');
    expect((error as RunboxError).message).not.toContain('@');
    const [row] = await sqlOn<{ value: string }>(
      db.url,
      "SELECT value FROM runbox.meta WHERE key = 'contract_version'",
    );
    expect(row!.value).toBe(CURRENT_CONTRACT.version);
  });

  it('refuses a schema newer than this build knows', async () => {
    const fresh = await freshDatabase();
    databases.push(fresh);
    await (await PostgresQueue.open(fresh.url, CONFIG, { listen: false })).close();
    await sqlOn(fresh.url, "UPDATE runbox.meta SET value = '999' WHERE key = 'schema_version'");
    const error = await PostgresQueue.open(fresh.url, CONFIG).catch((e) => e);
    expect((error as RunboxError).type).toBe('SchemaTooNew');
  });
});

describe('doctor on a PostgreSQL queue', () => {
  it('reads the schema and stamp without creating anything, and names an unreachable server without its password', async () => {
    const fresh = await freshDatabase();
    databases.push(fresh);
    expect(await inspectPgDatabase(fresh.url)).toMatchObject({ schemaVersion: 0, contract: null });
    const tables = await sqlOn(fresh.url, "SELECT 1 FROM pg_namespace WHERE nspname = 'runbox'");
    expect(tables).toHaveLength(0);
    await (await PostgresQueue.open(fresh.url, CONFIG, { listen: false })).close();
    expect(await inspectPgDatabase(fresh.url)).toMatchObject({
      schemaVersion: PG_LATEST_SCHEMA_VERSION,
      contract: { version: CURRENT_CONTRACT.version },
    });
    const error = await inspectPgDatabase('postgres://u:hunter2@127.0.0.1:1/x').catch((e) => e);
    expect((error as Error).message).toMatch(/127\.0\.0\.1:1\/x does not answer/);
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('jobs on PostgreSQL', () => {
  it('stores a batch with the database clock and returns a key sent again as the same job', async () => {
    const { queue, db } = await freshQueue();
    const before = Number(
      (
        await sqlOn<{ t: string }>(db.url, 'SELECT (extract(epoch FROM now()) * 1000)::bigint AS t')
      )[0]!.t,
    );
    // One call naming a key twice is refused (the conformance suite checks how).
    const out = await queue.submit([
      item({ idempotencyKey: 'k1', requestHash: 'h1', priority: 2 }),
      item({ idempotencyKey: 'k2', requestHash: 'h1' }),
      item({ spec: { name: 'ünïcødé ✓ 日本', env: { A: 'x\u0000y' } } }),
    ]);
    expect(out.map((o) => o.created)).toEqual([true, true, true]);
    expect(out[0]!.job).toMatchObject({ status: 'queued', priority: 2, attempts: 0 });
    expect(out[0]!.job.createdAt).toBeGreaterThanOrEqual(before - 5);
    expect(out[0]!.job.runAt).toBe(out[0]!.job.createdAt);
    const again = await queue.submit([item({ idempotencyKey: 'k1', requestHash: 'h1' })]);
    expect(again[0]).toMatchObject({ created: false, job: { id: out[0]!.job.id } });
    const conflict = await queue
      .submit([item(), item({ idempotencyKey: 'k1', requestHash: 'other' })])
      .catch((e) => e);
    expect((conflict as RunboxError).type).toBe('Conflict');
    // The whole call was refused: its first item is not stored either.
    expect((await queue.counts()).queued).toBe(3);
    expect((await queue.get(out[2]!.job.id))!.spec).toEqual({
      name: 'ünïcødé ✓ 日本',
      env: { A: 'x\u0000y' },
    });
  });

  it('answers a submit with each job exactly as reading it back gives it', async () => {
    const { queue } = await freshQueue();
    const outcomes = await queue.submit([
      item(),
      item({
        spec: {
          runtime: 'shell',
          command: ['printf', 'é名🎉 "q" \\ \u0000 \u001e'],
          env: { '': '' },
        },
        queue: 'gpu.2_x-y',
        priority: -3,
        runAt: Date.now() + 60_000.7,
        maxAttempts: 9,
        retryOnExitCodes: [1, 255, -0],
        idempotencyKey: 'k-é',
        requestHash: 'h1',
      }),
      item({ reservedFor: null, retryOnExitCodes: [] }),
    ]);
    expect(outcomes.map((o) => o.created)).toEqual([true, true, true]);
    for (const { job } of outcomes) expect(job).toEqual(await queue.get(job.id));
    // Sent again: the stored job, read from the database this time.
    const [again] = await queue.submit([item({ idempotencyKey: 'k-é', requestHash: 'h1' })]);
    expect(again).toEqual({ job: outcomes[1]!.job, created: false });
  });

  it('gives two nodes submitting one idempotency key at once the same single job', async () => {
    const { queue, db } = await freshQueue();
    const other = await another(db);
    const outs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? queue : other).submit([item({ idempotencyKey: 'race', requestHash: 'h' })]),
      ),
    );
    expect(new Set(outs.map((o) => o[0]!.job.id)).size).toBe(1);
    expect(outs.filter((o) => o[0]!.created)).toHaveLength(1);
  });

  it('claims by priority, then run_at, then id, and not before run_at by the database clock', async () => {
    const { queue } = await freshQueue();
    const far = Date.now() + 3_600_000;
    const [low, high, later, future] = await queue.submit([
      item({ priority: 5 }),
      item({ priority: 1 }),
      item({ priority: 5 }),
      item({ priority: 0, runAt: far }),
    ]);
    const claimed = await queue.claim({ workerId: 'w1', limit: 10 });
    expect(claimed.map((c) => c.id)).toEqual([high!.job.id, low!.job.id, later!.job.id]);
    expect(claimed[0]).toMatchObject({ attempt: 1, maxAttempts: 3 });
    expect(claimed[0]!.token).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(claimed.map((c) => c.token)).size).toBe(3);
    expect((await queue.get(future!.job.id))!.status).toBe('queued');
  });

  it('never hands one job to two nodes claiming at the same time (SKIP LOCKED)', async () => {
    const { queue, db } = await freshQueue();
    const nodes = [queue, await another(db), await another(db)];
    await queue.submit(Array.from({ length: 300 }, () => item()));
    const taken: string[] = [];
    await Promise.all(
      nodes.map(async (node, n) => {
        for (;;) {
          const jobs = await node.claim({ workerId: `w${n}`, limit: 7 });
          if (jobs.length === 0) return;
          taken.push(...jobs.map((j) => j.id));
        }
      }),
    );
    expect(taken).toHaveLength(300);
    expect(new Set(taken).size).toBe(300);
  });

  it('renews leases, reports cancel requests, and tells a stale token it lost the job', async () => {
    const { queue } = await freshQueue();
    await queue.submit([item(), item()]);
    const [a, b] = await queue.claim({ workerId: 'w1', limit: 2 });
    const before = (await queue.get(a!.id))!.leaseExpiresAt!;
    await new Promise((r) => setTimeout(r, 20));
    expect((await queue.cancel(b!.id))!.outcome).toBe('requested');
    const beat = await queue.heartbeat('w1', [
      { id: a!.id, token: a!.token },
      { id: b!.id, token: b!.token },
      { id: a!.id, token: 'not-a-uuid' },
    ]);
    expect(beat.held.sort()).toEqual([a!.id, b!.id].sort());
    expect(beat.cancelRequested).toEqual([b!.id]);
    expect(beat.lost).toEqual([a!.id]);
    expect((await queue.get(a!.id))!.leaseExpiresAt!).toBeGreaterThan(before);
  });

  it('records many results in one transaction, retries infrastructure errors, refuses stale tokens', async () => {
    const { queue } = await freshQueue();
    await queue.submit([item(), item(), item({ maxAttempts: 1 })]);
    const [ok, retry, last] = await queue.claim({ workerId: 'w1', limit: 3 });
    const blob = 'a'.repeat(64);
    const outcomes = await queue.finish([
      {
        id: ok!.id,
        token: ok!.token,
        result: { ...validResult(), stdout: { bytes: 3, truncated: false, blob } },
      },
      { id: retry!.id, token: retry!.token, result: failed('WorkerLost') },
      { id: last!.id, token: last!.token, result: failed('Internal') },
      { id: ok!.id, token: 'stale', result: validResult() },
    ]);
    expect(outcomes).toEqual(['recorded', 'recorded', 'recorded', 'stale']);
    expect(await queue.get(ok!.id)).toMatchObject({
      status: 'succeeded',
      contractVersion: CURRENT_CONTRACT.version,
      leaseOwner: null,
    });
    const retried = (await queue.get(retry!.id))!;
    expect(retried).toMatchObject({ status: 'queued', errorType: 'WorkerLost', attempts: 1 });
    expect(retried.runAt).toBeGreaterThanOrEqual(retried.updatedAt);
    expect(await queue.get(last!.id)).toMatchObject({ status: 'failed', errorType: 'Internal' });
    expect(await queue.referencedBlobs([blob, 'b'.repeat(64)])).toEqual(new Set([blob]));
    // A second result for the finished attempt is stale.
    expect(await queue.finish([{ id: ok!.id, token: ok!.token, result: validResult() }])).toEqual([
      'stale',
    ]);
  });

  it('finishes and claims the next job in one transaction', async () => {
    const { queue } = await freshQueue();
    await queue.submit([item(), item()]);
    const [first] = await queue.claim({ workerId: 'w1', limit: 1 });
    const answer = await queue.finishAndClaim(
      [{ id: first!.id, token: first!.token, result: validResult() }],
      { workerId: 'w1', limit: 2 },
    );
    expect(answer.outcomes).toEqual(['recorded']);
    expect(answer.claimed).toHaveLength(1);
    expect(answer.claimed[0]!.id).not.toBe(first!.id);
  });

  it('finishes 300 successes and claims 300 in one statement, each once, a stale token stale', async () => {
    const { queue } = await freshQueue();
    await queue.submit(Array.from({ length: 600 }, () => item()));
    const held = await queue.claim({ workerId: 'w1', limit: 300 });
    expect(held).toHaveLength(300);
    const items = held.map((j) => ({ id: j.id, token: j.token, result: validResult() }));
    // An old token of the first job beside its live one: only the live one counts.
    items.push({ id: held[0]!.id, token: 'not-the-token', result: validResult() });
    const answer = await queue.finishAndClaim(items, { workerId: 'w1', limit: 300 });
    expect(answer.outcomes.filter((o) => o === 'recorded')).toHaveLength(300);
    expect(answer.outcomes.at(-1)).toBe('stale');
    expect(answer.claimed).toHaveLength(300);
    const ids = new Set([...held, ...answer.claimed].map((j) => j.id));
    expect(ids.size).toBe(600);
    expect(queue.stats).toEqual({ fastRetries: 0, fastFallbacks: 0 });
    expect(await queue.counts()).toMatchObject({ succeeded: 300, running: 300, queued: 0 });
  });

  it('hands over jobs claimed with results exactly as a claim does: same fields, same order', async () => {
    const { queue, db } = await freshQueue();
    const other = await another(db);
    const past = Date.now() - 60_000;
    const specs = [
      { runtime: 'shell', command: ['true'] },
      { runtime: 'shell', command: ['echo', 'é名 "q" \\ \u001e'], env: { A: '' } },
    ];
    // Two databases' worth of the same jobs: one drained by claim, one by finishAndClaim.
    const batch = [
      item({ priority: 5, spec: specs[0] }),
      item({ priority: 1, runAt: past + 0.4, spec: specs[1] }),
      item({ priority: 1, runAt: past, maxAttempts: 7 }),
      item({ priority: 5, queue: 'default' }),
      item({ priority: 0, runAt: Date.now() + 3_600_000 }),
    ];
    await queue.submit([item({ priority: -1 }), ...batch]);
    const [first] = await queue.claim({ workerId: 'w1', limit: 1 });
    const answer = await queue.finishAndClaim(
      [{ id: first!.id, token: first!.token, result: validResult() }],
      { workerId: 'w1', limit: 10 },
    );
    expect(answer.outcomes).toEqual(['recorded']);
    expect(queue.stats).toEqual({ fastRetries: 0, fastFallbacks: 0 });
    const { queue: plain } = await freshQueue();
    await plain.submit(batch);
    const claimed = await plain.claim({ workerId: 'w1', limit: 10 });
    expect(answer.claimed).toHaveLength(4);
    // Ids and tokens differ between the two databases; everything else must match.
    const shape = (jobs: typeof claimed) =>
      jobs.map(({ id: _id, token, leaseExpiresAt, runAt, ...rest }) => ({
        ...rest,
        token: typeof token,
        lease: typeof leaseExpiresAt,
        runAt: typeof runAt,
      }));
    expect(shape(answer.claimed)).toEqual(shape(claimed));
    for (const job of answer.claimed) {
      const record = await other.get(job.id);
      expect(record).toMatchObject({ status: 'running', attempts: 1 });
      expect(job.leaseExpiresAt).toBe(record!.leaseExpiresAt);
      expect(job.runAt).toBe(record!.runAt);
      expect(Object.keys(job).sort()).toEqual(Object.keys(claimed[0]!).sort());
    }
  });

  it('records results holding separators, quotes, backslashes, NUL escapes and non-ASCII exactly, in the one statement', async () => {
    const { queue } = await freshQueue();
    await queue.submit([item(), item(), item(), item()]);
    const held = await queue.claim({ workerId: 'w1', limit: 4 });
    // The results travel as one text, RS (U+001E) between them: a result whose strings
    // hold RS, the driver's array syntax or anything else must come back as it went.
    const hostile = ['a\u001eb', '{"x",}\\', 'nul\u0000 tab\t', 'é名🎉', ''];
    const results: JobResult[] = held.map((_, i) => ({
      ...validResult(),
      outputs: hostile.slice(0, i + 1).map((path) => ({
        path,
        type: 'file' as const,
        size: 1,
        sha256: null,
        compressed_size: null,
        link_target: path,
      })),
    }));
    const answer = await queue.finishAndClaim(
      held.map((j, i) => ({ id: j.id, token: j.token, result: results[i]! })),
      { workerId: 'w1', limit: 1 },
    );
    expect(answer.outcomes).toEqual(['recorded', 'recorded', 'recorded', 'recorded']);
    expect(queue.stats).toEqual({ fastRetries: 0, fastFallbacks: 0 });
    for (const [i, job] of held.entries()) {
      expect((await queue.get(job.id))!.result).toEqual(results[i]);
    }
  });

  it('records the results the general way when the one statement fails, and says so', async () => {
    const lines: string[] = [];
    const db = await freshDatabase();
    databases.push(db);
    // The queue's sessions give up on a lock after 300 ms; another session holds the
    // contract stamp row, which every claim reads FOR SHARE: the one statement fails
    // (lock_timeout, not a deadlock), the claim in the transaction's savepoint too.
    await sqlOn(db.url, `ALTER DATABASE "${db.name}" SET lock_timeout = '300ms'`);
    const queue = await another(db, {}, { log: createLogger('warn', (l) => lines.push(l)) });
    await queue.submit([item(), item()]);
    const [first] = await queue.claim({ workerId: 'w1', limit: 1 });
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT 1 FROM runbox.meta WHERE key = 'contract_generation' FOR UPDATE");
      const answer = await queue.finishAndClaim(
        [{ id: first!.id, token: first!.token, result: validResult() }],
        { workerId: 'w1', limit: 1 },
      );
      expect(answer).toEqual({ outcomes: ['recorded'], claimed: [] });
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect(queue.stats.fastFallbacks).toBe(1);
    expect(lines.join('\n')).toMatch(/one-statement finish-and-claim failed \(SQLSTATE 55P03\)/);
    expect((await queue.get(first!.id))?.status).toBe('succeeded');
    expect(await queue.counts()).toMatchObject({ succeeded: 1, queued: 1, running: 0 });
  });

  it('cancels queued jobs at once, requests it of running ones, and leaves final ones', async () => {
    const { queue } = await freshQueue();
    const [q1, r1] = await queue.submit([item({ priority: 9 }), item()]);
    await queue.claim({ workerId: 'w1', limit: 1 });
    expect((await queue.cancel(q1!.job.id))!.outcome).toBe('cancelled');
    expect((await queue.cancel(r1!.job.id))!.outcome).toBe('requested');
    expect((await queue.cancel(q1!.job.id))!.outcome).toBe('already-final');
    expect(await queue.cancel('01NOSUCHJOB000000000000000')).toBeNull();
    expect((await queue.get(q1!.job.id))!.errorType).toBe('Cancelled');
  });

  it('scrubs secret values from the spec when a job ends, also for specs jsonb refuses', async () => {
    const { queue } = await freshQueue();
    const [plain, hostile] = await queue.submit([
      item({ spec: { env: { TOKEN: 's3cret', KEEP: 'v' }, secret_env: ['TOKEN'] } }),
      item({ spec: { env: { TOKEN: 's3cret\u0000', KEEP: '\ud800' }, secret_env: ['TOKEN'] } }),
    ]);
    await queue.cancel(plain!.job.id);
    await queue.cancel(hostile!.job.id);
    expect((await queue.get(plain!.job.id))!.spec).toEqual({
      env: { TOKEN: '[secret]', KEEP: 'v' },
      secret_env: ['TOKEN'],
    });
    const scrubbed = (await queue.get(hostile!.job.id))!.spec as { env: Record<string, string> };
    expect(scrubbed.env.TOKEN).toBe('[secret]');
    expect(JSON.stringify(scrubbed)).not.toContain('s3cret');
  });

  it('reaps an expired lease by the database clock, one reaper at a time', async () => {
    const { queue, db } = await freshQueue({ lease: { heartbeatMs: 50, expiryMs: 150 } });
    const other = await another(db, { lease: { heartbeatMs: 50, expiryMs: 150 } });
    await queue.submit([item(), item({ maxAttempts: 1 })]);
    const [again, spent] = await queue.claim({ workerId: 'w-dead', limit: 2 });
    await new Promise((r) => setTimeout(r, 300));
    const [x, y] = await Promise.all([queue.reap(), other.reap()]);
    const requeued = [...x.requeued, ...y.requeued];
    const failedIds = [...x.failed, ...y.failed];
    expect(requeued).toEqual([again!.id]);
    expect(failedIds).toEqual([spent!.id]);
    expect(await queue.get(again!.id)).toMatchObject({ status: 'queued', errorType: 'WorkerLost' });
    expect(await queue.heartbeat('w-dead', [{ id: again!.id, token: again!.token }])).toMatchObject(
      { lost: [again!.id] },
    );
  });

  it('releases and drains without penalty, and adopts only from a dead owner', async () => {
    const { queue } = await freshQueue();
    await queue.submit([item(), item(), item()]);
    const [a, b, c] = await queue.claim({ workerId: 'w1', limit: 3 });
    expect(
      await queue.release(
        [
          { id: a!.id, token: a!.token },
          { id: b!.id, token: 'x' },
        ],
        'drain',
      ),
    ).toEqual([a!.id]);
    expect(await queue.get(a!.id)).toMatchObject({ status: 'queued', attempts: 1 });
    // w1 never registered: it counts as dead, so its running attempt can be adopted.
    const adopted = await queue.adopt({ jobId: c!.id, attempt: c!.attempt, workerId: 'w2' });
    expect(adopted).toMatchObject({ id: c!.id, attempt: 1 });
    expect(adopted!.token).not.toBe(c!.token);
    expect(await queue.adopt({ jobId: c!.id, attempt: c!.attempt + 1, workerId: 'w3' })).toBeNull();
    await queue.registerWorker({
      id: 'w2',
      host: 'h',
      pid: 1,
      version: '0',
      contract: CURRENT_CONTRACT,
    });
    expect(await queue.adopt({ jobId: c!.id, attempt: c!.attempt, workerId: 'w3' })).toBeNull();
    const drained = await queue.requeueOwnedBy('w1', 'drain');
    expect(drained.requeued).toEqual([b!.id]);
  });

  it('judges workers alive by the database clock and lists them', async () => {
    const { queue } = await freshQueue({ workerDeadMs: WORKER_LIFE });
    await queue.registerWorker({
      id: 'w9',
      host: 'h',
      pid: 2,
      version: '0',
      contract: CURRENT_CONTRACT,
    });
    expect(await queue.isWorkerAlive('w9')).toBe(true);
    await new Promise((r) => setTimeout(r, PAST_WORKER_LIFE));
    expect(await queue.isWorkerAlive('w9')).toBe(false);
    expect(await queue.heartbeatWorker('w9')).toBe(true);
    expect((await queue.listWorkers())[0]).toMatchObject({ id: 'w9', alive: true });
    await queue.stopWorker('w9');
    expect(await queue.heartbeatWorker('w9')).toBe(false);
    const refused = await queue
      .registerWorker({
        id: 'old',
        host: 'h',
        pid: 3,
        version: '0',
        contract: { ...CURRENT_CONTRACT, version: '0.1.0' },
      })
      .catch((e) => e);
    expect((refused as RunboxError).type).toBe('ContractMismatch');
  });
});

describe('named queues and schemas', () => {
  it('claims only from the queues asked for, each up to its own limit', async () => {
    const { queue, db } = await freshQueue();
    const jobs = await queue.submit(Array.from({ length: 6 }, (_, i) => item({ spec: { i } })));
    const gpu = jobs.slice(0, 3).map((o) => o.job.id);
    await sqlOn(db.url, "UPDATE runbox.jobs SET queue = 'gpu' WHERE id = ANY($1)", [gpu]);
    const cpuOnly = await queue.claim({ workerId: 'cpu', limit: 10 });
    expect(cpuOnly.map((j) => j.id).sort()).toEqual(
      jobs
        .slice(3)
        .map((o) => o.job.id)
        .sort(),
    );
    await queue.submit([item()]);
    const mixed = await queue.claim({
      workerId: 'both',
      limit: 10,
      queues: [
        { name: 'gpu', limit: 2 },
        { name: 'default', limit: 5 },
      ],
    });
    expect(mixed.filter((j) => gpu.includes(j.id))).toHaveLength(2);
    expect(mixed).toHaveLength(3);
  });

  it('summarises each queue: depth, running, oldest due, and the live workers serving it', async () => {
    const { queue, db } = await freshQueue();
    const info = { host: 'h', pid: 1, version: '0', contract: CURRENT_CONTRACT };
    await queue.registerWorker({ id: 'cpu1', ...info }, { queues: { default: 4 } });
    await queue.registerWorker({ id: 'gpu1', ...info }, { queues: { default: 1, gpu: 1 } });
    const jobs = await queue.submit([
      item(),
      item(),
      item(),
      item({ runAt: Date.now() + 3_600_000 }),
    ]);
    await sqlOn(db.url, "UPDATE runbox.jobs SET queue = 'gpu' WHERE id = $1", [jobs[0]!.job.id]);
    await queue.claim({ workerId: 'cpu1', limit: 1 });
    const summary = await queue.queues();
    expect(summary.map((q) => q.name)).toEqual(['default', 'gpu']);
    expect(summary[0]).toMatchObject({ queued: 2, running: 1, workers: 2, slots: 5 });
    expect(summary[1]).toMatchObject({ queued: 1, running: 0, workers: 1, slots: 1 });
    expect(summary[1]!.oldestDueAt).toBe(jobs[0]!.job.runAt);
  });

  it('keeps two installations in two schemas of one database apart', async () => {
    const { queue: a, db } = await freshQueue();
    const b = await another(db, {}, { schema: 'runbox_other' });
    expect(b.databaseId).not.toBe(a.databaseId);
    await a.submit([item()]);
    expect(await b.claim({ workerId: 'wb', limit: 5 })).toEqual([]);
    expect(await a.claim({ workerId: 'wa', limit: 5 })).toHaveLength(1);
    const bad = await PostgresQueue.open(db.url, CONFIG, { schema: 'Robert"); DROP' }).catch(
      (e) => e,
    );
    expect((bad as RunboxError).type).toBe('InvalidSpec');
  });

  it("requeues the jobs of a node that stopped heartbeating, on another node's word", async () => {
    const { queue, db } = await freshQueue({ workerDeadMs: WORKER_LIFE });
    const other = await another(db, { workerDeadMs: WORKER_LIFE });
    const info = { host: 'h', pid: 1, version: '0', contract: CURRENT_CONTRACT };
    await queue.registerWorker({ id: 'gone', ...info });
    await queue.registerWorker({ id: 'alive', ...info });
    await queue.submit([item(), item()]);
    const [lost] = await queue.claim({ workerId: 'gone', limit: 1 });
    const [kept] = await queue.claim({ workerId: 'alive', limit: 1 });
    await new Promise((r) => setTimeout(r, PAST_WORKER_LIFE));
    await other.heartbeatWorker('alive');
    const outcome = await other.requeueOwnedByDeadWorkers();
    expect(outcome.requeued).toEqual([lost!.id]);
    expect((await queue.get(kept!.id))!.status).toBe('running');
  });
});

describe('cross-node events and the contract stamp', () => {
  it('announces new, finished and cancelled jobs to every node by NOTIFY', async () => {
    const { queue: a, db } = await freshQueue();
    const b = await another(db);
    const woken: string[] = [];
    const finished: string[] = [];
    const cancels: string[] = [];
    b.onJobs((q) => woken.push(q));
    b.onFinished((ids) => finished.push(...ids));
    b.onCancel((id) => cancels.push(id));
    const [one, two] = await a.submit([item(), item()]);
    await until(() => woken.includes('default'));
    const [c1, c2] = await a.claim({ workerId: 'w1', limit: 2 });
    await a.finish([{ id: c1!.id, token: c1!.token, result: validResult() }]);
    await a.cancel(c2!.id);
    await until(() => finished.includes(c1!.id) && cancels.includes(c2!.id));
    expect([one!.job.id, two!.job.id]).toContain(c1!.id);
  });

  it('listens again after its connection is cut, and wakes claimers for what it missed', async () => {
    const { queue: a, db } = await freshQueue();
    const b = await another(db);
    const woken: string[] = [];
    b.onJobs((q) => woken.push(q));
    await sqlOn(
      db.url,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'runbox-listen' AND datname = current_database()",
    );
    // The reconnect announces itself with a '' wake-up (anything may have been missed)...
    await until(() => woken.includes(''), 10_000);
    // ...and notifications flow again on the new connection.
    await a.submit([item()]);
    await until(() => woken.includes('default'), 10_000);
  });

  it('stops an older node claiming the moment a newer build raises the stamp', async () => {
    const { queue: old, db } = await freshQueue();
    const refusals: RunboxError[] = [];
    old.onRefused((e) => refusals.push(e));
    await old.submit([item(), item()]);
    expect(await old.claim({ workerId: 'w-old', limit: 1 })).toHaveLength(1);
    const newer = await another(db, {}, { contract: newerBuild });
    // Whether or not the notification has arrived yet, the claim's guard takes nothing.
    expect(await old.claim({ workerId: 'w-old', limit: 1 })).toEqual([]);
    await until(() => refusals.length === 1);
    expect(refusals[0]!.type).toBe('ContractMismatch');
    expect(old.refused).not.toBeNull();
    expect(await newer.claim({ workerId: 'w-new', limit: 5 })).toHaveLength(1);
  });
});
