import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';

/**
 * How many bytes at the end of `chunk` begin a UTF-8 sequence that the next chunk may
 * complete: they are judged with what follows, so a character split across two reads
 * is not taken for an invalid one.
 */
function openSequence(chunk: Buffer): number {
  for (let back = 1; back <= Math.min(3, chunk.length); back++) {
    const byte = chunk[chunk.length - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    if (byte < 0xc0) return 0;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
    return length > back ? back : 0;
  }
  return 0;
}

/** Whether every byte `source` gives is UTF-8; it stops reading at the first that is not. */
export async function isUtf8Stream(source: Readable): Promise<boolean> {
  let carry = Buffer.alloc(0);
  try {
    for await (const raw of source) {
      const chunk = carry.length > 0 ? Buffer.concat([carry, raw as Buffer]) : (raw as Buffer);
      const open = openSequence(chunk);
      if (!isUtf8(chunk.subarray(0, chunk.length - open))) return false;
      carry = Buffer.from(chunk.subarray(chunk.length - open));
    }
    return carry.length === 0;
  } finally {
    source.destroy();
  }
}

/**
 * Facts about stored blobs (a log's size and whether it is UTF-8), remembered by key: a
 * blob never changes under its sha256, so each is worked out once, up to `max` of them.
 * Readers asking at the same time share one computation: a burst of first requests for
 * a large log would otherwise each read it through once more.
 */
export class BlobFacts<T> {
  private readonly known = new Map<string, Promise<T>>();

  constructor(private readonly max = 1024) {}

  of(sha256: string, compute: () => Promise<T>): Promise<T> {
    const known = this.known.get(sha256);
    if (known) return known;
    const facts = compute();
    if (this.known.size >= this.max) this.known.delete(this.known.keys().next().value!);
    this.known.set(sha256, facts);
    // A failed read (a blob gone, a store down) is not a fact: ask again next time.
    facts.catch(() => this.known.delete(sha256));
    return facts;
  }
}
