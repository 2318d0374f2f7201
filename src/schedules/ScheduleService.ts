import { InvalidSpecError, RunboxError } from '../errors/index.js';
import type { EnqueueItem } from '../queue/types.js';
import { redactSpec } from '../api/jobService.js';
import { listedSpec } from '../queue/listedFiles.js';
import { shownValue } from '../shownValue.js';
import { canonicalTimezone, parseCron } from './cron.js';
import type { ScheduleRecord, ScheduleStore } from './ScheduleStore.js';

/** Letters, digits, dot, dash, underscore; it appears in idempotency keys and URLs. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface NewSchedule {
  name: string;
  cron: string;
  /** @defaultValue 'UTC' */
  timezone?: string | undefined;
  /** @defaultValue 'skip' */
  catch_up?: 'skip' | 'once' | undefined;
  /** A POST /v1/jobs body; idempotency_key and run_at are the schedule's to set. */
  job: Record<string, unknown>;
}

export interface ScheduleView {
  name: string;
  cron: string;
  timezone: string;
  catch_up: 'skip' | 'once';
  paused: boolean;
  next_fire_at: string;
  last_fired_at: string | null;
  last_job_id: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  job: Record<string, unknown>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toScheduleView(s: ScheduleRecord): ScheduleView {
  return {
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    catch_up: s.catchUp,
    paused: s.paused,
    next_fire_at: iso(s.nextFireAt)!,
    last_fired_at: iso(s.lastFiredAt),
    last_job_id: s.lastJobId,
    last_error: s.lastError,
    created_at: iso(s.createdAt)!,
    updated_at: iso(s.updatedAt)!,
    // Secret env values stay in the database (each fire needs them) and never leave it.
    job: redactSpec(s.request),
  };
}

/** A schedule as a page shows it: its job's input files without their content. */
function toListedSchedule(s: ScheduleRecord): ScheduleView {
  const view = toScheduleView(s);
  return { ...view, job: listedSpec(view.job) as Record<string, unknown> };
}

export function checkScheduleName(name: string, field = 'name'): void {
  if (!NAME.test(name)) {
    throw new InvalidSpecError(
      field,
      `${shownValue(name)} is not a schedule name: 1-64 ASCII letters, digits, ".", "-" ` +
        'or "_", starting with a letter or digit',
    );
  }
}

/**
 * Adds, lists, pauses and removes schedules for the API. A schedule's job body is
 * checked like a submit when it is added (so a bad one is refused at once, naming
 * job.<field>) and again at every fire (the operator's ceilings may have moved).
 */
export class ScheduleService {
  constructor(
    private readonly store: ScheduleStore,
    private readonly prepare: (body: unknown, fieldPrefix: string) => EnqueueItem,
    private readonly now: () => number = Date.now,
  ) {}

  async create(input: NewSchedule): Promise<ScheduleView> {
    checkScheduleName(input.name);
    const timezone = canonicalTimezone(input.timezone ?? 'UTC');
    // Tabs and runs of spaces are the same expression, but shown as typed they broke
    // the columns of `runbox schedule ls`.
    const expression = input.cron.trim().split(/\s+/).join(' ');
    const cron = parseCron(expression, timezone);
    for (const key of ['idempotency_key', 'run_at'] as const) {
      if (key in input.job) {
        throw new InvalidSpecError(
          `job.${key}`,
          'is set by the schedule for each fire (schedule:NAME:<due time>); leave it out',
        );
      }
    }
    this.prepare(input.job, 'job.');
    const now = this.now();
    const next = cron.next(now);
    if (next === null) {
      throw new InvalidSpecError('cron', `"${expression}" has no due time after now`);
    }
    const record: ScheduleRecord = {
      name: input.name,
      cron: expression,
      timezone,
      catchUp: input.catch_up ?? 'skip',
      request: input.job,
      paused: false,
      nextFireAt: next,
      lastFiredAt: null,
      lastJobId: null,
      lastError: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.create(record);
    return toScheduleView(record);
  }

  /**
   * One page by name; next_cursor is the page's last name while more follow. A cursor
   * is a schedule name, so one that cannot be a name was never given out.
   */
  async list(page: {
    limit: number;
    cursor?: string | undefined;
  }): Promise<{ schedules: ScheduleView[]; next_cursor: string | null }> {
    if (page.cursor !== undefined && !NAME.test(page.cursor)) {
      throw new InvalidSpecError(
        'cursor',
        'is not a cursor this server gave out (pass next_cursor of the previous page)',
      );
    }
    const records = await this.store.list({ limit: page.limit + 1, after: page.cursor ?? null });
    const more = records.length > page.limit;
    const shown = more ? records.slice(0, page.limit) : records;
    return {
      schedules: shown.map(toListedSchedule),
      next_cursor: more ? shown[shown.length - 1]!.name : null,
    };
  }

  async get(name: string): Promise<ScheduleView> {
    return toScheduleView(await this.record(name));
  }

  async remove(name: string): Promise<ScheduleView> {
    const record = await this.record(name);
    if (!(await this.store.remove(name))) throw notFound(name);
    return toScheduleView(record);
  }

  /** Resuming skips the due times that passed while paused: next is the first after now. */
  async setPaused(name: string, paused: boolean): Promise<ScheduleView> {
    const record = await this.record(name);
    const next = paused ? null : parseCron(record.cron, record.timezone).next(this.now());
    const changed = await this.store.setPaused(name, paused, next, this.now());
    if (!changed) throw notFound(name);
    return toScheduleView(changed);
  }

  private async record(name: string): Promise<ScheduleRecord> {
    checkScheduleName(name);
    const record = await this.store.get(name);
    if (!record) throw notFound(name);
    return record;
  }
}

function notFound(name: string): RunboxError {
  return new RunboxError('NotFound', `no schedule named "${name}"`, { field: 'name' });
}
