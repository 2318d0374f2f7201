import { createReadStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { LogInfo } from '../contract/resultSchema.js';
import type { BlobBatch, BlobStore } from '../storage/BlobStore.js';
import type { LogStream } from './Executor.js';
import { SecretMask } from './secretMask.js';

const MiB = 1024 * 1024;
/** The tail never takes more memory than this, whatever the cap. */
export const MAX_TAIL_BYTES = MiB;

export interface LogCaptureOptions {
  /** Kept bytes (head + tail); beyond it the middle is dropped. config.limits.logBytes */
  capBytes: number;
  /**
   * Where the head is written as it comes (a host-only folder removed after the run).
   * It is the job's output byte for byte while under the cap, so followers in any
   * process on this host read it live (worker/spoolLogs.ts).
   */
  spoolPath: string;
}

/** The line put between head and tail of a truncated log, so a reader sees the cut. */
export function omittedMarker(omitted: number): Buffer {
  return Buffer.from(`\n[runbox: ${omitted} bytes omitted]\n`);
}

/**
 * Keeps one log stream within its cap: the first (cap - tail) bytes as the head, in a
 * spool file, and the last `tail` bytes (at most 1 MiB) in a ring buffer, counting
 * every byte. Memory stays under ~1 MiB per stream. Chunks are kept as the bytes they
 * are: nothing here (or anywhere on the way to a reader) decodes them as text.
 */
export class LogCapture {
  private total = 0;
  private readonly headCap: number;
  private readonly tailCap: number;
  private headLen = 0;
  private spool: FileHandle | null = null;
  private ring: Buffer | null = null;
  private ringPos = 0;
  private ringFilled = 0;

  constructor(private readonly options: LogCaptureOptions) {
    const cap = Math.max(0, Math.floor(options.capBytes));
    this.tailCap = Math.min(MAX_TAIL_BYTES, Math.floor(cap / 2));
    this.headCap = cap - this.tailCap;
  }

  get bytes(): number {
    return this.total;
  }

  get truncated(): boolean {
    return this.total > this.headCap + this.tailCap;
  }

  async write(chunk: Buffer): Promise<void> {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headLen < this.headCap) {
      const take = Math.min(this.headCap - this.headLen, rest.length);
      await this.appendHead(rest.subarray(0, take));
      rest = rest.subarray(take);
    }
    if (rest.length > 0) this.pushTail(rest);
  }

  private async appendHead(part: Buffer): Promise<void> {
    this.headLen += part.length;
    this.spool ??= await open(this.options.spoolPath, 'w', 0o600);
    await this.spool.write(part);
  }

  private pushTail(part: Buffer): void {
    if (this.tailCap === 0) return;
    this.ring ??= Buffer.allocUnsafe(this.tailCap);
    if (part.length >= this.tailCap) {
      part.copy(this.ring, 0, part.length - this.tailCap);
      this.ringPos = 0;
      this.ringFilled = this.tailCap;
      return;
    }
    const first = Math.min(part.length, this.tailCap - this.ringPos);
    part.copy(this.ring, this.ringPos, 0, first);
    part.copy(this.ring, 0, first);
    this.ringPos = (this.ringPos + part.length) % this.tailCap;
    this.ringFilled = Math.min(this.tailCap, this.ringFilled + part.length);
  }

  private async *kept(): AsyncGenerator<Buffer> {
    if (this.spool) {
      await this.spool.close();
      this.spool = null;
      for await (const chunk of createReadStream(this.options.spoolPath)) yield chunk as Buffer;
    }
    if (this.truncated) yield omittedMarker(this.total - this.headLen - this.ringFilled);
    if (!this.ring || this.ringFilled === 0) return;
    if (this.ringFilled < this.tailCap) {
      yield this.ring.subarray(0, this.ringFilled);
    } else {
      yield this.ring.subarray(this.ringPos);
      if (this.ringPos > 0) yield this.ring.subarray(0, this.ringPos);
    }
  }

  /** Stores the kept bytes as one blob (none for an empty stream) and frees everything. */
  async finish(store: BlobStore, batch?: BlobBatch): Promise<LogInfo> {
    try {
      if (this.total === 0) return { bytes: 0, truncated: false, blob: null };
      const stored = await store.put(Readable.from(this.kept()), batch ? { batch } : {});
      return { bytes: this.total, truncated: this.truncated, blob: stored.sha256 };
    } finally {
      await this.discard();
    }
  }

  /** Frees memory and the spool file without storing anything. */
  async discard(): Promise<void> {
    this.ring = null;
    if (this.spool) {
      await this.spool.close().catch(() => {});
      this.spool = null;
    }
    await rm(this.options.spoolPath, { force: true });
  }
}

/** The file in an attempt's spool folder holding one stream's head as it is written. */
export function headFileName(stream: LogStream): string {
  return `${stream}.head`;
}

/**
 * stdout and stderr of one run, each capped on its own, with a live callback. Secret
 * values are masked before anything sees the bytes: live followers, the stored log.
 */
export class JobLogs {
  readonly stdout: LogCapture;
  readonly stderr: LogCapture;
  private readonly masks: Record<LogStream, SecretMask>;

  constructor(
    capBytes: number,
    spoolDir: string,
    private readonly onLog?: (stream: LogStream, chunk: Buffer) => void,
    secrets: readonly string[] = [],
  ) {
    this.stdout = new LogCapture({ capBytes, spoolPath: join(spoolDir, headFileName('stdout')) });
    this.stderr = new LogCapture({ capBytes, spoolPath: join(spoolDir, headFileName('stderr')) });
    this.masks = { stdout: new SecretMask(secrets), stderr: new SecretMask(secrets) };
  }

  async write(stream: LogStream, chunk: Buffer): Promise<void> {
    await this.emit(stream, this.masks[stream].push(chunk));
  }

  private async emit(stream: LogStream, chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    if (this.onLog) {
      try {
        this.onLog(stream, chunk);
      } catch {
        // A failing live listener must not lose the job's log.
      }
    }
    await this[stream].write(chunk);
  }

  /** Releases what the masks still hold back (the stream has ended). */
  private async flushMasks(): Promise<void> {
    await this.emit('stdout', this.masks.stdout.end());
    await this.emit('stderr', this.masks.stderr.end());
  }

  async finish(store: BlobStore, batch?: BlobBatch): Promise<{ stdout: LogInfo; stderr: LogInfo }> {
    await this.flushMasks();
    const stdout = await this.stdout.finish(store, batch);
    const stderr = await this.stderr.finish(store, batch);
    return { stdout, stderr };
  }

  /** Counts without blobs, for a run that could not store them. */
  async discard(): Promise<{ stdout: LogInfo; stderr: LogInfo }> {
    const info = (c: LogCapture): LogInfo => ({
      bytes: c.bytes,
      truncated: c.truncated,
      blob: null,
    });
    const result = { stdout: info(this.stdout), stderr: info(this.stderr) };
    await Promise.all([this.stdout.discard(), this.stderr.discard()]);
    return result;
  }
}
