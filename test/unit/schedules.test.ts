import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { JobService } from '../../src/api/jobService.js';
import type { Config } from '../../src/config.js';
import { RunboxMetrics } from '../../src/metrics.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { canonicalTimezone, parseCron, planFire } from '../../src/schedules/cron.js';
import { Scheduler } from '../../src/schedules/Scheduler.js';
import { ScheduleService } from '../../src/schedules/ScheduleService.js';
import { SqliteScheduleStore } from '../../src/schedules/sqlite/SqliteScheduleStore.js';
import { testConfig } from '../helpers/testConfig.js';

const T = (iso: string) => Date.parse(iso);
const JOB = { runtime: 'shell', command: ['echo', 'tick'] };

describe('cron expressions and time zones', () => {
  it('reads the fields in the given zone, across a daylight saving change', () => {
    const nine = parseCron('0 9 * * *', 'Europe/Paris');
    // Winter: Paris is UTC+1; summer: UTC+2 (the change is on 2027-03-28).
    expect(new Date(nine.next(T('2027-03-27T00:00:00Z'))!).toISOString()).toBe(
      '2027-03-27T08:00:00.000Z',
    );
    expect(new Date(nine.next(T('2027-03-28T00:00:00Z'))!).toISOString()).toBe(
      '2027-03-28T07:00:00.000Z',
    );
    expect(
      new Date(parseCron('*/5 * * * *', 'UTC').next(T('2026-11-30T04:01:00Z'))!).toISOString(),
    ).toBe('2026-11-30T04:05:00.000Z');
  });

  it('fires a local time skipped by the spring change once at the end of the gap, whatever the pattern', () => {
    const at = (expression: string, after: string) =>
      new Date(parseCron(expression, 'Europe/Paris').next(T(after))!).toISOString();
    // 2027-03-28 in Paris: 02:00 CET jumps to 03:00 CEST (01:00Z). croner alone fired a
    // single skipped time at 03:00 but dropped the day for several (*/20 2, 0,20,40 2).
    for (const expression of ['30 2 * * *', '*/20 2 * * *', '0,20,40 2 * * *', '20,40 2 * * *']) {
      expect(at(expression, '2027-03-27T23:30:00Z'), expression).toBe('2027-03-28T01:00:00.000Z');
    }
    expect(at('*/20 2 * * *', '2027-03-28T01:00:00Z')).toBe('2027-03-29T00:00:00.000Z');
    expect(at('*/30 * * * *', '2027-03-28T00:30:00Z')).toBe('2027-03-28T01:00:00.000Z');
    expect(
      new Date(
        parseCron('*/20 2 * * *', 'Europe/Paris').latest(T('2027-03-28T01:10:00Z'))!,
      ).toISOString(),
    ).toBe('2027-03-28T01:00:00.000Z');
  });

  it('finds a due time at the end of a spring gap from a time with milliseconds, without hanging', async () => {
    // A sync loop in this worker could not be timed out: the cron runs in a child that is.
    const module = resolve('src/schedules/cron.ts');
    const code = `
      import { parseCron } from ${JSON.stringify(module)};
      const iso = (t) => new Date(t).toISOString();
      process.stdout.write(JSON.stringify([
        iso(parseCron('30 2 28 3 *', 'Europe/Paris').next(Date.parse('2026-12-02T15:05:15.123Z'))),
        iso(parseCron('0 3 * * *', 'Europe/Paris').next(Date.parse('2027-03-27T15:05:15.123Z'))),
        iso(parseCron('30 2 * * *', 'Europe/Paris').latest(Date.parse('2027-03-28T01:00:00.500Z'))),
      ]));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', code],
      { timeout: 30_000 },
    );
    expect(JSON.parse(stdout)).toEqual([
      '2027-03-28T01:00:00.000Z',
      '2027-03-28T01:00:00.000Z',
      '2027-03-28T01:00:00.000Z',
    ]);
  }, 40_000);

  it('fires a local time repeated by the autumn change once, the first time', () => {
    const cron = parseCron('*/20 2 * * *', 'Europe/Paris');
    // 2027-10-31 in Paris: 03:00 CEST goes back to 02:00 CET (01:00Z); 02:00-02:59 is
    // lived twice. croner alone fired */20 2 at 02:00, 02:20, 02:40 in both.
    const fires: string[] = [];
    for (let t = T('2027-10-30T23:30:00Z'); fires.length < 4;) {
      t = cron.next(t)!;
      fires.push(new Date(t).toISOString());
    }
    expect(fires).toEqual([
      '2027-10-31T00:00:00.000Z',
      '2027-10-31T00:20:00.000Z',
      '2027-10-31T00:40:00.000Z',
      '2027-11-01T01:00:00.000Z',
    ]);
    expect(new Date(cron.latest(T('2027-10-31T01:45:00Z'))!).toISOString()).toBe(
      '2027-10-31T00:40:00.000Z',
    );
    // A pattern of every hour goes by real time, as cron's does: both passes of the hour.
    for (const expression of ['*/30 * * * *', '*/30 0-23 * * *', '0 */30 * * * *']) {
      const halfHourly = parseCron(expression, 'Europe/Paris');
      const times: string[] = [];
      for (let t = T('2027-10-30T23:45:00Z'); times.length < 5;) {
        t = halfHourly.next(t)!;
        times.push(new Date(t).toISOString().slice(11, 16));
      }
      expect(times, expression).toEqual(['00:00', '00:30', '01:00', '01:30', '02:00']);
      expect(
        new Date(halfHourly.latest(T('2027-10-31T01:45:00Z'))!).toISOString(),
        expression,
      ).toBe('2027-10-31T01:30:00.000Z');
    }
  });

  it('refuses bad expressions and zones naming the field', () => {
    expect(() => parseCron('* * *', 'UTC')).toThrow(/^cron: .*has 3 fields/);
    expect(() => parseCron('61 * * * *', 'UTC')).toThrow(/^cron: .*is not a cron expression/);
    expect(() => parseCron('*/0 * * * *', 'UTC')).toThrow(
      /^cron: "\*\/0 \* \* \* \*" is not a cron expression: Syntax error, illegal stepping: 0$/,
    );
    expect(() => parseCron('* * * * *', 'Mars/Olympus')).toThrow(/^timezone: .*not an IANA/);
    expect(() => parseCron('* * * * *', '')).toThrow(/^timezone:/);
  });

  it("reads cron's names (@hourly, @daily, ...) as their fields, and refuses @reboot and unknown names", () => {
    const next = (expression: string) =>
      new Date(parseCron(expression, 'UTC').next(T('2026-11-30T04:01:00Z'))!).toISOString();
    expect(next('@hourly')).toBe('2026-11-30T05:00:00.000Z');
    expect(next(' @Daily ')).toBe('2026-12-01T00:00:00.000Z');
    expect(next('@midnight')).toBe('2026-12-01T00:00:00.000Z');
    expect(next('@weekly')).toBe('2026-12-06T00:00:00.000Z');
    expect(next('@monthly')).toBe('2026-12-01T00:00:00.000Z');
    expect(next('@yearly')).toBe('2027-01-01T00:00:00.000Z');
    expect(next('@annually')).toBe('2027-01-01T00:00:00.000Z');
    // In a zone, as the fields would be: midnight in Paris is 23:00 UTC in winter.
    expect(
      new Date(parseCron('@daily', 'Europe/Paris').next(T('2026-11-30T04:01:00Z'))!).toISOString(),
    ).toBe('2026-11-30T23:00:00.000Z');
    expect(() => parseCron('@reboot', 'UTC')).toThrow(/^cron: "@reboot" has no due time/);
    expect(() => parseCron('@often', 'UTC')).toThrow(
      /^cron: "@often" is not a cron name; give one of @yearly/,
    );
  });

  it('names a value out of range as written, with the range its field takes', () => {
    // Seen from outside: croner counts day and month from 0, so "0 0 40 * *" was refused
    // for "day: 39", "0 0 * 13 *" for "month: 12" and "0 0 0 * *" for "day: -1".
    const refusal = (expression: string) => {
      try {
        parseCron(expression, 'UTC');
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refusal('0 0 40 * *')).toBe(
      'cron: "0 0 40 * *" is not a cron expression: day of month 40 is outside 1-31',
    );
    expect(refusal('0 0 0 * *')).toMatch(/: day of month 0 is outside 1-31$/);
    expect(refusal('0 0 5,32 * *')).toMatch(/: day of month 32 is outside 1-31$/);
    expect(refusal('0 0 * 13 *')).toMatch(/: month 13 is outside 1-12$/);
    expect(refusal('0 0 * 0-3 *')).toMatch(/: month 0 is outside 1-12$/);
    expect(refusal('60 * * * *')).toMatch(/: minute 60 is outside 0-59$/);
    expect(refusal('* 24 * * *')).toMatch(/: hour 24 is outside 0-23$/);
    expect(refusal('0 0 * * 1-8')).toMatch(/: day of week 8 is outside 0-7 \(0 and 7: Sunday\)$/);
    expect(refusal('61 * * * * *')).toMatch(/: second 61 is outside 0-59$/);
  });

  it('stores a zone in IANA spelling whatever its case, and refuses a lower-case link', () => {
    expect(canonicalTimezone('europe/paris')).toBe('Europe/Paris');
    expect(canonicalTimezone('EUROPE/PARIS')).toBe('Europe/Paris');
    expect(canonicalTimezone('america/port-au-prince')).toBe('America/Port-au-Prince');
    expect(canonicalTimezone('utc')).toBe('UTC');
    expect(canonicalTimezone('Europe/Paris')).toBe('Europe/Paris');
    // Links keep the name given: US/Eastern is not stored as America/New_York.
    expect(canonicalTimezone('US/Eastern')).toBe('US/Eastern');
    expect(canonicalTimezone('Asia/Kolkata')).toBe('Asia/Kolkata');
    expect(() => canonicalTimezone('us/eastern')).toThrow(
      /^timezone: "us\/eastern" is the zone America\/New_York under another name; give America\/New_York/,
    );
    expect(() => canonicalTimezone('Mars/Olympus')).toThrow(/^timezone: .*not an IANA/);
  });

  it('plans catch-up: skip drops what was missed, once runs the latest missed time', () => {
    const every5 = parseCron('*/5 * * * *', 'UTC');
    const due = T('2026-11-30T04:05:00Z');
    const now = T('2026-11-30T05:02:00Z');
    expect(planFire(every5, due, now, 'skip', 60_000)).toEqual({
      fireAt: null,
      skipped: 12,
      skippedAtLeast: false,
      next: T('2026-11-30T05:05:00Z'),
    });
    expect(planFire(every5, due, now, 'once', 60_000)).toEqual({
      fireAt: T('2026-11-30T05:00:00Z'),
      skipped: 11,
      skippedAtLeast: false,
      next: T('2026-11-30T05:05:00Z'),
    });
    // On time (within grace): fired under either policy.
    expect(planFire(every5, due, due + 800, 'skip', 60_000).fireAt).toBe(due);
  });

  it('plans a catch-up after a long downtime without walking every missed time', () => {
    // Seen against runbox serve: restarted a day after it stopped, with 20 schedules of
    // "* * * * * *" in Europe/London, it answered no request for 29 s: each plan walked
    // 10,000 missed seconds through the zone's offsets to count them for a log line.
    const everySecond = parseCron('* * * * * *', 'Europe/London');
    let walked = 0;
    const counting = {
      next: (after: number) => {
        walked++;
        return everySecond.next(after);
      },
      latest: (at: number) => everySecond.latest(at),
    };
    const now = T('2026-12-01T11:00:00.500Z');
    const plan = planFire(counting, now - 86_400_000, now, 'once', 60_000);
    expect(plan.fireAt).toBe(T('2026-12-01T11:00:00Z'));
    expect(plan.next).toBe(T('2026-12-01T11:00:01Z'));
    expect(plan.skipped).toBe(100);
    expect(plan.skippedAtLeast).toBe(true);
    expect(walked).toBeLessThanOrEqual(101);
    expect(planFire(everySecond, now - 65_000, now, 'once', 60_000)).toMatchObject({
      skipped: 65,
      skippedAtLeast: false,
    });
  });
});

describe('schedules with a fake clock', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
  });

  function process(config: Readonly<Config>, clock: { now: number }) {
    const queue = SqliteQueue.open(config);
    cleanups.push(() => queue.close());
    const jobs = new JobService(config, queue);
    const store = new SqliteScheduleStore(queue.db);
    const prepare = (body: unknown, prefix: string) => jobs.prepare(body, prefix);
    const now = () => clock.now;
    return {
      queue,
      service: new ScheduleService(store, prepare, now),
      scheduler: new Scheduler({ config, store, prepare, now }),
    };
  }

  function setup() {
    const { config, cleanup } = testConfig({ limits: { minFreeBytes: 0 } });
    cleanups.push(cleanup);
    const clock = { now: T('2026-11-30T04:01:00Z') };
    return { config, clock, ...process(config, clock) };
  }

  const keys = (queue: SqliteQueue) =>
    (
      queue.db.prepare('SELECT idempotency_key AS k FROM jobs ORDER BY k').all() as Array<{
        k: string;
      }>
    ).map((r) => r.k);

  it('fires each due time once, with the key schedule:NAME:<due time>', async () => {
    const { clock, queue, service, scheduler } = setup();
    const added = await service.create({ name: 'tick', cron: '*/5 * * * *', job: JOB });
    expect(added).toMatchObject({
      timezone: 'UTC',
      catch_up: 'skip',
      next_fire_at: '2026-11-30T04:05:00.000Z',
    });
    clock.now = T('2026-11-30T04:04:59Z');
    expect(await scheduler.tick()).toEqual([]);
    clock.now = T('2026-11-30T04:05:00.400Z');
    const [id] = await scheduler.tick();
    expect(await queue.get(id!)).toMatchObject({
      status: 'queued',
      idempotencyKey: 'schedule:tick:2026-11-30T04:05:00.000Z',
      spec: JOB,
    });
    expect(await scheduler.tick()).toEqual([]);
    clock.now = T('2026-11-30T04:10:01Z');
    expect(await scheduler.tick()).toHaveLength(1);
    expect(keys(queue)).toEqual([
      'schedule:tick:2026-11-30T04:05:00.000Z',
      'schedule:tick:2026-11-30T04:10:00.000Z',
    ]);
    expect(await service.get('tick')).toMatchObject({
      last_fired_at: '2026-11-30T04:10:00.000Z',
      next_fire_at: '2026-11-30T04:15:00.000Z',
    });
  });

  it('counts each job it fires in runbox_jobs_submitted_total, as a submit is counted', async () => {
    const { config, cleanup } = testConfig({ limits: { minFreeBytes: 0 } });
    cleanups.push(cleanup);
    const queue = SqliteQueue.open(config);
    cleanups.push(() => queue.close());
    const jobs = new JobService(config, queue);
    const store = new SqliteScheduleStore(queue.db);
    const prepare = (body: unknown, prefix: string) => jobs.prepare(body, prefix);
    const clock = { now: T('2026-11-30T04:01:00Z') };
    const metrics = new RunboxMetrics({ process: 'serve', workerId: 'w1' });
    const scheduler = new Scheduler({ config, store, prepare, metrics, now: () => clock.now });
    await new ScheduleService(store, prepare, () => clock.now).create({
      name: 'tick',
      cron: '*/5 * * * *',
      job: JOB,
    });
    clock.now = T('2026-11-30T04:05:00.300Z');
    expect(await scheduler.tick()).toHaveLength(1);
    clock.now = T('2026-11-30T04:10:00.300Z');
    expect(await scheduler.tick()).toHaveLength(1);
    const counted = await metrics.registry.getSingleMetric('runbox_jobs_submitted_total')!.get();
    expect(counted.values).toEqual([
      expect.objectContaining({ labels: { created: 'true' }, value: 2 }),
    ]);
  });

  it('fires every due time a late poll passed over, within graceMs', async () => {
    // Seen against runbox serve: its 1 s polls drift by a few ms each, and the turn that
    // crossed a second fired only the latest of the two due seconds, skipping the other
    // while the server ran all along (about one "* * * * * *" fire lost a minute).
    const { clock, queue, service, scheduler } = setup();
    await service.create({ name: 'sec', cron: '* * * * * *', job: JOB });
    clock.now = T('2026-11-30T04:01:01.990Z');
    expect(await scheduler.tick()).toHaveLength(1);
    clock.now = T('2026-11-30T04:01:03.004Z');
    expect(await scheduler.tick()).toHaveLength(2);
    expect(keys(queue)).toEqual([
      'schedule:sec:2026-11-30T04:01:01.000Z',
      'schedule:sec:2026-11-30T04:01:02.000Z',
      'schedule:sec:2026-11-30T04:01:03.000Z',
    ]);
    expect((await service.get('sec')).next_fire_at).toBe('2026-11-30T04:01:04.000Z');
  });

  it('after downtime: skip enqueues nothing, once enqueues one job for the latest missed time', async () => {
    const { clock, queue, service, scheduler } = setup();
    await service.create({ name: 'skipper', cron: '*/5 * * * *', job: JOB });
    await service.create({ name: 'catcher', cron: '*/5 * * * *', catch_up: 'once', job: JOB });
    clock.now = T('2026-11-30T06:02:00Z');
    await scheduler.tick();
    expect(keys(queue)).toEqual(['schedule:catcher:2026-11-30T06:00:00.000Z']);
    expect((await service.get('skipper')).next_fire_at).toBe('2026-11-30T06:05:00.000Z');
    expect((await service.get('catcher')).next_fire_at).toBe('2026-11-30T06:05:00.000Z');
  });

  it('pause fires nothing; resume starts from the next time after now', async () => {
    const { clock, queue, service, scheduler } = setup();
    await service.create({ name: 'p', cron: '*/5 * * * *', catch_up: 'once', job: JOB });
    expect((await service.setPaused('p', true)).paused).toBe(true);
    clock.now = T('2026-11-30T05:00:00Z');
    await scheduler.tick();
    expect(keys(queue)).toEqual([]);
    clock.now = T('2026-11-30T05:01:00Z');
    expect(await service.setPaused('p', false)).toMatchObject({
      paused: false,
      next_fire_at: '2026-11-30T05:05:00.000Z',
    });
    await scheduler.tick();
    expect(keys(queue)).toEqual([]);
    await service.remove('p');
    await expect(service.get('p')).rejects.toMatchObject({ type: 'NotFound', field: 'name' });
  });

  it('resume of a schedule that is not paused keeps the due time it is about to fire', async () => {
    const { clock, queue, service, scheduler } = setup();
    await service.create({ name: 'r', cron: '*/5 * * * *', job: JOB });
    // 04:05 is due; the scheduler's next turn has not come yet when resume arrives.
    clock.now = T('2026-11-30T04:05:00.300Z');
    expect(await service.setPaused('r', false)).toMatchObject({
      paused: false,
      next_fire_at: '2026-11-30T04:05:00.000Z',
    });
    await scheduler.tick();
    expect(keys(queue)).toEqual(['schedule:r:2026-11-30T04:05:00.000Z']);
  });

  it('fires every schedule due at once in one turn, not a hundred a poll', async () => {
    const { clock, queue, service, scheduler } = setup();
    // 250 hourly schedules: at a hundred a second (one batch per pollMs) the last ones
    // came later than graceMs once there were a few thousand, and skip dropped them.
    for (let i = 0; i < 250; i++) {
      await service.create({ name: `hourly-${i}`, cron: '0 * * * *', job: JOB });
    }
    clock.now = T('2026-11-30T05:00:00.500Z');
    expect(await scheduler.tick()).toHaveLength(250);
    expect(keys(queue)).toHaveLength(250);
  });

  it('stores the cron expression with single spaces, so ls keeps its columns', async () => {
    const { service } = setup();
    const added = await service.create({ name: 'tabs', cron: ' 0\t9  * * *\n', job: JOB });
    expect(added.cron).toBe('0 9 * * *');
    expect((await service.get('tabs')).cron).toBe('0 9 * * *');
  });

  it('stores a cron name as typed and fires it as its fields', async () => {
    const { service } = setup();
    const added = await service.create({ name: 'hourly', cron: '@hourly', job: JOB });
    expect(added.cron).toBe('@hourly');
    expect(new Date(added.next_fire_at!).getUTCMinutes()).toBe(0);
  });

  it('stores the zone as IANA spells it, not as typed', async () => {
    const { service } = setup();
    const added = await service.create({
      name: 'paris',
      cron: '0 9 * * *',
      timezone: 'europe/paris',
      job: JOB,
    });
    expect(added.timezone).toBe('Europe/Paris');
    expect((await service.get('paris')).timezone).toBe('Europe/Paris');
    await expect(
      service.create({ name: 'ny', cron: '0 9 * * *', timezone: 'us/eastern', job: JOB }),
    ).rejects.toMatchObject({ type: 'InvalidSpec', field: 'timezone' });
  });

  it('two processes on one database enqueue exactly one job per due time', async () => {
    const { config, clock, queue, service, scheduler } = setup();
    const other = process(config, clock);
    await service.create({ name: 'both', cron: '* * * * * *', job: JOB });
    const start = clock.now;
    for (let s = 1; s <= 30; s++) {
      clock.now = start + s * 1000 + 10;
      // Both read the same due schedule before either claims it.
      await Promise.all([scheduler.tick(), other.scheduler.tick()]);
    }
    const fired = keys(queue);
    expect(fired).toHaveLength(30);
    expect(new Set(fired).size).toBe(30);
  });

  it('refuses bad schedules with the field named, and stores nothing', async () => {
    const { service } = setup();
    const refused = async (input: Parameters<ScheduleService['create']>[0]) => {
      try {
        await service.create(input);
      } catch (error) {
        return (error as { field: string }).field;
      }
      return null;
    };
    expect(await refused({ name: 'ü-nicode', cron: '* * * * *', job: JOB })).toBe('name');
    expect(await refused({ name: '', cron: '* * * * *', job: JOB })).toBe('name');
    expect(await refused({ name: 'x'.repeat(65), cron: '* * * * *', job: JOB })).toBe('name');
    // Not a path segment or a flag: `runbox schedule rm -x` would read an option, and
    // /v1/schedules/.. a path.
    for (const name of ['..', '.x', '-x', '_x']) {
      expect(await refused({ name, cron: '* * * * *', job: JOB }), name).toBe('name');
    }
    expect(await refused({ name: 'a', cron: 'every minute', job: JOB })).toBe('cron');
    // February 30th never comes.
    expect(await refused({ name: 'a', cron: '0 0 30 2 *', job: JOB })).toBe('cron');
    expect(await refused({ name: 'a', cron: '* * * * *', timezone: 'CET+99', job: JOB })).toBe(
      'timezone',
    );
    // Node 24's Intl reads these as fixed offsets; a schedule's zone is an IANA name.
    for (const timezone of ['+05:00', '-00:00', '+0530', '-12']) {
      expect(await refused({ name: 'a', cron: '* * * * *', timezone, job: JOB }), timezone).toBe(
        'timezone',
      );
    }
    await expect(
      service.create({ name: 'a', cron: '* * * * *', timezone: '+05:00', job: JOB }),
    ).rejects.toThrow(
      'timezone: "+05:00" is a UTC offset, not an IANA time zone; give a zone such as Europe/Paris, or Etc/GMT-5 for a fixed UTC+5',
    );
    expect(await refused({ name: 'a', cron: '* * * * *', job: { runtime: 'cobol' } })).toBe(
      'job.runtime',
    );
    expect(
      await refused({ name: 'a', cron: '* * * * *', job: { ...JOB, idempotency_key: 'k' } }),
    ).toBe('job.idempotency_key');
    expect((await service.list({ limit: 100 })).schedules).toEqual([]);
    await service.create({ name: 'a', cron: '* * * * *', job: JOB });
    expect(await refused({ name: 'a', cron: '* * * * *', job: JOB })).toBe('name');
  });

  it('lists schedules a page at a time by name, and refuses a cursor that is no name', async () => {
    const { service } = setup();
    // Byte order: upper case before lower, '-' and '.' before digits.
    for (const name of ['b', 'a-1', 'B', 'a.2', 'a_3', 'a1']) {
      await service.create({ name, cron: '0 0 1 1 *', job: JOB });
    }
    const names: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await service.list({ limit: 4, ...(cursor ? { cursor } : {}) });
      names.push(page.schedules.map((s) => s.name));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(names).toEqual([
      ['B', 'a-1', 'a.2', 'a1'],
      ['a_3', 'b'],
    ]);
    expect((await service.list({ limit: 6 })).next_cursor).toBeNull();
    await expect(service.list({ limit: 1, cursor: "x' OR 1=1" })).rejects.toMatchObject({
      type: 'InvalidSpec',
      field: 'cursor',
    });
  });

  it('redacts secret env values in views but fires them into the job', async () => {
    const { clock, queue, service, scheduler } = setup();
    const job = { ...JOB, env: { A: '1', TOKEN: 's3cr3t' }, secret_env: ['TOKEN'] };
    const view = await service.create({ name: 's', cron: '* * * * *', job });
    expect(view.job.env).toEqual({ A: '1', TOKEN: '[secret]' });
    clock.now += 60_000;
    const [id] = await scheduler.tick();
    expect(((await queue.get(id!))!.spec as { env: unknown }).env).toEqual({
      A: '1',
      TOKEN: 's3cr3t',
    });
  });
});
