import type Docker from 'dockerode';

/**
 * Pings the engine in the background so /healthz and /metrics answer from memory
 * (they must stay fast while the engine is slow or gone).
 */
export class EngineMonitor {
  private up: boolean | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(up: boolean) => void>();

  constructor(
    private readonly docker: Docker,
    private readonly intervalMs = 2000,
  ) {}

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Last known state; null before the first answer. */
  isUp(): boolean | null {
    return this.up;
  }

  /** Called with the new state whenever it changes after the first answer. */
  onChange(listener: (up: boolean) => void): void {
    this.listeners.add(listener);
  }

  /**
   * A caller saw the engine fail (a run ended EngineUnavailable): believe it now rather
   * than at the next ping, and ping again soon to notice a mere blip.
   */
  markDown(): void {
    this.set(false);
    setTimeout(() => void this.check(), Math.min(500, this.intervalMs)).unref();
  }

  private set(up: boolean): void {
    const was = this.up;
    this.up = up;
    // The first answer is not a change: startup recovery has just run.
    if (was !== null && was !== up) for (const listener of this.listeners) listener(up);
  }

  private async check(): Promise<void> {
    try {
      await Promise.race([
        this.docker.ping(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('ping timed out')), this.intervalMs).unref(),
        ),
      ]);
      this.set(true);
    } catch {
      this.set(false);
    }
  }
}
