import { EventEmitter } from 'node:events';
import type { LogStream } from '../executor/Executor.js';

/** Bytes kept per running job and stream for followers who join late. */
const TAIL_BYTES = 256 * 1024;

interface JobTail {
  stdout: Buffer[];
  stderr: Buffer[];
  bytes: Record<LogStream, number>;
  events: EventEmitter;
}

export interface LogEvent {
  stream: LogStream;
  chunk: Buffer;
}

/**
 * The live tail of each job running in this process. Followers get the recent tail
 * at once, then every chunk as it comes, then 'end'. Finished jobs are dropped: their
 * logs are read from the blob store.
 */
export class LiveLogs {
  private readonly jobs = new Map<string, JobTail>();
  private readonly taps = new Map<string, (stream: LogStream, chunk: Buffer) => void>();

  /** Receives every chunk of one job from its start, even before it runs (runbox run). */
  tap(jobId: string, onChunk: (stream: LogStream, chunk: Buffer) => void): void {
    this.taps.set(jobId, onChunk);
  }

  begin(jobId: string): void {
    const events = new EventEmitter();
    events.setMaxListeners(0);
    this.jobs.set(jobId, { stdout: [], stderr: [], bytes: { stdout: 0, stderr: 0 }, events });
  }

  append(jobId: string, stream: LogStream, chunk: Buffer): void {
    const tail = this.jobs.get(jobId);
    if (!tail) return;
    const chunks = tail[stream];
    chunks.push(chunk);
    tail.bytes[stream] += chunk.length;
    while (tail.bytes[stream] - chunks[0]!.length >= TAIL_BYTES) {
      tail.bytes[stream] -= chunks.shift()!.length;
    }
    this.taps.get(jobId)?.(stream, chunk);
    tail.events.emit('data', { stream, chunk } satisfies LogEvent);
  }

  end(jobId: string): void {
    const tail = this.jobs.get(jobId);
    if (!tail) return;
    this.jobs.delete(jobId);
    this.taps.delete(jobId);
    tail.events.emit('end');
  }

  isLive(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  /**
   * The kept tail of one stream and a subscription to what follows; null when the job
   * is not running here. Call the returned unsubscribe when the follower leaves.
   */
  follow(
    jobId: string,
    stream: LogStream,
    onChunk: (chunk: Buffer) => void,
    onEnd: () => void,
  ): { tail: Buffer; unsubscribe: () => void } | null {
    const tail = this.jobs.get(jobId);
    if (!tail) return null;
    const onData = (event: LogEvent) => {
      if (event.stream === stream) onChunk(event.chunk);
    };
    tail.events.on('data', onData);
    tail.events.once('end', onEnd);
    return {
      tail: Buffer.concat(tail[stream]),
      unsubscribe: () => {
        tail.events.off('data', onData);
        tail.events.off('end', onEnd);
      },
    };
  }
}
