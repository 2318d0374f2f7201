import type { Readable } from 'node:stream';

/**
 * A source whose chunks live in buffers it reuses: a writer that is done with a chunk (its
 * bytes hashed and copied into a compression frame) gives it back, and the source reads
 * its next bytes into it. Without that, a 1 GiB output read in 256 KiB chunks allocated
 * 4,096 buffers that the garbage collector only chased once ~64 MiB of them were dead
 * (Node 24: +77 MiB of peak RSS for a read and hash of 1 GiB, +5 MiB with one buffer
 * reused). A chunk given back must be exactly one the source pushed; the source ignores
 * anything else (a stream that split or joined chunks), so it never reuses memory a
 * reader may still hold.
 */
export interface RecyclingReadable extends Readable {
  recycle(chunk: Buffer): void;
}

export function isRecycling(source: Readable): source is RecyclingReadable {
  return typeof (source as Partial<RecyclingReadable>).recycle === 'function';
}
