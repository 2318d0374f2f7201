import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RunboxError } from '../errors/index.js';
import { formatBytes, freeBytes } from '../storage/fs/diskSpace.js';

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
const DISK_CHECK_MS = 100;

export interface ScratchLimits {
  /** Regular files' sizes (apparent, as collection counts them) together. */
  bytes: number;
  /**
   * Entries of any kind (files, folders, links) together: against filling the disk's
   * inodes with empty files. Looser than the output file limit, which collection
   * enforces with the manifest of what it kept.
   */
  entries: number;
}

export interface ScratchUsage {
  bytes: number;
  entries: number;
}

/**
 * The watch's limits for a job: its output limits plus what runbox itself put in /work
 * (the script, the input files and the folders holding them), so a job may fill its
 * output limits exactly, as collection allows, whatever its inputs weigh. Entries are
 * looser than the output file limit (twice it): collection enforces that one with the
 * manifest of what it kept.
 */
export function scratchLimits(
  output: { bytes: number; files: number },
  inputs: ReadonlyArray<{ path: string; content: Buffer }>,
): ScratchLimits {
  const folders = new Set<string>();
  let bytes = 0;
  for (const input of inputs) {
    bytes += input.content.length;
    const parts = input.path.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
  }
  return { bytes: output.bytes + bytes, entries: 2 * output.files + inputs.length + folders.size };
}

/** lstat calls in flight at once: the thread pool does them in parallel (2x faster here). */
const STAT_BATCH = 128;

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
  const pending = [...dirs];
  while (pending.length > 0 && !over()) {
    const dir = pending.pop()!;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue; // gone or unreadable: the job may have removed it; nothing to count
    }
    for (let i = 0; i < entries.length && !over(); i += STAT_BATCH) {
      const batch = entries.slice(i, i + STAT_BATCH);
      const stats = await Promise.all(
        batch.map((entry) => lstat(join(dir, entry.name)).catch(() => null)),
      );
      stats.forEach((stat, j) => {
        usage.entries += 1;
        // Folders and links are bounded by the entry count; collection counts neither's size.
        if (stat?.isFile()) usage.bytes += stat.size;
        if (batch[j]!.isDirectory()) pending.push(join(dir, batch[j]!.name));
      });
    }
  }
  return usage;
}

/** One running job's folders under watch. */
export class ScratchWatch {
  usage: ScratchUsage = { bytes: 0, entries: 0 };
  /** Why the job was killed: its own limits, or the data disk's reserve. */
  trippedBy: 'limit' | 'disk' | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly dirs: readonly string[],
    private readonly limits: ScratchLimits,
    private readonly onOver: (error: RunboxError) => void,
    private readonly onRelease: (watch: ScratchWatch) => void,
  ) {}

  start(): void {
    this.schedule(MIN_WALK_INTERVAL_MS);
  }

  /** Stops measuring: the job has ended (its folders still take their space). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * The folders are gone. Until then the watch stays counted, so the disk reserve does
   * not kill a second job while the first one's space is still being freed.
   */
  release(): void {
    this.stop();
    this.onRelease(this);
  }

  get tripped(): boolean {
    return this.trippedBy !== null;
  }

  /** Kills the job (once) with this error. */
  trip(by: 'limit' | 'disk', error: RunboxError): void {
    if (this.tripped || this.stopped) return;
    this.trippedBy = by;
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
        'limit',
        new RunboxError(
          'OutputLimitExceeded',
          `/work and /outputs held more than ${this.limits.bytes} bytes of files while the job ran ` +
            `(limits.output_bytes, plus the inputs; ${this.usage.bytes} bytes counted before ` +
            `stopping the count); ` +
            `killed. Ask for a larger limits.output_bytes, up to the server's ceiling`,
          { field: 'limits.output_bytes' },
        ),
      );
    } else if (this.usage.entries > this.limits.entries) {
      this.trip(
        'limit',
        new RunboxError(
          'OutputLimitExceeded',
          `/work and /outputs held more than ${this.limits.entries} entries (files, folders, ` +
            `links) while the job ran (twice limits.output_files, plus the inputs); killed`,
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

/** Below this, a job's scratch is not what filled the disk, and killing it frees nothing. */
const MIN_KILL_WORTH_BYTES = 1024 * 1024;

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

  /**
   * Starts watching one job's folders; call stop() on the result when the job ends and
   * release() once its folders are removed.
   */
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
    // Only a job that holds real space is a candidate: killing one that holds a few
    // bytes frees nothing, when something else (another program, the blob store) has
    // filled the disk.
    let largest: ScratchWatch | null = null;
    for (const w of this.watches) {
      if (w.usage.bytes > (largest?.usage.bytes ?? 0)) largest = w;
    }
    if (!largest || largest.usage.bytes < MIN_KILL_WORTH_BYTES) return;
    largest.trip(
      'disk',
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
