import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { RunboxError } from '../errors/index.js';
import { formatBytes, freeBytes } from '../storage/diskSpace.js';

/**
 * Bounds the disk a running job uses. /work and /outputs are host folders on the disk
 * that holds runbox.db and the blobs, and the ext4 here has no quota that a non-root
 * runbox could set (no prjquota mount option, no quota tools), so two watchdogs:
 *
 * - each running job's folders are measured while it runs; past its output limits
 *   (bytes, or entries of any kind) it is killed and fails OutputLimitExceeded;
 * - the data disk's free space is read every DISK_CHECK_MS; below the reserve the
 *   running job with the largest scratch is killed the same way, one at a time, so
 *   the database and the other jobs keep the disk they need.
 *
 * A walk costs time in proportion to the entries it visits, so the next walk waits
 * WALK_SPACING times as long as the last took: the guard uses at most a small share of
 * the process, and a job writing fast is caught by the disk reserve in between.
 */
const MIN_WALK_INTERVAL_MS = 250;
const MAX_WALK_INTERVAL_MS = 5000;
const WALK_SPACING = 10;
const DISK_CHECK_MS = 250;

export interface ScratchLimits {
  /** File and folder sizes (apparent, as collection counts them) together. */
  bytes: number;
  /** Entries of any kind (files, folders, links) together. */
  entries: number;
}

export interface ScratchUsage {
  bytes: number;
  entries: number;
}

/**
 * Sums sizes and counts entries under `dirs` without following links, stopping as soon
 * as a limit is passed (a million files are not all visited to learn that).
 */
export async function measureScratch(
  dirs: readonly string[],
  limits: ScratchLimits,
): Promise<ScratchUsage> {
  const usage: ScratchUsage = { bytes: 0, entries: 0 };
  const over = () => usage.bytes > limits.bytes || usage.entries > limits.entries;
  const walk = async (dir: string): Promise<void> => {
    let handle;
    try {
      handle = await opendir(dir);
    } catch {
      return; // gone or unreadable: the job may have removed it; nothing to count
    }
    for await (const entry of handle) {
      if (over()) return; // leaving the loop closes the handle
      const path = join(dir, entry.name);
      usage.entries += 1;
      try {
        const stat = await lstat(path);
        usage.bytes += stat.size;
      } catch {
        continue; // removed between listing and stat
      }
      if (entry.isDirectory()) await walk(path);
    }
  };
  for (const dir of dirs) {
    if (over()) break;
    await walk(dir);
  }
  return usage;
}

/** One running job's folders under watch. */
export class ScratchWatch {
  usage: ScratchUsage = { bytes: 0, entries: 0 };
  tripped = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly dirs: readonly string[],
    private readonly limits: ScratchLimits,
    private readonly onOver: (error: RunboxError) => void,
    private readonly onStop: (watch: ScratchWatch) => void,
  ) {}

  start(): void {
    this.schedule(MIN_WALK_INTERVAL_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.onStop(this);
  }

  /** Kills the job (once) with this error. */
  trip(error: RunboxError): void {
    if (this.tripped || this.stopped) return;
    this.tripped = true;
    this.onOver(error);
  }

  private schedule(ms: number): void {
    if (this.stopped || this.tripped) return;
    this.timer = setTimeout(() => void this.check(), ms);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    const began = performance.now();
    try {
      this.usage = await measureScratch(this.dirs, this.limits);
    } catch {
      // A failed walk is tried again; the disk reserve still stands guard meanwhile.
    }
    if (this.usage.bytes > this.limits.bytes) {
      this.trip(
        new RunboxError(
          'OutputLimitExceeded',
          `/work and /outputs held more than ${this.limits.bytes} bytes while the job ran ` +
            `(limits.output_bytes); killed. Ask for a larger limits.output_bytes, up to the server's ceiling`,
          { field: 'limits.output_bytes' },
        ),
      );
    } else if (this.usage.entries > this.limits.entries) {
      this.trip(
        new RunboxError(
          'OutputLimitExceeded',
          `/work and /outputs held more than ${this.limits.entries} entries (files, folders, ` +
            `links) besides the inputs while the job ran (limits.output_files); killed`,
          { field: 'limits.output_files' },
        ),
      );
    }
    const took = performance.now() - began;
    this.schedule(
      Math.min(MAX_WALK_INTERVAL_MS, Math.max(MIN_WALK_INTERVAL_MS, took * WALK_SPACING)),
    );
  }
}

/** Every running job's watch in this process, and the disk reserve over them. */
export class ScratchGuard {
  private readonly watches = new Set<ScratchWatch>();
  private diskTimer: NodeJS.Timeout | null = null;

  /**
   * @param dataDir the folder whose disk is watched
   * @param reserveBytes free bytes below which the largest job is killed; 0 turns it off
   */
  constructor(
    private readonly dataDir: string,
    private readonly reserveBytes: number,
  ) {}

  /** Starts watching one job's folders; call stop() on the result when it ends. */
  watch(
    dirs: readonly string[],
    limits: ScratchLimits,
    onOver: (error: RunboxError) => void,
  ): ScratchWatch {
    const watch = new ScratchWatch(dirs, limits, onOver, (w) => this.forget(w));
    this.watches.add(watch);
    watch.start();
    if (this.reserveBytes > 0 && !this.diskTimer) {
      this.diskTimer = setInterval(() => void this.checkDisk(), DISK_CHECK_MS);
      this.diskTimer.unref();
    }
    return watch;
  }

  private forget(watch: ScratchWatch): void {
    this.watches.delete(watch);
    if (this.watches.size === 0 && this.diskTimer) {
      clearInterval(this.diskTimer);
      this.diskTimer = null;
    }
  }

  private async checkDisk(): Promise<void> {
    let free: number;
    try {
      free = await freeBytes(this.dataDir);
    } catch {
      return;
    }
    if (free >= this.reserveBytes) return;
    // One job at a time: the one killed last is given the time to go and free its space.
    if ([...this.watches].some((w) => w.tripped)) return;
    let largest: ScratchWatch | null = null;
    for (const w of this.watches) {
      if (!largest || w.usage.bytes > largest.usage.bytes) largest = w;
    }
    if (!largest) return;
    largest.trip(
      new RunboxError(
        'OutputLimitExceeded',
        `the data disk fell to ${formatBytes(free)} free, below the reserve of ` +
          `${formatBytes(this.reserveBytes)} (half of limits.minFreeBytes), and this job's ` +
          `/work and /outputs were the largest of the running jobs (${formatBytes(largest.usage.bytes)}); killed`,
        { field: 'limits.output_bytes' },
      ),
    );
  }
}
