import type { Config } from '../config.js';
import { coerceError } from '../errors/index.js';
import { silentLogger, type Logger } from '../log.js';
import { PollLoop } from '../pollLoop.js';
import type { EnqueueItem } from '../queue/types.js';
import { parseCron, planFire } from './cron.js';
import { SCHEDULE_KEY_PREFIX } from '../spec/parseJobSpec.js';
import type { ScheduleRecord, ScheduleStore } from './ScheduleStore.js';

export interface SchedulerDeps {
  config: Pick<Config, 'schedules'>;
  store: ScheduleStore;
  /** JobService.prepare: the body checked as a submit would be. */
  prepare: (body: unknown, fieldPrefix: string) => EnqueueItem;
  /** Wakes this process's workers after an enqueue. */
  wake?: () => void;
  /**
   * Counts each fire's job in runbox_jobs_submitted_total, as a submit's: without it
   * scheduled jobs showed in runbox_jobs_finished_total only, and submitted minus
   * finished went below zero.
   */
  metrics?: { submitted(created: boolean): void };
  logger?: Logger;
  /** @defaultValue Date.now */
  now?: () => number;
}

/** The largest time a Date holds: where a schedule with no next due time is parked. */
const MAX_DATE_MS = 8_640_000_000_000_000;

/** Schedules one turn looks at. */
const BATCH = 100;

/**
 * The scheduler of `runbox serve`: every pollMs it reads the due schedules and fires
 * each once (ScheduleStore.fire claims the due time and enqueues in one transaction, so
 * any number of processes may run this loop on one database).
 */
export class Scheduler {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly loop: PollLoop;

  constructor(private readonly deps: SchedulerDeps) {
    this.log = deps.logger ?? silentLogger;
    this.now = deps.now ?? Date.now;
    this.loop = new PollLoop(
      () => this.tick(),
      () => deps.config.schedules.pollMs,
      this.log,
      'scheduler turn failed',
    );
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /**
   * One turn at now(): every due schedule, a batch at a time until none is left (one
   * batch per turn capped fires at a hundred per pollMs, so with a few thousand
   * schedules on one minute the last came later than graceMs and skip dropped them).
   * Returns the ids of the jobs it created. Tests drive it with a fake clock.
   */
  async tick(): Promise<string[]> {
    const now = this.now();
    const created: string[] = [];
    for (;;) {
      const batch = await this.deps.store.due(now, BATCH);
      let moved = 0;
      for (const schedule of batch) {
        const outcome = await this.fire(schedule, now);
        if (outcome === 'unreadable' || outcome === 'lost') continue;
        moved++;
        if (outcome !== null) created.push(outcome);
      }
      // A schedule fired for a due time a late poll passed over is due again (its next
      // time has come too): the turn goes on while it claims something. Unreadable
      // schedules come back unchanged, and one another process claimed is that
      // process's to fire: neither keeps the turn going.
      if (moved === 0) break;
      // Lets the API answer between batches: the SQLite store never waits on I/O.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (created.length > 0) this.deps.wake?.();
    return created;
  }

  /**
   * Fires one due schedule: the id of the job it created, null when the due time was
   * claimed without a new job (skipped or refused), 'lost' when another process claimed
   * it first, or 'unreadable' when its cron cannot be read (it stays due).
   */
  private async fire(
    schedule: ScheduleRecord,
    now: number,
  ): Promise<string | null | 'unreadable' | 'lost'> {
    let plan;
    try {
      plan = planFire(
        parseCron(schedule.cron, schedule.timezone),
        schedule.nextFireAt,
        now,
        schedule.catchUp,
        this.deps.config.schedules.graceMs,
      );
    } catch (error) {
      // A zone the platform no longer knows: pause-like, retried each turn, and shown.
      this.log.warn('schedule cannot be read', {
        schedule: schedule.name,
        error: coerceError(error).message,
      });
      return 'unreadable';
    }
    let item: EnqueueItem | null = null;
    let error: string | null = null;
    if (plan.fireAt !== null) {
      try {
        item = {
          ...this.deps.prepare(schedule.request, 'job.'),
          idempotencyKey: `${SCHEDULE_KEY_PREFIX}${schedule.name}:${new Date(plan.fireAt).toISOString()}`,
          requestHash: null,
          runAt: now,
        };
      } catch (thrown) {
        error = coerceError(thrown).message;
      }
    }
    // No next due time (a date that never comes back): parked far in the future.
    const next = plan.next ?? MAX_DATE_MS;
    const outcome = await this.deps.store.fire({
      name: schedule.name,
      expected: schedule.nextFireAt,
      next,
      now,
      firedAt: plan.fireAt,
      item,
      error,
    });
    if (!outcome.claimed) return 'lost';
    const fields = {
      schedule: schedule.name,
      due: plan.fireAt === null ? null : new Date(plan.fireAt).toISOString(),
      skipped: plan.skipped,
      // Counting stops at 100 missed times (a long downtime): then skipped is "at least".
      ...(plan.skippedAtLeast ? { skipped_at_least: true } : {}),
      next: new Date(next).toISOString(),
    };
    if (outcome.jobId) {
      this.deps.metrics?.submitted(outcome.created);
      this.log.info('schedule fired', { ...fields, job: outcome.jobId });
      return outcome.created ? outcome.jobId : null;
    }
    if (error) this.log.warn('schedule fire refused', { ...fields, error });
    else this.log.info('schedule skipped missed times', fields);
    return null;
  }
}
