import type { EnqueueItem } from '../queue/types.js';

/** A schedule as stored. Times are ms since the epoch. */
export interface ScheduleRecord {
  name: string;
  cron: string;
  /** IANA zone the cron fields are read in, e.g. Europe/Paris; always explicit (default UTC). */
  timezone: string;
  catchUp: 'skip' | 'once';
  /** The submit body (POST /v1/jobs) each fire enqueues, secret values included. */
  request: Record<string, unknown>;
  paused: boolean;
  /** The next due time; while paused, the one it had when paused. */
  nextFireAt: number;
  /** The due time of the last job it enqueued. */
  lastFiredAt: number | null;
  lastJobId: string | null;
  /** Why its last due time enqueued nothing (the body no longer passes the server's checks). */
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface SchedulePage {
  limit: number;
  /** The last name of the previous page, or null for the first. */
  after: string | null;
}

export interface FireArgs {
  name: string;
  /** next_fire_at as read: the claim succeeds only if it is still this. */
  expected: number;
  /** The new next_fire_at. */
  next: number;
  now: number;
  /** The due time fired, or null when this claim only skips missed times. */
  firedAt: number | null;
  /** The job to enqueue (idempotency key schedule:NAME:<due time>), or null. */
  item: EnqueueItem | null;
  error: string | null;
}

export interface FireOutcome {
  /** False: another process (or an earlier turn) claimed this due time first. */
  claimed: boolean;
  jobId: string | null;
  created: boolean;
}

/**
 * Where schedules live. Async so a PostgreSQL store can follow the SQLite one
 * (src/schedules/sqlite/).
 */
export interface ScheduleStore {
  /** Throws Conflict when the name is taken. */
  create(record: ScheduleRecord): Promise<void>;
  /** Up to `limit` schedules by name (byte order), those after `after` only. */
  list(page: SchedulePage): Promise<ScheduleRecord[]>;
  get(name: string): Promise<ScheduleRecord | null>;
  remove(name: string): Promise<boolean>;
  /** Pauses, or resumes with a fresh next due time. Null for an unknown name. */
  setPaused(
    name: string,
    paused: boolean,
    nextFireAt: number | null,
    now: number,
  ): Promise<ScheduleRecord | null>;
  /** Unpaused schedules whose next due time has come, soonest first. */
  due(now: number, limit: number): Promise<ScheduleRecord[]>;
  /**
   * Claims one due time and enqueues its job in one transaction: the conditional move
   * of next_fire_at is what makes each due time fire once across processes.
   */
  fire(args: FireArgs): Promise<FireOutcome>;
}
