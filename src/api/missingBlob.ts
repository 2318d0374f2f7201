import { RunboxError } from '../errors/index.js';
import type { BlobStore } from '../storage/BlobStore.js';

/**
 * Why a blob a job's result names can be missing here, added to its NotFound: with the
 * blobs on this node's own disk and a queue several nodes share, the job may have run
 * on another node, which alone holds its logs and outputs. Seen on a fleet: "is no
 * longer stored" sent the operator looking for data lost, when it was on the other node.
 * Empty where a missing blob is simply gone (one node, or a shared bucket).
 */
export function missingBlobHint(store: BlobStore, sharedQueue: boolean): string {
  return sharedQueue && store.kind === 'fs'
    ? ': this node keeps blobs on its own disk (dataDir/blobs), so only the node that ran ' +
        'the job has them; ask that node, or give every node one bucket (--blobs s3://...)'
    : '';
}

/** Rejects a NotFound of `opening` with `hint` added to its message. */
export async function withMissingHint<T>(opening: Promise<T>, hint: string): Promise<T> {
  if (hint === '') return opening;
  try {
    return await opening;
  } catch (error) {
    if (!(error instanceof RunboxError) || error.type !== 'NotFound') throw error;
    throw new RunboxError('NotFound', `${error.message}${hint}`, {
      ...(error.field !== null && { field: error.field }),
      cause: error,
    });
  }
}
