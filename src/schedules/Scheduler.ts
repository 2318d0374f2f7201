import type { Config } from '../config.js';
import { coerceError } from '../errors/index.js';
import { silentLogger, type Logger } from '../log.js';
import { PollLoop } from '../pollLoop.js';
import type { EnqueueItem } from '../queue/types.js';
import { parseCron, planFire } from './cron.js';
import type { ScheduleStore } from './ScheduleStore.js';

export interface SchedulerDeps {
  config: Pick<Config, 'schedules'>;
  store: ScheduleStore;
  /** JobService.prepare: the body checked as a submit would be. */
  prepare: (body: unknown, fieldPrefix: string) => EnqueueItem;
  /** Wakes this process's workers after an enqueue. */
  wake?: () => void;
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

  /** One turn at now(). Returns the ids of the jobs it created. Tests drive it with a fake clock. */
  async tick(): Promise<string[]> {
    const now = this.now();
    const created: string[] = [];
    for (const schedule of await this.deps.store.due(now, BATCH)) {
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
        continue;
      }
      let item: EnqueueItem | null = null;
      let error: string | null = null;
      if (plan.fireAt !== null) {
        try {
          item = {
            ...this.deps.prepare(schedule.request, 'job.'),
            idempotencyKey: `schedule:${schedule.name}:${new Date(plan.fireAt).toISOString()}`,
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
      if (!outcome.claimed) continue;
      const fields = {
        schedule: schedule.name,
        due: plan.fireAt === null ? null : new Date(plan.fireAt).toISOString(),
        skipped: plan.skipped,
        next: new Date(next).toISOString(),
      };
      if (outcome.jobId) {
        if (outcome.created) created.push(outcome.jobId);
        this.log.info('schedule fired', { ...fields, job: outcome.jobId });
      } else if (error) this.log.warn('schedule fire refused', { ...fields, error });
      else this.log.info('schedule skipped missed times', fields);
    }
    if (created.length > 0) this.deps.wake?.();
    return created;
  }
}
