import { join } from 'node:path';
import { RunboxError } from '../../errors/index.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Where blobs live under the data dir: `blobs/ab/cdef…` (the first two hex digits fan
 * out into at most 256 folders) and `blobs/tmp/` for writes in progress. The tmp folder
 * is on the same file system as the blobs, so the final rename is atomic.
 */
export interface BlobPaths {
  root: string;
  tmp: string;
  blob(sha256: string): string;
}

export function blobPaths(dataDir: string): BlobPaths {
  const root = join(dataDir, 'blobs');
  return {
    root,
    tmp: join(root, 'tmp'),
    blob(sha256) {
      checkSha256(sha256);
      return join(root, sha256.slice(0, 2), sha256.slice(2));
    },
  };
}

/** A key is 64 lowercase hex digits; anything else never becomes a path. */
export function checkSha256(sha256: string): void {
  if (!SHA256_HEX.test(sha256)) {
    throw new RunboxError(
      'InvalidSpec',
      `sha256: "${String(sha256).slice(0, 80)}" is not 64 lowercase hex digits`,
      { field: 'sha256' },
    );
  }
}

export function isFanOutDir(name: string): boolean {
  return /^[0-9a-f]{2}$/.test(name);
}

export function isBlobFileName(name: string): boolean {
  return /^[0-9a-f]{62}$/.test(name);
}
