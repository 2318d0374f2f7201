import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Config } from '../../config.js';
import { RunboxError } from '../../errors/index.js';

/**
 * Bytes an unprivileged process can still write on the file system holding `dir`
 * (f_bavail, not f_bfree: root's reserve is not ours). A dir that does not exist yet is
 * measured at its nearest existing parent.
 */
export async function freeBytes(dir: string): Promise<number> {
  for (let current = dir; ; current = dirname(current)) {
    try {
      const info = await statfs(current);
      return info.bavail * info.bsize;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(current) === current) {
        throw error;
      }
    }
  }
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Refuses new work while the data dir's disk is nearly full, so a job fails at the door
 * (InsufficientStorage, HTTP 507) and not half way through writing its outputs.
 * Returns the free bytes it measured.
 */
export async function assertFreeSpace(
  config: Pick<Config, 'dataDir'> & { limits: Pick<Config['limits'], 'minFreeBytes'> },
): Promise<number> {
  const free = await freeBytes(config.dataDir);
  const required = config.limits.minFreeBytes;
  if (free < required) {
    throw new RunboxError(
      'InsufficientStorage',
      `only ${formatBytes(free)} free on the disk of ${config.dataDir}, and runbox needs at ` +
        `least ${formatBytes(required)} (limits.minFreeBytes) to accept a job; free some ` +
        `space (\`runbox gc\` removes expired jobs' outputs) or lower limits.minFreeBytes`,
      { field: 'limits.minFreeBytes' },
    );
  }
  return free;
}
