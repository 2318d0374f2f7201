import { coerceError } from './errors/index.js';
import type { Logger } from './log.js';

/**
 * A turn run every `everyMs` after the previous one ends (never two at once), the first
 * at once; a failed turn is logged and the next one still comes. Its timer never keeps
 * the process alive, and stop() waits for the turn in flight, so a shutdown does not cut
 * a turn that holds a lease or a transaction.
 */
export class PollLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(
    private readonly turn: () => Promise<unknown>,
    private readonly everyMs: () => number,
    private readonly log: Logger,
    /** What the warning for a failed turn says. */
    private readonly failedMessage: string,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.turn()
        .then(
          () => undefined,
          (error: unknown) => this.log.warn(this.failedMessage, { error: coerceError(error) }),
        )
        .finally(() => {
          this.running = null;
          this.schedule(this.everyMs());
        });
    }, ms);
    this.timer.unref();
  }
}
