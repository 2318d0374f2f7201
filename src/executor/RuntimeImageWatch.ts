import type Docker from 'dockerode';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { engineStatus } from './engineErrors.js';
import { pullImage, pullLimitsOf } from './pullImage.js';

/** The distinct images the configured runtimes run on. */
export function runtimeImages(config: Readonly<Pick<Config, 'runtimes'>>): string[] {
  return [...new Set(Object.values(config.runtimes).map((r) => r.image))];
}

/**
 * Which runtime images the engine lacks, checked in the background so /healthz answers
 * from memory; and serve's optional pre-pull of them (config pull.atStart).
 */
export class RuntimeImages {
  private missingNow: string[] | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly docker: Docker,
    private readonly config: Readonly<Config>,
    private readonly logger: Logger,
    private readonly intervalMs = 30_000,
  ) {}

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Runtime images not on the engine at the last check; null before the first. */
  missing(): string[] | null {
    return this.missingNow;
  }

  async refresh(): Promise<void> {
    const missing: string[] = [];
    for (const image of runtimeImages(this.config)) {
      try {
        await this.docker.getImage(image).inspect();
      } catch (error) {
        // Only a 404 is "missing"; an engine that is away is reported by EngineMonitor.
        if (engineStatus(error) !== 404) return;
        missing.push(image);
      }
    }
    this.missingNow = missing;
  }

  /** Pulls every missing runtime image, one at a time; failures are logged, not fatal. */
  async pullMissing(): Promise<void> {
    await this.refresh();
    for (const image of this.missingNow ?? []) {
      this.logger.info('pulling runtime image', { image });
      try {
        await pullImage(this.docker, image, pullLimitsOf(this.config));
        this.logger.info('pulled runtime image', { image });
      } catch (error) {
        this.logger.warn('could not pull runtime image', { image, error });
      }
    }
    await this.refresh();
  }
}
