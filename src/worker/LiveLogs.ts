import type { LogStream } from '../executor/Executor.js';

/**
 * Live output of jobs running in this process, handed to whoever tapped the job
 * (`runbox run` prints its job's output as it comes). API followers read a running
 * job's output from its container instead (executor/containerLogs.ts), which works
 * whichever process runs the job.
 */
export class LiveLogs {
  private readonly taps = new Map<
    string,
    (stream: LogStream, chunk: Buffer, attempt: number) => void | Promise<void>
  >();

  /**
   * Receives every chunk of one job from its start, even before it runs, and of every
   * attempt (a retried `runbox run` job shows each run; `attempt` says which). A promise
   * `onChunk` returns paces the job's output (ExecuteRequest.onLog). Returns the untap.
   */
  tap(
    jobId: string,
    onChunk: (stream: LogStream, chunk: Buffer, attempt: number) => void | Promise<void>,
  ): () => void {
    this.taps.set(jobId, onChunk);
    return () => this.taps.delete(jobId);
  }

  append(jobId: string, stream: LogStream, chunk: Buffer, attempt: number): void | Promise<void> {
    return this.taps.get(jobId)?.(stream, chunk, attempt);
  }
}
