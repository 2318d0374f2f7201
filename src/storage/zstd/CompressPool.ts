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
 * Memory and copies: frames go through "lanes", pairs of SharedArrayBuffers (input,
 * and output of compressBound(input)) allocated on the main thread and kept while the
 * pool is busy, 2 per thread (what FrameCompressor keeps in flight). A frame's pieces
 * are copied into a free lane's input; the worker compresses from there into the lane's
 * output and answers with the length only; the compressed bytes are copied into a buffer
 * of their own size and the lane is free again. A message names its lane by index and
 * carries the lane's buffers only the first time that worker sees them, so no
 * ArrayBuffer is created, transferred or detached per frame: transferring a pooled
 * input and output both ways (the version before) cost the main thread ~0.6 ms of
 * postMessage per frame and new ArrayBuffer objects on both sides for the garbage
 * collector. (A first version let the workers allocate their outputs: each thread got
 * its own malloc arena, and 256 MiB of output raised a server's peak RSS from ~126 to
 * ~200 MiB; lanes are the main thread's and few.)
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
const lanes = [];
parentPort.on('message', (task) => {
  try {
    if (task.input) lanes[task.lane] = { input: new Uint8Array(task.input), output: new Uint8Array(task.output) };
    const lane = lanes[task.lane];
    const length = cctx.compress2(lane.output, lane.input.subarray(0, task.length));
    parentPort.postMessage({ id: task.id, length });
  } catch (error) {
    parentPort.postMessage({ id: task.id, error: String((error && error.message) || error) });
  }
});
`;

/** A pair of shared buffers one frame at a time goes through (see above). */
interface Lane {
  index: number;
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
  inputView: Uint8Array;
  outputView: Uint8Array;
  /** Bumped when the buffers are replaced by larger ones (workers must be sent them). */
  generation: number;
  busy: boolean;
}

/** Threads idle this long are stopped (a server between large outputs holds none). */
const IDLE_MS = 30_000;

interface Task {
  id: number;
  /** The lane holding the frame's input, or null while queued with its own copy. */
  lane: Lane | null;
  /** The frame's input when no lane was free at compress() (a pool shared by many streams). */
  copy: Buffer | null;
  length: number;
  resolve: (output: Buffer) => void;
  reject: (error: Error) => void;
}

interface Reply {
  id: number;
  length?: number;
  error?: string;
}

interface Slot {
  worker: Worker;
  /** The task this worker is compressing, if any (one at a time per worker). */
  task: Task | null;
  /** Lane index -> generation of the buffers this worker has been sent. */
  seen: Map<number, number>;
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

/** Copies `pieces` one after another into `target` from its start. */
function copyInto(target: Uint8Array, pieces: readonly Uint8Array[]): void {
  let at = 0;
  for (const piece of pieces) {
    target.set(piece, at);
    at += piece.length;
  }
}

function newLane(index: number, bytes: number, generation: number): Lane {
  const input = new SharedArrayBuffer(bytes);
  const output = new SharedArrayBuffer(compressBound(bytes));
  const inputView = new Uint8Array(input);
  const outputView = new Uint8Array(output);
  return { index, input, output, inputView, outputView, generation, busy: false };
}

export class CompressPool {
  readonly threads: number;
  private readonly idleMs: number;
  private readonly options: CompressPoolOptions;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;
  /** At most 2 per thread; dropped with the threads when the pool goes idle. */
  private lanes: Lane[] = [];
  /**
   * Frame buffers given back (recycle) for the next frames, and the ones lent out: a
   * frame's bytes are copied out of its lane into one of these, so a writer that gives
   * them back once written makes a large blob allocate a handful of buffers, not one
   * per frame (each was external memory the garbage collector had to chase: measured,
   * the server's GC threads used ~0.5 s/GiB less without them).
   */
  private spareFrames: Buffer[] = [];
  private lentFrames = new WeakSet<ArrayBufferLike>();
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
    const lane = this.freeLane(length);
    let copy: Buffer | null = null;
    if (lane) copyInto(lane.inputView, pieces);
    else {
      // Every lane is taken (more streams than threads): a copy of its own until one is free.
      copy = Buffer.allocUnsafe(length);
      copyInto(copy, pieces);
    }
    return new Promise<Buffer>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, lane, copy, length, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Takes back a frame compress() returned, once nothing reads it (its write completed).
   * A frame this pool did not lend, or one already given back, is ignored.
   */
  recycle(frame: Buffer): void {
    const memory = frame.buffer;
    if (!this.lentFrames.has(memory)) return;
    this.lentFrames.delete(memory);
    if (this.spareFrames.length < 2 * this.threads + 2) {
      this.spareFrames.push(Buffer.from(memory, 0, memory.byteLength));
    }
  }

  /** A buffer of `bytes` for a frame: a spare one if it is large enough, else a new one. */
  private frameBuffer(bytes: number, capacity: number): Buffer {
    let whole: Buffer | undefined;
    while (!whole && this.spareFrames.length > 0) {
      const spare = this.spareFrames.pop()!;
      if (spare.length >= bytes) whole = spare; // smaller ones (an earlier frame size) dropped
    }
    // Its own memory (not Buffer's shared pool), so that .buffer names this frame alone.
    whole ??= Buffer.allocUnsafeSlow(capacity);
    this.lentFrames.add(whole.buffer);
    return whole.subarray(0, bytes);
  }

  /** A free lane whose input holds `bytes` (grown if needed), or null if all are taken. */
  private freeLane(bytes: number): Lane | null {
    let lane = this.lanes.find((candidate) => !candidate.busy);
    if (!lane) {
      if (this.lanes.length >= 2 * this.threads) return null;
      lane = newLane(this.lanes.length, bytes, 1);
      this.lanes.push(lane);
    } else if (lane.input.byteLength < bytes) {
      lane = newLane(lane.index, bytes, lane.generation + 1);
      this.lanes[lane.index] = lane;
    }
    lane.busy = true;
    return lane;
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
      const task = this.queue[0]!;
      if (!task.lane) {
        task.lane = this.freeLane(task.length);
        if (!task.lane) return; // every lane is on a thread; the next reply dispatches
        task.lane.inputView.set(task.copy!);
        task.copy = null;
      }
      this.queue.shift();
      const lane = task.lane;
      slot.task = task;
      this.busy += 1;
      slot.worker.ref();
      const fresh = slot.seen.get(lane.index) !== lane.generation;
      slot.seen.set(lane.index, lane.generation);
      slot.worker.postMessage(
        fresh
          ? {
              id: task.id,
              lane: lane.index,
              length: task.length,
              input: lane.input,
              output: lane.output,
            }
          : { id: task.id, lane: lane.index, length: task.length },
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
      this.lanes = [];
      this.spareFrames = [];
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
    const slot: Slot = { worker, task: null, seen: new Map() };
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const task = slot.task;
      if (!task || task.id !== reply.id) return;
      slot.task = null;
      this.busy -= 1;
      worker.unref();
      const lane = task.lane!;
      if (reply.error !== undefined || reply.length === undefined) {
        lane.busy = false;
        task.reject(new RunboxError('Internal', `zstd compression failed: ${reply.error}`));
      } else {
        // Copied out (into a recycled buffer when the writer gives them back): the lane
        // is free for the next frame.
        const frame = this.frameBuffer(reply.length, lane.output.byteLength);
        frame.set(lane.outputView.subarray(0, reply.length));
        lane.busy = false;
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
        // The lane's buffers are the main thread's: free for the next frame.
        if (slot.task.lane) slot.task.lane.busy = false;
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
