import type Docker from 'dockerode';

/**
 * Pings the engine in the background so /healthz and /metrics answer from memory
 * (they must stay fast while the engine is slow or gone).
 */
export class EngineMonitor {
  private up: boolean | null = null;
  private timer: NodeJS.Timeout | null = null;

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

  private async check(): Promise<void> {
    try {
      await Promise.race([
        this.docker.ping(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('ping timed out')), this.intervalMs).unref(),
        ),
      ]);
      this.up = true;
    } catch {
      this.up = false;
    }
  }
}
