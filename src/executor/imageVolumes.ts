import { posix } from 'node:path';
import { RunboxError } from '../errors/index.js';
import { OUTPUTS_DIR, WORK_DIR } from './containerConfig.js';

/**
 * Refuses an image that declares a VOLUME at or under /work or /outputs, before any
 * container exists. The engine mounts an anonymous volume there, over runbox's bind
 * mount: what a job writes into it never reaches the host folder runbox reads, so its
 * outputs would be lost without a word (and its inputs hidden).
 */
export function assertNoScratchVolumes(
  image: string,
  volumes: Record<string, unknown> | null | undefined,
): void {
  const inside = Object.keys(volumes ?? {}).filter((volume) => {
    const path = posix.normalize(volume).replace(/\/+$/, '');
    return [WORK_DIR, OUTPUTS_DIR].some((dir) => path === dir || path.startsWith(`${dir}/`));
  });
  if (inside.length === 0) return;
  throw new RunboxError(
    'InvalidSpec',
    `image ${image} declares VOLUME ${inside.join(', ')}: a volume there hides from runbox ` +
      `what the job writes (its outputs would be lost) or what runbox gives it (its inputs). ` +
      `Use an image without a VOLUME ` +
      `at or under ${WORK_DIR} or ${OUTPUTS_DIR}.`,
    { field: 'image' },
  );
}
