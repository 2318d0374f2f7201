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
 * Inputs and outputs move by transfer (no copy), so the caller hands over an ArrayBuffer
 * of exactly the frame. Workers are unref'd while idle: an idle pool never keeps a
 * process alive, a busy one does (a pending compression must finish).
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
    const input = new Uint8Array(task.input);
    const output = Buffer.allocUnsafeSlow(b.compressBound(input.length));
    const length = cctx.compress2(output, input);
    parentPort.postMessage({ id: task.id, output: output.buffer, length }, [output.buffer]);
  } catch (error) {
    parentPort.postMessage({ id: task.id, error: String(error && error.message || error) });
  }
});
`;

interface Task {
  id: number;
  input: ArrayBuffer;
  resolve: (output: Buffer) => void;
  reject: (error: Error) => void;
}

interface Reply {
  id: number;
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
}

export class CompressPool {
  readonly threads: number;
  private readonly options: CompressPoolOptions;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;

  constructor(options: CompressPoolOptions) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new RangeError(`CompressPool threads: ${options.threads} must be a positive integer`);
    }
    this.options = options;
    this.threads = options.threads;
  }

  /** Frames queued or being compressed. */
  get pending(): number {
    return this.queue.length + this.slots.filter((slot) => slot.task !== null).length;
  }

  /** Live worker threads (started lazily, at most `threads`). */
  get workers(): number {
    return this.slots.length;
  }

  /**
   * Compresses `input` (transferred: the caller must not use it afterwards) as one
   * independent frame with its content size.
   */
  compress(input: ArrayBuffer): Promise<Buffer> {
    if (this.closed) {
      return Promise.reject(new RunboxError('Internal', 'zstd compression pool is closed'));
    }
    return new Promise<Buffer>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, input, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every worker; queued and running frames fail. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new RunboxError('Internal', 'zstd compression pool closed');
    for (const task of this.queue.splice(0)) task.reject(error);
    const slots = this.slots.splice(0);
    for (const slot of slots) slot.task?.reject(error);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((candidate) => candidate.task === null);
      if (!slot) {
        if (this.slots.length >= this.threads) return;
        slot = this.startWorker();
      }
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage({ id: task.id, input: task.input }, [task.input]);
    }
  }

  private startWorker(): Slot {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bindingPath: this.options.bindingPath, level: this.options.level },
      // A frame is at most 64 MiB in and out; the worker holds little else.
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
    const slot: Slot = { worker, task: null };
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const task = slot.task;
      if (!task || task.id !== reply.id) return;
      slot.task = null;
      worker.unref();
      if (reply.error !== undefined || reply.output === undefined) {
        task.reject(new RunboxError('Internal', `zstd compression failed: ${reply.error}`));
      } else {
        task.resolve(Buffer.from(reply.output, 0, reply.length));
      }
      this.dispatch();
    });
    const lost = (error: Error): void => {
      // A worker that dies takes only its own frame with it; the next frame gets a fresh one.
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      slot.task?.reject(
        new RunboxError('Internal', `zstd compression worker stopped: ${error.message}`, {
          cause: error,
        }),
      );
      slot.task = null;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`exit code ${code}`)));
    this.slots.push(slot);
    return slot;
  }
}
