import { close, read } from 'node:fs';
import { Readable } from 'node:stream';
import type { RecyclingReadable } from '../storage/recycledInput.js';

/** Chunks lent out and not given back are the garbage collector's; this many are kept. */
const SPARES = 16;

/**
 * Bytes 0 to `size` of an open file, in chunks of `chunkBytes` read into buffers that are
 * reused once the consumer gives them back (recycledInput.ts). Closes `fd` when it ends or
 * is destroyed, as fs.createReadStream with autoClose does. Never reads past `size`.
 */
export class FileChunks extends Readable implements RecyclingReadable {
  private position = 0;
  /** A read in flight: the descriptor is closed after it, never under it. */
  private reading = false;
  private closeAfterRead: (() => void) | null = null;
  private readonly spares: Buffer[] = [];
  /** Each lent chunk by its memory: given back only whole, exactly as pushed. */
  private readonly lent = new WeakMap<ArrayBufferLike, Buffer>();

  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly chunkBytes: number,
  ) {
    super({ highWaterMark: chunkBytes });
  }

  recycle(chunk: Buffer): void {
    const whole = this.lent.get(chunk.buffer);
    if (!whole || whole.byteOffset !== chunk.byteOffset || whole.length !== chunk.length) return;
    this.lent.delete(chunk.buffer);
    if (this.spares.length < SPARES) {
      this.spares.push(Buffer.from(whole.buffer, whole.byteOffset, this.chunkBytes));
    }
  }

  override _read(): void {
    const want = Math.min(this.chunkBytes, this.size - this.position);
    if (want <= 0) {
      this.push(null);
      return;
    }
    // Its own memory (not Buffer's shared pool), so that .buffer names this chunk alone.
    const buffer = this.spares.pop() ?? Buffer.allocUnsafeSlow(this.chunkBytes);
    this.reading = true;
    read(this.fd, buffer, 0, want, this.position, (error, n) => {
      this.reading = false;
      if (this.closeAfterRead) {
        this.closeAfterRead();
        return;
      }
      if (error) {
        this.destroy(error);
        return;
      }
      if (n === 0) {
        this.push(null); // shorter than when it was opened
        return;
      }
      this.position += n;
      const chunk = buffer.subarray(0, n);
      this.lent.set(chunk.buffer, chunk);
      this.push(chunk);
    });
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    const closeFd = () => close(this.fd, (closeError) => done(error ?? closeError));
    if (this.reading) this.closeAfterRead = closeFd;
    else closeFd();
  }
}
