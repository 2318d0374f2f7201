/** What a secret value becomes in logs (the same word answers use for redacted env). */
export const SECRET_MARK = Buffer.from('[secret]');

/**
 * Replaces secret values in one byte stream, even when a value is split across
 * chunks: bytes that could be the start of a value are held back until the next chunk
 * says whether it is. The longest value decides how much is held (at most its length
 * minus one byte); `end()` releases the rest. Matching is on the values' UTF-8 bytes,
 * leftmost first, the longer value first when two start at one place; an encoded form
 * (base64, hex, split by the job's own formatting) is not recognised.
 */
export class SecretMask {
  private readonly secrets: Buffer[];
  private readonly longest: number;
  private held: Buffer = Buffer.alloc(0);

  constructor(values: readonly string[]) {
    const unique = [...new Set(values.filter((v) => v.length > 0))];
    // Longest first, so at a tie the longer value wins.
    this.secrets = unique.map((v) => Buffer.from(v, 'utf8')).sort((a, b) => b.length - a.length);
    this.longest = this.secrets[0]?.length ?? 0;
  }

  get active(): boolean {
    return this.secrets.length > 0;
  }

  /** The bytes of `chunk` that can be released now, masked. */
  push(chunk: Buffer): Buffer {
    if (!this.active) return chunk;
    const data = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    return this.scan(data, false);
  }

  /** Everything still held, masked: call once the stream ended. */
  end(): Buffer {
    const data = this.held;
    this.held = Buffer.alloc(0);
    return data.length === 0 ? data : this.scan(data, true);
  }

  private scan(data: Buffer, final: boolean): Buffer {
    const out: Buffer[] = [];
    let pos = 0;
    for (;;) {
      const match = this.firstMatch(data, pos);
      const hold = final ? -1 : this.firstPartial(data, pos);
      // A value that may still complete at or before the next full match is waited for:
      // emitting the match first could release the start of a longer value.
      if (hold !== -1 && (match === null || hold <= match.at)) {
        out.push(data.subarray(pos, hold));
        this.held = Buffer.from(data.subarray(hold));
        return Buffer.concat(out);
      }
      if (match === null) {
        out.push(data.subarray(pos));
        this.held = Buffer.alloc(0);
        return Buffer.concat(out);
      }
      out.push(data.subarray(pos, match.at), SECRET_MARK);
      pos = match.at + match.length;
    }
  }

  private firstMatch(data: Buffer, from: number): { at: number; length: number } | null {
    let best: { at: number; length: number } | null = null;
    for (const secret of this.secrets) {
      const at = data.indexOf(secret, from);
      if (at !== -1 && (best === null || at < best.at)) best = { at, length: secret.length };
    }
    return best;
  }

  /** The first position from which the rest of data is a proper prefix of some value. */
  private firstPartial(data: Buffer, from: number): number {
    for (let at = Math.max(from, data.length - this.longest + 1); at < data.length; at++) {
      const rest = data.length - at;
      for (const secret of this.secrets) {
        if (secret.length > rest && data.compare(secret, 0, rest, at, data.length) === 0) {
          return at;
        }
      }
    }
    return -1;
  }
}
