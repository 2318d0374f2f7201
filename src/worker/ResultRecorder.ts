import type { JobResult } from '../contract/resultSchema.js';
import type { Logger } from '../log.js';
import type { WorkQueue } from '../queue/QueueBackend.js';
import type { ClaimedJob, FinishItem, FinishOutcome } from '../queue/types.js';

export interface ResultRecorderOptions {
  queue: Pick<WorkQueue, 'finishAndClaim'>;
  /** Who claims along with the results, and from which queue. */
  claim: { workerId: string; reserved: boolean };
  log: Logger;
  /**
   * How many jobs to claim along with a batch, given how many results are handed over
   * and not yet recorded (their slots are free once they are): 0 when stopping.
   */
  claimRoom(unrecorded: number): number;
  /** Jobs claimed along with a batch of results. */
  onClaimed(jobs: ClaimedJob[]): void;
}

interface PendingRecord {
  item: FinishItem;
  resolve: (outcome: FinishOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * The worker pool's side of recording results: batching (every result of one turn of
 * the event loop in one finishAndClaim, the next jobs riding on the same commit) and
 * patience with a full disk. Apart from the pool so each reads on its own: the pool
 * owns slots, drain and leases; this owns what happens between a result and its commit.
 */
export class ResultRecorder {
  /** Results waiting for the next batch. */
  private readonly toRecord: PendingRecord[] = [];
  /** Results handed to the queue and not yet committed. */
  private recording = 0;
  /** Set when a stop's drain ran out: results kept for a full disk are given up. */
  private abandoned = false;
  /** Jobs asked for by finishAndClaim calls not yet answered. */
  claiming = 0;

  constructor(private readonly options: ResultRecorderOptions) {}

  /** Stop waiting for room on a full disk (a stop's drain ran out). */
  abandon(): void {
    this.abandoned = true;
  }

  /**
   * Records a result; while the disk is too full to write it (SQLITE_FULL), keeps it and
   * tries again until there is room, rather than letting the lease lapse and the job run
   * again for a result it already has. The job stays held meanwhile: the heartbeat renews
   * its lease once writes succeed, and the pool's reaper leaves it alone. Gives up only
   * when a stop's drain runs out (the job is then recovered like any interrupted one).
   */
  async record(
    job: Pick<ClaimedJob, 'id' | 'attempt'>,
    item: { id: string; token: string; result: JobResult },
  ): Promise<FinishOutcome> {
    for (let delay = 250, warned = false; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await this.recordBatched(item);
      } catch (error) {
        if (!isDiskFull(error) || this.abandoned) throw error;
        if (!warned) {
          warned = true;
          this.options.log.warn('the disk is full: keeping the result until it can be recorded', {
            job: job.id,
            attempt: job.attempt,
          });
        }
        await sleep(delay);
      }
    }
  }

  /**
   * Every result of one turn of the event loop is recorded by one finishAndClaim: one
   * transaction (committed with whatever else is pending, without waiting for the commit
   * window) that also claims the next jobs for the slots these results free. A result is
   * reported recorded only after that commit, as with finish(). Slots running real
   * containers finish one at a time and get one commit each, as before; short jobs at
   * high concurrency share commits instead of paying two fsyncs per job.
   */
  private recordBatched(item: FinishItem): Promise<FinishOutcome> {
    return new Promise((resolve, reject) => {
      this.toRecord.push({ item, resolve, reject });
      if (this.toRecord.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.toRecord.splice(0);
    if (batch.length === 0) return;
    this.recording += batch.length;
    const limit = this.options.claimRoom(this.recording + this.toRecord.length);
    this.claiming += limit;
    this.options.queue
      .finishAndClaim(
        batch.map((p) => p.item),
        { ...this.options.claim, limit },
      )
      .then(
        ({ outcomes, claimed }) => {
          this.recording -= batch.length;
          this.claiming -= limit;
          this.options.onClaimed(claimed);
          batch.forEach((p, i) => p.resolve(outcomes[i]!));
        },
        (error: unknown) => {
          this.recording -= batch.length;
          this.claiming -= limit;
          for (const p of batch) p.reject(error);
        },
      );
  }
}

/** The backend could not grow its storage: the disk (or its quota) is full. */
function isDiskFull(error: unknown): boolean {
  for (let e = error; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_FULL' || code === 'ENOSPC') return true;
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
