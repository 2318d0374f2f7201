import { afterAll, describe, expect, it } from 'vitest';
import { PostgresQueue } from '../../src/queue/postgres/PostgresQueue.js';
import m001 from '../../src/queue/postgres/migrations/001_init.js';
import m002 from '../../src/queue/postgres/migrations/002_webhooks_schedules.js';
import m003 from '../../src/queue/postgres/migrations/003_blobs.js';
import {
  freshDatabase,
  PG_QUEUE_CONFIG as CONFIG,
  sqlOn,
  type TestDatabase,
} from '../helpers/postgres.js';
import { validResult } from '../helpers/results.js';
import { PG_LATEST_SCHEMA_VERSION } from '../../src/queue/postgres/migrations/index.js';

/*
 * PostgreSQL migration 4 (partial indexes, trigger flags) on a database a schema-3 build
 * wrote, with jobs in every state: none lost or changed, the flags right for old rows,
 * and what the old rows need afterwards (a webhook delivery and a scrub when a running or
 * queued job ends, the idempotency key still unique, a lease still reaped) still happens.
 */

const databases: TestDatabase[] = [];
const queues: PostgresQueue[] = [];
afterAll(async () => {
  for (const queue of queues) await queue.close();
  for (const db of databases) await db.drop();
});

/** What migrate() did for a schema-3 build: the three migrations, version 3 in meta. */
async function schema3(url: string): Promise<void> {
  await sqlOn(
    url,
    `CREATE SCHEMA runbox; SET search_path TO runbox;
     CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
     ${m001} ${m002} ${m003}
     INSERT INTO meta (key, value) VALUES ('schema_version', '3');`,
  );
}

const SECRET = { env: { TOKEN: 's3cret', KEEP: 'v' }, secret_env: ['TOKEN'] };
const HOOK = 'https://hooks.example/é';
// [id, status, spec, lease (running), key]: every state, with and without webhook/secrets.
const ROWS: Array<[string, string, unknown, boolean, string | null]> = [
  ['01queued0000000000000000000', 'queued', { command: ['true'] }, false, 'key-ü'],
  ['01queuedhook000000000000000', 'queued', { webhook_url: HOOK, ...SECRET }, false, null],
  ['01running000000000000000000', 'running', { webhook_url: HOOK, ...SECRET }, true, null],
  ['01runningplain0000000000000', 'running', { command: ['true'] }, true, 'key-2'],
  ['01succeeded0000000000000000', 'succeeded', { webhook_url: HOOK }, false, null],
  ['01failed000000000000000000', 'failed', { command: ['false'] }, false, null],
  ['01cancelled00000000000000000', 'cancelled', { env: {}, secret_env: [] }, false, null],
  // A hook URL that is not a string is no webhook, as the trigger function reads it.
  ['01queuednumberhook000000000', 'queued', { webhook_url: 7 }, false, null],
];

async function insertOld(url: string): Promise<void> {
  for (const [id, status, spec, running, key] of ROWS) {
    const final = ['succeeded', 'failed', 'cancelled'].includes(status);
    await sqlOn(
      url,
      `INSERT INTO runbox.jobs (id, spec, status, max_attempts, run_at, created_at, updated_at,
         attempts, lease_owner, lease_expires_at, attempt_token, idempotency_key, finished_at)
       VALUES ($1, $2::json, $3, 3, now(), now(), now(), $4::int,
         CASE WHEN $4::int = 1 THEN 'old-node' END,
         CASE WHEN $4::int = 1 THEN now() - interval '1 second' END,
         CASE WHEN $4::int = 1 THEN 'tok-' || $1 END, $5,
         CASE WHEN $6 THEN now() END)`,
      [id, JSON.stringify(spec), status, running ? 1 : 0, key, final],
    );
  }
}

describe('PostgreSQL migration 4 on a schema-3 database', () => {
  it('keeps every job in every state and its triggers still fire for old rows', async () => {
    const db = await freshDatabase();
    databases.push(db);
    await schema3(db.url);
    await insertOld(db.url);
    const before = await sqlOn(db.url, 'SELECT * FROM runbox.jobs ORDER BY id');

    const queue = await PostgresQueue.open(db.url, CONFIG, { listen: false });
    queues.push(queue);
    const [meta] = await sqlOn<{ value: string }>(
      db.url,
      "SELECT value FROM runbox.meta WHERE key = 'schema_version'",
    );
    expect(meta!.value).toBe(String(PG_LATEST_SCHEMA_VERSION));
    const after = await sqlOn<Record<string, unknown>>(
      db.url,
      'SELECT * FROM runbox.jobs ORDER BY id',
    );
    // Every row, every old column as it was; only the two flags are new, and 006's count
    // of attempts given back, none for rows from before it.
    expect(after.map((r) => r.released_attempts)).toEqual(before.map(() => 0));
    expect(
      after.map(({ has_webhook: _w, has_secrets: _s, released_attempts: _r, ...rest }) => rest),
    ).toEqual(before);
    const flags = Object.fromEntries(
      after.map((r) => [r.id as string, [r.has_webhook, r.has_secrets]]),
    );
    expect(flags).toEqual({
      '01queued0000000000000000000': [false, false],
      '01queuedhook000000000000000': [true, true],
      '01running000000000000000000': [true, true],
      '01runningplain0000000000000': [false, false],
      '01succeeded0000000000000000': [true, false],
      '01failed000000000000000000': [false, false],
      '01cancelled00000000000000000': [false, true],
      // By the text: a superset, the function looks again (no delivery below).
      '01queuednumberhook000000000': [true, false],
    });

    // A running job from before ends: its webhook is queued and its secrets scrubbed.
    const running = '01running000000000000000000';
    expect(
      await queue.finish([{ id: running, token: `tok-${running}`, result: validResult() }]),
    ).toEqual(['recorded']);
    expect((await queue.get(running))!.spec).toMatchObject({ env: { TOKEN: '[secret]' } });
    // A queued one with a webhook, cancelled; a plain one and a non-string URL get none.
    await queue.cancel('01queuedhook000000000000000');
    await queue.cancel('01queuednumberhook000000000');
    await queue.cancel('01queued0000000000000000000');
    const deliveries = await sqlOn<{ job_id: string; url: string; event: string }>(
      db.url,
      'SELECT job_id, url, event FROM runbox.webhook_deliveries ORDER BY job_id',
    );
    expect(deliveries).toEqual([
      { job_id: '01queuedhook000000000000000', url: HOOK, event: 'job.cancelled' },
      { job_id: running, url: HOOK, event: 'job.succeeded' },
    ]);
    // The old key still names its job; a new job cannot take it.
    const [again] = await queue.submit([
      { spec: { command: ['true'] }, maxAttempts: 1, idempotencyKey: 'key-ü' },
    ]);
    expect(again).toMatchObject({ created: false, job: { id: '01queued0000000000000000000' } });
    // The other running job's lease (expired before the upgrade) is reaped.
    const reaped = await queue.reap();
    expect(reaped.requeued).toEqual(['01runningplain0000000000000']);
    // An older node still running inserts as it did (no flags, ON CONFLICT on the whole
    // key index): its insert still works and its job gets its flags.
    const oldInsert = `INSERT INTO runbox.jobs (id, spec, status, max_attempts, run_at,
         created_at, updated_at, idempotency_key)
       VALUES ($1, $2::json, 'queued', 1, now(), now(), now(), $3)
       ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, has_webhook, has_secrets`;
    expect(
      await sqlOn(db.url, oldInsert, [
        '01oldnode000000000000000000',
        JSON.stringify({ webhook_url: HOOK }),
        'k-old',
      ]),
    ).toEqual([{ id: '01oldnode000000000000000000', has_webhook: true, has_secrets: false }]);
    expect(await sqlOn(db.url, oldInsert, ['01oldnode100000000000000000', '{}', 'k-old'])).toEqual(
      [],
    );
    await queue.cancel('01oldnode000000000000000000');
    const counts = await queue.counts();
    expect(counts).toMatchObject({ queued: 1, running: 0, succeeded: 2, failed: 1, cancelled: 5 });
  });

  it('flags new jobs at insert by their text, a superset the trigger functions narrow', async () => {
    const db = await freshDatabase();
    databases.push(db);
    const queue = await PostgresQueue.open(db.url, CONFIG, { listen: false });
    queues.push(queue);
    const specs = [
      { command: ['true'] },
      { webhook_url: HOOK },
      { webhook_url: null },
      SECRET,
      { meta: { secret_env: 1 } },
      { webhook_url: 'https://x/\u0000', env: { A: '\ud800' }, secret_env: ['A'] },
    ];
    const jobs = await queue.submit(specs.map((spec) => ({ spec, maxAttempts: 1 })));
    const rows = await sqlOn<{ id: string; has_webhook: boolean; has_secrets: boolean }>(
      db.url,
      'SELECT id, has_webhook, has_secrets FROM runbox.jobs',
    );
    const byId = new Map(rows.map((r) => [r.id, [r.has_webhook, r.has_secrets]]));
    expect(jobs.map((j) => byId.get(j.job.id))).toEqual([
      [false, false],
      [true, false],
      // Supersets: the functions look again (no delivery, nothing scrubbed).
      [true, false],
      [false, true],
      [false, true],
      [true, true],
    ]);
    // The hostile one ends: its webhook is queued and its secret scrubbed all the same.
    const hostile = jobs[5]!.job.id;
    await queue.cancel(hostile);
    const spec = (await queue.get(hostile))!.spec as { env: Record<string, string> };
    expect(spec.env.A).toBe('[secret]');
    const deliveries = await sqlOn<{ job_id: string; url: string }>(
      db.url,
      'SELECT job_id, url FROM runbox.webhook_deliveries',
    );
    expect(deliveries).toEqual([{ job_id: hostile, url: 'https://x/\ufffd' }]);
  });
});
