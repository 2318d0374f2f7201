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
  return Buffer.from(`\n[runbox: ${omitted} ${omitted === 1 ? 'byte' : 'bytes'} omitted]\n`);
}

/** Room kept for the marker: its longest form, for any count a Number holds exactly. */
export const MARKER_RESERVE = omittedMarker(Number.MAX_SAFE_INTEGER).length;
/** Below this cap there is no room for head, marker and tail: the first bytes are kept. */
export const SMALLEST_MARKED_CAP = 128;

/**
 * The marker and the tail length for a cut log whose head and marker and tail fill
 * exactly `room` bytes after the head. The count depends on the marker's own length
 * (the tail gives up what the marker takes), so it is found as a fixed point: adding
 * under MARKER_RESERVE bytes to the count adds at most one digit, so this settles at
 * once or on the second turn.
 */
function cutMarker(lost: number, room: number): { marker: Buffer; tail: number } {
  let marker = omittedMarker(lost);
  for (;;) {
    const next = omittedMarker(lost + marker.length);
    if (next.length === marker.length) return { marker: next, tail: room - next.length };
    marker = next;
  }
}

/**
 * Keeps one log stream within its cap: the stored log is never longer than the cap,
 * and a cut one is exactly the cap long. The head (the first cap - tail - MARKER_RESERVE
 * bytes) goes to a spool file as it comes, and the last tail + MARKER_RESERVE bytes (the
 * tail at most 1 MiB) to a ring buffer, counting every byte; a cut log is the head, the
 * marker and as much of the ring's end as the marker leaves room for. The head is never
 * shortened at the end: live followers have read it from the spool already and go on
 * from its length in the stored log. Memory stays under ~1 MiB per stream. Chunks are
 * kept as the bytes they are: nothing here (or on the way to a reader) decodes them.
 */
export class LogCapture {
  private total = 0;
  private readonly headCap: number;
  private readonly ringCap: number;
  private headLen = 0;
  private spool: FileHandle | null = null;
  private ring: Buffer | null = null;
  private ringPos = 0;
  private ringFilled = 0;

  constructor(private readonly options: LogCaptureOptions) {
    const cap = Math.max(0, Math.floor(options.capBytes));
    if (cap < SMALLEST_MARKED_CAP) {
      this.headCap = cap;
      this.ringCap = 0;
      return;
    }
    const tailCap = Math.min(MAX_TAIL_BYTES, Math.floor((cap - MARKER_RESERVE) / 2));
    this.headCap = cap - MARKER_RESERVE - tailCap;
    this.ringCap = tailCap + MARKER_RESERVE;
  }

  get bytes(): number {
    return this.total;
  }

  get truncated(): boolean {
    return this.total > this.headCap + this.ringCap;
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
    if (this.ringCap === 0) return;
    this.ring ??= Buffer.allocUnsafe(this.ringCap);
    if (part.length >= this.ringCap) {
      part.copy(this.ring, 0, part.length - this.ringCap);
      this.ringPos = 0;
      this.ringFilled = this.ringCap;
      return;
    }
    const first = Math.min(part.length, this.ringCap - this.ringPos);
    part.copy(this.ring, this.ringPos, 0, first);
    part.copy(this.ring, 0, first);
    this.ringPos = (this.ringPos + part.length) % this.ringCap;
    this.ringFilled = Math.min(this.ringCap, this.ringFilled + part.length);
  }

  /** The ring's bytes, oldest first. */
  private ringBytes(): Buffer {
    if (!this.ring) return Buffer.alloc(0);
    if (this.ringFilled < this.ringCap) return this.ring.subarray(0, this.ringFilled);
    return Buffer.concat([this.ring.subarray(this.ringPos), this.ring.subarray(0, this.ringPos)]);
  }

  private async *kept(): AsyncGenerator<Buffer> {
    if (this.spool) {
      await this.spool.close();
      this.spool = null;
      for await (const chunk of createReadStream(this.options.spoolPath)) yield chunk as Buffer;
    }
    const ring = this.ringBytes();
    if (!this.truncated || this.ringCap === 0) {
      if (ring.length > 0) yield ring;
      return;
    }
    // A cut log's ring is full (more than ringCap bytes came after the head).
    const { marker, tail } = cutMarker(this.total - this.headLen - this.ringCap, this.ringCap);
    yield marker;
    yield ring.subarray(ring.length - tail);
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
  /** Whether the live listener no longer paces reading (release()), and that moment. */
  private unpaced = false;
  private readonly released: Promise<void>;
  private endPacing!: () => void;

  constructor(
    capBytes: number,
    spoolDir: string,
    private readonly onLog?: (stream: LogStream, chunk: Buffer) => void | Promise<void>,
    secrets: readonly string[] = [],
  ) {
    this.stdout = new LogCapture({ capBytes, spoolPath: join(spoolDir, headFileName('stdout')) });
    this.stderr = new LogCapture({ capBytes, spoolPath: join(spoolDir, headFileName('stderr')) });
    this.masks = { stdout: new SecretMask(secrets), stderr: new SecretMask(secrets) };
    this.released = new Promise((resolve) => (this.endPacing = resolve));
  }

  async write(stream: LogStream, chunk: Buffer): Promise<void> {
    await this.emit(stream, this.masks[stream].push(chunk));
  }

  /**
   * From now on the live listener's promise no longer holds reading back, and a wait on
   * it ends: called once the container has stopped, when what is left is only the bytes
   * in transit (pipe and socket buffers), so a stalled reader of `runbox run` cannot cut
   * the stored log short (settle's limit) or hang the run.
   */
  release(): void {
    this.unpaced = true;
    this.endPacing();
  }

  private async emit(stream: LogStream, chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    let paced: void | Promise<void> = undefined;
    if (this.onLog) {
      try {
        paced = this.onLog(stream, chunk);
      } catch {
        // A failing live listener must not lose the job's log.
      }
    }
    await this[stream].write(chunk);
    // A listener's failure is its own; the log goes on.
    if (paced && !this.unpaced) await Promise.race([paced.catch(() => {}), this.released]);
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
