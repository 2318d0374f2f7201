import type pg from 'pg';
import { RunboxError } from '../../errors/index.js';
import { execute, query, transaction } from '../../queue/postgres/db.js';
import { enqueueJobs } from '../../queue/postgres/enqueueJobs.js';
import { rowToSchedule, type ScheduleRow } from '../rows.js';
import type {
  FireArgs,
  FireOutcome,
  SchedulePage,
  ScheduleRecord,
  ScheduleStore,
} from '../ScheduleStore.js';

const INSERT = `
INSERT INTO schedules (name, cron, timezone, catch_up, request, paused, next_fire_at,
                       created_at, updated_at)
VALUES (:name, :cron, :timezone, :catchUp, :request::json, :paused, :nextFireAt, :now, :now)
ON CONFLICT (name) DO NOTHING`;

// Byte order ("C"), as SQLite's: the database's own collation may order names otherwise,
// and a page's cursor must agree with its order.
const PAGE = `
SELECT * FROM schedules WHERE (:after::text IS NULL OR name COLLATE "C" > :after)
ORDER BY name COLLATE "C" LIMIT :limit`;
const ONE = 'SELECT * FROM schedules WHERE name = :name';
const DUE = `
SELECT * FROM schedules
WHERE NOT paused AND next_fire_at <= :now ORDER BY next_fire_at, name LIMIT :limit`;
const REMOVE = 'DELETE FROM schedules WHERE name = :name';

// Resuming a paused schedule sets a fresh next_fire_at; pausing, or resuming one that is
// not paused, keeps it (see the SQLite store).
const SET_PAUSED = `
UPDATE schedules
SET paused = :paused,
    next_fire_at = CASE WHEN paused THEN coalesce(:nextFireAt::bigint, next_fire_at)
      ELSE next_fire_at END,
    updated_at = :now
WHERE name = :name
RETURNING *`;

// The claim: only the transaction that still reads the old next_fire_at moves it. A
// second one blocks on the row lock, then re-checks the WHERE against the committed row
// (READ COMMITTED) and changes nothing.
const CLAIM = `
UPDATE schedules
SET next_fire_at = :next, last_fired_at = coalesce(:firedAt::bigint, last_fired_at),
    last_error = :error::text, updated_at = :now
WHERE name = :name AND next_fire_at = :expected AND NOT paused`;

const SET_JOB = 'UPDATE schedules SET last_job_id = :jobId WHERE name = :name';

/**
 * Schedules in the PostgreSQL queue's database (migration 002). A fire's claim and its
 * enqueue are one transaction on one pooled client, so they commit together or not at all.
 */
export class PgScheduleStore implements ScheduleStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(s: ScheduleRecord): Promise<void> {
    const changes = await execute(this.pool, INSERT, {
      name: s.name,
      cron: s.cron,
      timezone: s.timezone,
      catchUp: s.catchUp,
      request: JSON.stringify(s.request),
      paused: s.paused,
      nextFireAt: s.nextFireAt,
      now: s.createdAt,
    });
    if (changes === 0) {
      throw new RunboxError(
        'Conflict',
        `a schedule named "${s.name}" exists; remove it first or pick another name`,
        { field: 'name' },
      );
    }
  }

  async list(page: SchedulePage): Promise<ScheduleRecord[]> {
    return (await query<ScheduleRow>(this.pool, PAGE, { ...page })).map(rowToSchedule);
  }

  async get(name: string): Promise<ScheduleRecord | null> {
    const [row] = await query<ScheduleRow>(this.pool, ONE, { name });
    return row ? rowToSchedule(row) : null;
  }

  async remove(name: string): Promise<boolean> {
    return (await execute(this.pool, REMOVE, { name })) > 0;
  }

  async setPaused(
    name: string,
    paused: boolean,
    nextFireAt: number | null,
    now: number,
  ): Promise<ScheduleRecord | null> {
    const [row] = await query<ScheduleRow>(this.pool, SET_PAUSED, {
      name,
      paused,
      nextFireAt,
      now,
    });
    return row ? rowToSchedule(row) : null;
  }

  async due(now: number, limit: number): Promise<ScheduleRecord[]> {
    return (await query<ScheduleRow>(this.pool, DUE, { now, limit })).map(rowToSchedule);
  }

  async fire(args: FireArgs): Promise<FireOutcome> {
    return transaction(this.pool, async (client) => {
      const changes = await execute(client, CLAIM, {
        name: args.name,
        expected: args.expected,
        next: args.next,
        firedAt: args.item ? args.firedAt : null,
        error: args.error,
        now: args.now,
      });
      if (changes === 0) return { claimed: false, jobId: null, created: false };
      if (!args.item) return { claimed: true, jobId: null, created: false };
      const [outcome] = await enqueueJobs(client, [args.item]);
      await execute(client, SET_JOB, { name: args.name, jobId: outcome!.job.id });
      return { claimed: true, jobId: outcome!.job.id, created: outcome!.created };
    });
  }
}
