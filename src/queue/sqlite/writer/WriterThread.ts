import { Worker } from 'node:worker_threads';
import type { ClaimedJob, FinishOutcome } from '../../types.js';
import {
  deserializeError,
  type SerializedError,
  type WriterData,
  type WriterReply,
  type WriterTask,
} from './protocol.js';
import { writerThreadSource } from './writerSource.js';

interface Waiter {
  resolve: (value: { outcomes: FinishOutcome[]; claimed: ClaimedJob[] }) => void;
  reject: (error: unknown) => void;
}

/**
 * The queue's side of its writer thread (threadMain.ts): starts it, hands it
 * finish-and-claim tasks and settles their promises from its answers, in any order.
 *
 * The thread is held (ref'd) only while it starts and while a task is out, so an idle
 * one never keeps a process alive. If it fails (cannot start, or dies), every task out is rejected with
 * why, `usable` turns false for good and `onFailure` is told once: the queue then does
 * the same work on its own connection.
 */
export class WriterThread {
  /** True once the thread has opened its connection; false if it never will. */
  readonly ready: Promise<boolean>;
  private readonly worker: Worker;
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private failure: Error | null = null;
  private closing = false;
  private started = false;

  constructor(data: WriterData, onFailure: (error: Error) => void) {
    // Held while it starts: a call waiting for the start must not see the process end.
    this.worker = new Worker(writerThreadSource(), { eval: true, workerData: data });
    let started: (ok: boolean) => void;
    this.ready = new Promise((resolve) => (started = resolve));
    const fail = (error: Error) => {
      if (this.failure !== null) return;
      this.failure = error;
      started(false);
      for (const waiter of this.waiters.values()) waiter.reject(error);
      this.waiters.clear();
      if (!this.closing) onFailure(error);
    };
    this.worker.on('message', (reply: WriterReply) => {
      if ('ready' in reply) {
        this.started = true;
        if (this.waiters.size === 0) this.worker.unref();
        started(true);
        return;
      }
      const waiter = this.waiters.get(reply.id);
      if (waiter === undefined) return;
      this.waiters.delete(reply.id);
      if (this.waiters.size === 0) this.worker.unref();
      if ('error' in reply) waiter.reject(deserializeError(reply.error as SerializedError));
      else waiter.resolve(reply.value);
    });
    this.worker.on('error', (error) => fail(error));
    this.worker.on('exit', (code) =>
      fail(new Error(`the queue's writer thread stopped (exit code ${code})`)),
    );
  }

  /** False once the thread has failed or is closing: callers use their own connection. */
  get usable(): boolean {
    return this.failure === null && !this.closing;
  }

  /** Started, and no task out: a call that was waiting for the start has sent its task by now. */
  get idle(): boolean {
    return this.started && this.waiters.size === 0;
  }

  run(task: Omit<WriterTask, 'id'>): Promise<{ outcomes: FinishOutcome[]; claimed: ClaimedJob[] }> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiters.set(id, { resolve, reject });
      if (this.waiters.size === 1) this.worker.ref();
      this.worker.postMessage({ ...task, id } satisfies WriterTask);
    });
  }

  /** Lets the tasks out finish, commits, closes the thread's connection and waits for it to end. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.failure !== null) return;
    const ended = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ close: true });
    this.worker.ref();
    await ended;
  }

  /** Stops the thread now (process exit paths): tasks out are rejected, uncommitted work is lost. */
  terminate(): void {
    this.closing = true;
    void this.worker.terminate();
  }
}
