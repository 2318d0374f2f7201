import type { JobResult } from '../contract/resultSchema.js';

/** Blob keys a result refers to: its kept logs and its stored output files. */
export function blobsOfResult(result: JobResult): string[] {
  const blobs = new Set<string>();
  if (result.stdout.blob) blobs.add(result.stdout.blob);
  if (result.stderr.blob) blobs.add(result.stderr.blob);
  for (const entry of result.outputs) {
    if (entry.type === 'file' && entry.sha256) blobs.add(entry.sha256);
  }
  return [...blobs];
}
