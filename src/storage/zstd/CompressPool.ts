import { Worker } from 'node:worker_threads';
import { RunboxError } from '../../errors/index.js';

/**
 * zstd frame compression on worker threads, so that collecting a large output overlaps
 * reading the container's archive and hashing (main thread) with compression (here).
 * zstd-napi has no asynchronous API; each worker loads the same .node file with
 * process.dlopen (it is an N-API addon, so one copy per thread is allowed) and compresses
 * with its own context, set exactly as nativeCodec.ts sets its Compressor: same library,
 * same parameters, so a frame is byte-for-byte what the synchronous codec writes.
 *
 * The worker's code is a string evaluated in the thread (eval: true): inside the single
 * executable there is no file to point a Worker at, and process.dlopen needs no require.
 * Workers are unref'd while idle: an idle pool never keeps a process alive, a busy one
 * does (a pending compression must finish).
 *
 * Memory: every large buffer is allocated on the main thread and recycled. The frame's
 * input is copied into a pooled ArrayBuffer, which goes to the worker with a pooled
 * output buffer (both transferred, not copied) and comes back with it; the compressed
 * bytes are then copied into a buffer of their own size. A first version let the
 * workers allocate their outputs: each thread got its own malloc arena, and 256 MiB of
 * output raised a server's peak RSS from ~126 to ~200 MiB (measured); recycled buffers
 * keep it where compressing on the main thread left it.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = { exports: {} };
process.dlopen(addon, workerData.bindingPath);
const b = addon.exports;
const cctx = new b.CCtx();
cctx.setParameter(b.CParameter.compressionLevel, workerData.level);
cctx.setParameter(b.CParameter.contentSizeFlag, 1);
cctx.setParameter(b.CParameter.checksumFlag, 0);
parentPort.on('message', (task) => {
  try {
    const input = new Uint8Array(task.input, 0, task.length);
    let output = task.output;
    if (output.byteLength < b.compressBound(task.length)) {
      output = new ArrayBuffer(b.compressBound(task.length));
    }
    const length = cctx.compress2(new Uint8Array(output), input);
    parentPort.postMessage(
      { id: task.id, input: task.input, output, length },
      [task.input, output],
    );
  } catch (error) {
    parentPort.postMessage({ id: task.id, error: String((error && error.message) || error) });
  }
});
`;

/** Threads idle this long are stopped (a server between large outputs holds none). */
const IDLE_MS = 30_000;

interface Task {
  id: number;
  input: ArrayBuffer;
  /** Bytes of `input` that are the frame. */
  length: number;
  output: ArrayBuffer;
  resolve: (output: Buffer) => void;
  reject: (error: Error) => void;
}

interface Reply {
  id: number;
  input?: ArrayBuffer;
  output?: ArrayBuffer;
  length?: number;
  error?: string;
}

interface Slot {
  worker: Worker;
  /** The task this worker is compressing, if any (one at a time per worker). */
  task: Task | null;
}

export interface CompressPoolOptions {
  /** The zstd-napi .node file (node_modules, or extracted from the binary). */
  bindingPath: string;
  level: number;
  threads: number;
  /** Threads idle this long are stopped. @defaultValue 30 s */
  idleMs?: number;
}

/** ZSTD_COMPRESSBOUND (zstd.h): the most one frame of `bytes` input can take. */
export function compressBound(bytes: number): number {
  const small = 128 * 1024;
  return bytes + (bytes >>> 8) + (bytes < small ? (small - bytes) >>> 11 : 0);
}

export class CompressPool {
  readonly threads: number;
  private readonly idleMs: number;
  private readonly options: CompressPoolOptions;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;
  /** Spare buffers: each task takes one of each and gives them back. */
  private readonly spareInputs: ArrayBuffer[] = [];
  private readonly spareOutputs: ArrayBuffer[] = [];
  private idleTimer: NodeJS.Timeout | null = null;
  private busy = 0;

  constructor(options: CompressPoolOptions) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new RangeError(`CompressPool threads: ${options.threads} must be a positive integer`);
    }
    this.options = options;
    this.threads = options.threads;
    this.idleMs = options.idleMs ?? IDLE_MS;
  }

  /** Frames queued or being compressed. */
  get pending(): number {
    return this.queue.length + this.busy;
  }

  /** Live worker threads (started lazily, at most `threads`). */
  get workers(): number {
    return this.slots.length;
  }

  /**
   * Compresses the concatenation of `pieces` as one independent frame with its content
   * size. The pieces are copied before this returns: the caller may reuse them.
   */
  compress(pieces: readonly Uint8Array[]): Promise<Buffer> {
    if (this.closed) {
      return Promise.reject(new RunboxError('Internal', 'zstd compression pool is closed'));
    }
    let length = 0;
    for (const piece of pieces) length += piece.length;
    const input = this.take(this.spareInputs, length);
    const view = new Uint8Array(input);
    let at = 0;
    for (const piece of pieces) {
      view.set(piece, at);
      at += piece.length;
    }
    const output = this.take(this.spareOutputs, compressBound(length));
    return new Promise<Buffer>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, input, length, output, resolve, reject });
      this.dispatch();
    });
  }

  /** A spare buffer of at least `bytes`, or a new one (smaller spares are dropped). */
  private take(spares: ArrayBuffer[], bytes: number): ArrayBuffer {
    while (spares.length > 0) {
      const spare = spares.pop()!;
      if (spare.byteLength >= bytes) return spare;
    }
    return new ArrayBuffer(bytes);
  }

  /** Keeps a returned buffer for the next task, up to what the threads can use at once. */
  private giveBack(spares: ArrayBuffer[], buffer: ArrayBuffer | undefined): void {
    if (buffer && buffer.byteLength > 0 && spares.length < 2 * this.threads + 2) {
      spares.push(buffer);
    }
  }

  /** Stops every worker; queued and running frames fail. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const error = new RunboxError('Internal', 'zstd compression pool closed');
    for (const task of this.queue.splice(0)) task.reject(error);
    const slots = this.slots.splice(0);
    for (const slot of slots) slot.task?.reject(error);
    this.busy = 0;
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    while (this.queue.length > 0) {
      let slot = this.slots.find((candidate) => candidate.task === null);
      if (!slot) {
        if (this.slots.length >= this.threads) return;
        slot = this.startWorker();
      }
      const task = this.queue.shift()!;
      slot.task = task;
      this.busy += 1;
      slot.worker.ref();
      slot.worker.postMessage(
        { id: task.id, input: task.input, length: task.length, output: task.output },
        [task.input, task.output],
      );
    }
  }

  /** Stops every thread once the pool has stayed idle for IDLE_MS. */
  private stopWhenIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.busy > 0 || this.queue.length > 0) return;
      for (const slot of this.slots.splice(0)) void slot.worker.terminate();
      this.spareInputs.length = 0;
      this.spareOutputs.length = 0;
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private startWorker(): Slot {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bindingPath: this.options.bindingPath, level: this.options.level },
      // Its large buffers are the main thread's (see above); its own heap stays tiny.
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
    });
    const slot: Slot = { worker, task: null };
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const task = slot.task;
      if (!task || task.id !== reply.id) return;
      slot.task = null;
      this.busy -= 1;
      worker.unref();
      if (reply.error !== undefined || reply.output === undefined) {
        task.reject(new RunboxError('Internal', `zstd compression failed: ${reply.error}`));
      } else {
        // A copy of its own size: the output buffer goes back to the spares.
        const frame = Buffer.allocUnsafe(reply.length!);
        frame.set(new Uint8Array(reply.output, 0, reply.length));
        this.giveBack(this.spareInputs, reply.input);
        this.giveBack(this.spareOutputs, reply.output);
        task.resolve(frame);
      }
      this.dispatch();
      if (this.busy === 0 && this.queue.length === 0) this.stopWhenIdle();
    });
    const lost = (error: Error): void => {
      // A worker that dies takes only its own frame with it; the next frame gets a fresh one.
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      if (slot.task) {
        this.busy -= 1;
        slot.task.reject(
          new RunboxError('Internal', `zstd compression worker stopped: ${error.message}`, {
            cause: error,
          }),
        );
        slot.task = null;
      }
      if (!this.closed) this.dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`exit code ${code}`)));
    this.slots.push(slot);
    return slot;
  }
}
