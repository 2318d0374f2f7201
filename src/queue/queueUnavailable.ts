import { RunboxError } from '../errors/index.js';
import type { Logger } from '../log.js';

/**
 * Whether an error is the queue database not answering (down, restarting, failing over):
 * StorageUnavailable on queue.url, as the PostgreSQL queue types it. What failed may
 * succeed once the database is back.
 */
export function isQueueUnavailable(error: unknown): boolean {
  return (
    error instanceof RunboxError &&
    error.type === 'StorageUnavailable' &&
    error.field === 'queue.url'
  );
}

/** How often an outage that goes on is mentioned again (with what was not logged). */
export const OUTAGE_REMINDER_MS = 60_000;

/**
 * Whether the queue database answered the reaper's last pass (every second on every
 * `runbox serve`), for /healthz: a load balancer should hear that a node whose database
 * is down cannot take or answer for jobs, not "ok".
 *
 * It also keeps an outage to a few log lines: the loops that poll the database (claims,
 * heartbeats, the reaper, schedules, deliveries, sweeps) each failed several times a
 * second while it was down, with a stack every time (~6 lines a second a node). Through
 * quiet(), the first failure of an outage is logged as it was, later ones are counted
 * and mentioned once a minute, and the pass that finds the database back says so.
 */
export class QueueHealth {
  private up: boolean | null = null;
  /** When the first failure of this outage was logged; null: none logged. */
  private reportedAt: number | null = null;
  private lastSaidAt = 0;
  private notLogged = 0;

  constructor(
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Last known state; null before the first pass. */
  isUp(): boolean | null {
    return this.up;
  }

  /** A pass's outcome (null: it answered). Only a connection failure marks it down. */
  observe(error: unknown): void {
    if (error === null) {
      this.up = true;
      if (this.reportedAt !== null) {
        this.log?.info('the queue database answers again', {
          unavailable_ms: this.now() - this.reportedAt,
          failures_not_logged: this.notLogged,
        });
      }
      this.reportedAt = null;
      this.notLogged = 0;
    } else if (isQueueUnavailable(error)) this.up = false;
  }

  /** `log` with each queue-unavailable failure after an outage's first one held back. */
  quiet(log: Logger): Logger {
    const held = (fields?: Record<string, unknown>): boolean => {
      if (!isQueueUnavailable(fields?.['error'])) return false;
      const now = this.now();
      if (this.reportedAt === null) {
        this.reportedAt = now;
        this.lastSaidAt = now;
        return false;
      }
      this.notLogged++;
      if (now - this.lastSaidAt >= OUTAGE_REMINDER_MS) {
        this.lastSaidAt = now;
        log.warn('the queue database still does not answer', {
          unavailable_ms: now - this.reportedAt,
          failures_not_logged: this.notLogged,
          error: fields?.['error'],
        });
      }
      return true;
    };
    return {
      debug: (msg, fields) => log.debug(msg, fields),
      info: (msg, fields) => log.info(msg, fields),
      warn: (msg, fields) => {
        if (!held(fields)) log.warn(msg, fields);
      },
      error: (msg, fields) => {
        if (!held(fields)) log.error(msg, fields);
      },
      pino: log.pino,
    };
  }
}
