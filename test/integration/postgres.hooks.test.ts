import { afterAll, describe, expect, it } from 'vitest';
import { JobService } from '../../src/api/jobService.js';
import { createHookStores } from '../../src/backends.js';
import { PostgresQueue } from '../../src/queue/postgres/PostgresQueue.js';
import { PgScheduleStore } from '../../src/schedules/postgres/PgScheduleStore.js';
import { ScheduleService } from '../../src/schedules/ScheduleService.js';
import { Scheduler } from '../../src/schedules/Scheduler.js';
import { PgWebhookStore } from '../../src/webhooks/postgres/PgWebhookStore.js';
import {
  freshDatabase,
  PG_QUEUE_CONFIG as CONFIG,
  sqlOn,
  type TestDatabase,
} from '../helpers/postgres.js';
import { validResult } from '../helpers/results.js';
import { testConfig } from '../helpers/testConfig.js';

/** Webhook deliveries and schedules on PostgreSQL (migration 002), several processes' worth. */
const HOOK = 'https://hooks.example.com/ünï?x=1';

const cleanups: Array<() => void | Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function database(): Promise<TestDatabase> {
  const db = await freshDatabase('runbox_pghooks');
  cleanups.push(() => db.drop());
  return db;
}
async function open(db: TestDatabase): Promise<PostgresQueue> {
  const queue = await PostgresQueue.open(db.url, CONFIG);
  cleanups.push(() => queue.close());
  return queue;
}
const deliveries = (db: TestDatabase) =>
  sqlOn<{ job_id: string; url: string; event: string; status: string }>(
    db.url,
    'SELECT job_id, url, event, status FROM runbox.webhook_deliveries ORDER BY id',
  );

describe('PostgreSQL webhook deliveries', () => {
  it('are the hook stores of a PostgresQueue', async () => {
    const queue = await open(await database());
    const hooks = await createHookStores(queue);
    expect(hooks?.webhooks).toBeInstanceOf(PgWebhookStore);
    expect(hooks?.schedules).toBeInstanceOf(PgScheduleStore);
  });

  it('the trigger writes one delivery when a job finishes or is cancelled, and none without a URL', async () => {
    const db = await database();
    const queue = await open(db);
    const spec = { runtime: 'shell', command: ['true'], webhook_url: HOOK };
    const [done, cancelled, plain, byHand] = await queue.submit([
      { spec, maxAttempts: 1 },
      { spec, maxAttempts: 1 },
      { spec: { runtime: 'shell', command: ['true'] }, maxAttempts: 1 },
      { spec, maxAttempts: 1, runAt: Date.now() + 3_600_000 },
    ]);
    await queue.cancel(cancelled!.job.id);
    const claims = await queue.claim({ workerId: 'w1', limit: 5 });
    expect(claims.map((c) => c.id).sort()).toEqual([done!.job.id, plain!.job.id].sort());
    const finish = () =>
      queue.finish(claims.map((c) => ({ id: c.id, token: c.token, result: validResult() })));
    await finish();
    // Touching final jobs again writes nothing more.
    await queue.cancel(cancelled!.job.id);
    await queue.cancel(done!.job.id);
    await finish();
    // An operator's session (default search_path) ending a job still gets its delivery.
    await sqlOn(db.url, "UPDATE runbox.jobs SET status = 'failed' WHERE id = $1", [byHand!.job.id]);
    expect(await deliveries(db)).toEqual([
      { job_id: cancelled!.job.id, url: HOOK, event: 'job.cancelled', status: 'pending' },
      { job_id: done!.job.id, url: HOOK, event: 'job.succeeded', status: 'pending' },
      { job_id: byHand!.job.id, url: HOOK, event: 'job.failed', status: 'pending' },
    ]);
    // What a server without the secret warns about at its start.
    expect(await (await createHookStores(queue))!.webhooks.countPending()).toBe(3);
  });

  it('retention keeps a finished job while its delivery is pending, as on SQLite', async () => {
    const db = await database();
    const queue = await PostgresQueue.open(db.url, { ...CONFIG, jobRetentionMs: 1 });
    cleanups.push(() => queue.close());
    const spec = { runtime: 'shell', command: ['true'], webhook_url: HOOK };
    const [hooked, plain] = await queue.submit([
      { spec, maxAttempts: 1 },
      { spec: { runtime: 'shell', command: ['true'] }, maxAttempts: 1 },
    ]);
    const claims = await queue.claim({ workerId: 'w1', limit: 2 });
    await queue.finish(claims.map((c) => ({ id: c.id, token: c.token, result: validResult() })));
    await new Promise((r) => setTimeout(r, 20));
    expect((await queue.deleteExpiredJobs()).jobIds).toEqual([plain!.job.id]);
    await sqlOn(db.url, "UPDATE runbox.webhook_deliveries SET status = 'failed'");
    expect((await queue.deleteExpiredJobs()).jobIds).toEqual([hooked!.job.id]);
  });

  it('two delivery loops claiming at once hand out each delivery once, and record attempts', async () => {
    const db = await database();
    const queue = await open(db);
    const other = await open(db);
    const items = Array.from({ length: 40 }, () => ({
      spec: { runtime: 'shell', command: ['true'], webhook_url: HOOK },
      maxAttempts: 1,
    }));
    const submitted = await queue.submit(items);
    for (const s of submitted) await queue.cancel(s.job.id);
    const a = new PgWebhookStore(queue.pool);
    const b = new PgWebhookStore(other.pool);
    const now = Date.now() + 1000;
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).claimDue(`owner-${i}`, now, 60_000, 7)),
    );
    const ids = claims.flat().map((c) => c.id);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
    // Leased: nothing more to claim until the leases run out.
    expect(await a.claimDue('late', now, 60_000, 100)).toEqual([]);
    const first = claims.flat()[0]!;
    const owner = `owner-${claims.findIndex((c) => c.some((x) => x.id === first.id))}`;
    const attempt = {
      deliveryId: first.id,
      startedAt: now,
      durationMs: 12,
      statusCode: 204,
      error: null,
      outcome: 'delivered' as const,
      nextAttemptAt: null,
      now,
    };
    expect(await b.recordAttempt({ ...attempt, owner: 'not-the-owner' })).toBe(false);
    expect(await b.recordAttempt({ ...attempt, owner })).toBe(true);
    expect(await a.recordAttempt({ ...attempt, owner })).toBe(false);
    const [view] = await a.listForJob(first.jobId);
    expect(view).toMatchObject({
      status: 'delivered',
      attempts: 1,
      lastStatusCode: 204,
      history: [{ attempt: 1, statusCode: 204, durationMs: 12 }],
    });
    // An expired lease is claimable again (at least once).
    const again = await a.claimDue('after', now + 60_001, 60_000, 100);
    expect(again).toHaveLength(39);
  });

  it("counts the attempt of a process killed mid-POST, as SQLite's store does", async () => {
    // Seen against serve on SQLite: after a kill -9 mid-POST the next try sent the same
    // Runbox-Attempt again, and the history never showed the lost one.
    const db = await database();
    const queue = await open(db);
    const [job] = await queue.submit([
      { spec: { runtime: 'shell', command: ['true'], webhook_url: HOOK }, maxAttempts: 1 },
    ]);
    await queue.cancel(job!.job.id);
    const store = new PgWebhookStore(queue.pool);
    const killedAt = Date.now() + 1000;
    const [lost] = await store.claimDue('killed-owner', killedAt, 32_000, 16);
    expect(lost!.attempts).toBe(0);
    const [again] = await store.claimDue('next-owner', killedAt + 32_000, 32_000, 16);
    expect(again).toMatchObject({ id: lost!.id, attempts: 1 });
    const [view] = await store.listForJob(job!.job.id);
    expect(view).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastStatusCode: null,
      lastError: expect.stringMatching(/^no outcome recorded: the process sending it stopped/),
      history: [{ attempt: 1, startedAt: killedAt, durationMs: 32_000, statusCode: null }],
    });
  });
});

describe('PostgreSQL schedules', () => {
  it('fire once per due time with two schedulers on one database', async () => {
    const db = await database();
    const { config, cleanup } = testConfig({ limits: { minFreeBytes: 0 } });
    cleanups.push(cleanup);
    const clock = { now: Date.parse('2026-11-30T04:01:00Z') };
    const now = () => clock.now;
    const nodes = await Promise.all(
      [0, 1].map(async () => {
        const queue = await open(db);
        const jobs = new JobService(config, queue);
        const store = new PgScheduleStore(queue.pool);
        const prepare = (body: unknown, prefix: string) => jobs.prepare(body, prefix);
        return {
          service: new ScheduleService(store, prepare, now),
          scheduler: new Scheduler({ config, store, prepare, now }),
        };
      }),
    );
    const job = { runtime: 'shell', command: ['echo', 'ü'] };
    await nodes[0]!.service.create({ name: 'tick-u', cron: '*/5 * * * *', job });
    await expect(
      nodes[1]!.service.create({ name: 'tick-u', cron: '*/5 * * * *', job }),
    ).rejects.toMatchObject({ type: 'Conflict', field: 'name' });
    for (const at of ['04:05:00.300', '04:10:00.100', '04:15:02']) {
      clock.now = Date.parse(`2026-11-30T${at}Z`);
      const fired = await Promise.all(nodes.map((n) => n.scheduler.tick()));
      expect(fired.flat(), at).toHaveLength(1);
      expect((await Promise.all(nodes.map((n) => n.scheduler.tick()))).flat()).toEqual([]);
    }
    const keys = await sqlOn<{ k: string }>(
      db.url,
      'SELECT idempotency_key AS k FROM runbox.jobs ORDER BY k',
    );
    expect(keys.map((r) => r.k)).toEqual([
      'schedule:tick-u:2026-11-30T04:05:00.000Z',
      'schedule:tick-u:2026-11-30T04:10:00.000Z',
      'schedule:tick-u:2026-11-30T04:15:00.000Z',
    ]);
    expect(await nodes[1]!.service.get('tick-u')).toMatchObject({
      last_fired_at: '2026-11-30T04:15:00.000Z',
      next_fire_at: '2026-11-30T04:20:00.000Z',
    });
    await nodes[1]!.service.setPaused('tick-u', true);
    clock.now = Date.parse('2026-11-30T04:20:01Z');
    expect((await Promise.all(nodes.map((n) => n.scheduler.tick()))).flat()).toEqual([]);
  });

  it('list in pages by byte order of names, as on SQLite, whatever the collation', async () => {
    const db = await database();
    const { config, cleanup } = testConfig({ limits: { minFreeBytes: 0 } });
    cleanups.push(cleanup);
    const queue = await open(db);
    const jobs = new JobService(config, queue);
    const service = new ScheduleService(new PgScheduleStore(queue.pool), (body, prefix) =>
      jobs.prepare(body, prefix),
    );
    for (const name of ['b', 'a-1', 'B', 'a.2', 'a_3', 'a1']) {
      await service.create({
        name,
        cron: '0 0 1 1 *',
        job: { runtime: 'shell', command: ['true'] },
      });
    }
    const first = await service.list({ limit: 4 });
    expect(first.schedules.map((s) => s.name)).toEqual(['B', 'a-1', 'a.2', 'a1']);
    expect(first.next_cursor).toBe('a1');
    const second = await service.list({ limit: 4, cursor: 'a1' });
    expect(second.schedules.map((s) => s.name)).toEqual(['a_3', 'b']);
    expect(second.next_cursor).toBeNull();
  });

  it('resume of a schedule that is not paused keeps its next due time', async () => {
    const db = await database();
    const { config, cleanup } = testConfig({ limits: { minFreeBytes: 0 } });
    cleanups.push(cleanup);
    const queue = await open(db);
    const jobs = new JobService(config, queue);
    const clock = { now: Date.parse('2026-11-30T04:01:00Z') };
    const service = new ScheduleService(
      new PgScheduleStore(queue.pool),
      (body, prefix) => jobs.prepare(body, prefix),
      () => clock.now,
    );
    await service.create({
      name: 'r',
      cron: '*/5 * * * *',
      job: { runtime: 'shell', command: ['true'] },
    });
    clock.now = Date.parse('2026-11-30T04:05:00.300Z');
    expect(await service.setPaused('r', false)).toMatchObject({
      next_fire_at: '2026-11-30T04:05:00.000Z',
    });
  });
});
