import type { WriterData } from './protocol.js';
import { WriterThread } from './WriterThread.js';

/** When the writer thread runs. */
export interface WriterPolicy {
  /**
   * A finishAndClaim with at least this many results starts the thread: several results
   * in one turn of the event loop mean jobs end faster than the loop turns (short jobs);
   * a pool of containers records one at a time and never pays the thread's memory
   * (~14 MiB). 1 starts it at the first call. @defaultValue 2
   */
  startAtResults: number;
  /** Stopped after this long without a call, memory and all. @defaultValue 30000 */
  idleMs: number;
}

export const DEFAULT_WRITER_POLICY: WriterPolicy = { startAtResults: 2, idleMs: 30_000 };

/**
 * The queue's writer thread over time: started when the pool gets busy with short jobs,
 * stopped when idle, never again once it has failed (the queue's own connection then
 * does its work, as it does while none runs).
 */
export class WriterLane {
  private thread: WriterThread | null = null;
  private failed = false;
  private idle: NodeJS.Timeout | null = null;
  private readonly stopping = new Set<Promise<void>>();

  constructor(
    private readonly data: () => WriterData,
    private readonly policy: WriterPolicy,
    private readonly onFailure: (error: Error) => void,
  ) {}

  /** The thread a call of `results` results should use (started if this call starts it), or null. */
  forCall(results: number): WriterThread | null {
    if (this.thread === null && !this.failed && results >= this.policy.startAtResults) {
      const failed = (error: Error) => {
        this.failed = true;
        this.onFailure(error);
      };
      try {
        this.thread = new WriterThread(this.data(), failed);
      } catch (error) {
        // No addon to give it, no thread to be had: the call goes on without one.
        failed(error instanceof Error ? error : new Error(String(error)));
      }
    }
    if (this.thread === null || !this.thread.usable) return null;
    this.idle?.refresh();
    this.idle ??= setTimeout(() => this.stopIdle(), this.policy.idleMs).unref();
    return this.thread;
  }

  private stopIdle(): void {
    this.idle = null;
    const thread = this.thread;
    if (thread === null) return;
    if (!thread.idle && thread.usable) {
      // Still starting, or answering: calls are waiting on it. Look again later.
      this.idle = setTimeout(() => this.stopIdle(), this.policy.idleMs).unref();
      return;
    }
    this.thread = null;
    const stopped = thread.close().finally(() => this.stopping.delete(stopped));
    this.stopping.add(stopped);
  }

  /** Stops the thread once its tasks are answered (the caller has let its calls finish). */
  async close(): Promise<void> {
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = null;
    this.failed = true;
    const thread = this.thread;
    this.thread = null;
    await Promise.all([thread?.close(), ...this.stopping]);
  }

  /** Stops it now (process exit paths): tasks out are rejected. */
  terminate(): void {
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = null;
    this.failed = true;
    this.thread?.terminate();
    this.thread = null;
  }
}
