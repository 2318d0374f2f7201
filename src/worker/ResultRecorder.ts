import type { JobResult } from '../contract/resultSchema.js';
import type { Logger } from '../log.js';
import type { WorkQueue } from '../queue/QueueBackend.js';
import { isQueueUnavailable } from '../queue/queueUnavailable.js';
import type { ClaimRequest, ClaimedJob, FinishItem, FinishOutcome } from '../queue/types.js';

export interface ResultRecorderOptions {
  queue: Pick<WorkQueue, 'finishAndClaim'>;
  /** Who claims along with the results (runbox run's pool: only jobs reserved for it). */
  claim: { workerId: string; reserved: boolean };
  log: Logger;
  /**
   * How many jobs to claim along with a batch, per named queue, given the jobs whose
   * results are handed over and not yet recorded (their slots are free once they are):
   * nothing when stopping.
   */
  claimRoom(unrecorded: ReadonlySet<string>): QueueRoom[];
  /** Jobs claimed along with a batch of results. */
  onClaimed(jobs: ClaimedJob[]): void;
}

/** Free slots of one named queue ('' for runbox run's reserved pool, which has no queues). */
export interface QueueRoom {
  name: string;
  limit: number;
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
  /** Jobs whose results are handed to the queue and not yet committed. */
  private readonly recording = new Set<string>();
  /** Set when a stop's drain ran out: results kept for a full disk are given up. */
  private abandoned = false;
  /** Jobs asked for by finishAndClaim calls not yet answered, per queue. */
  readonly claiming = new Map<string, number>();

  constructor(private readonly options: ResultRecorderOptions) {}

  /**
   * Results handed over and not yet committed: their commit claims the next jobs for the
   * slots they free, so a free slot waits for it rather than claiming on its own (a
   * commit, and an fsync, of its own).
   */
  get busy(): boolean {
    return this.toRecord.length > 0 || this.recording.size > 0;
  }

  /** Stop waiting for room on a full disk (a stop's drain ran out). */
  abandon(): void {
    this.abandoned = true;
  }

  /**
   * Records a result; while the disk is too full to write it (SQLITE_FULL), or the queue
   * database does not answer (PostgreSQL restarting, failing over), keeps it and tries
   * again until it can be written, rather than letting the lease lapse and the job run
   * again for a result it already has. The job stays held meanwhile: the heartbeat renews
   * its lease once writes succeed, and the pool's reaper leaves it alone. A database back
   * only after the lease expired has given the job to another attempt, whose token
   * refuses this result ('stale'): recorded once either way. Gives up only when a stop's
   * drain runs out (the job is then recovered like any interrupted one).
   */
  async record(
    job: Pick<ClaimedJob, 'id' | 'attempt'>,
    item: { id: string; token: string; result: JobResult },
  ): Promise<FinishOutcome> {
    for (let delay = 250, warned = false; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await this.recordBatched(item);
      } catch (error) {
        const full = isDiskFull(error);
        if ((!full && !isQueueUnavailable(error)) || this.abandoned) throw error;
        if (!warned) {
          warned = true;
          this.options.log.warn(
            full
              ? 'the disk is full: keeping the result until it can be recorded'
              : 'the queue database does not answer: keeping the result until it can be recorded',
            { job: job.id, attempt: job.attempt, ...(!full && { error: String(error) }) },
          );
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
    for (const p of batch) this.recording.add(p.item.id);
    // Every result handed over is in `recording` now (toRecord was just emptied): no copy.
    const rooms = this.options.claimRoom(this.recording);
    addRooms(this.claiming, rooms, 1);
    const settle = () => {
      for (const p of batch) this.recording.delete(p.item.id);
      addRooms(this.claiming, rooms, -1);
    };
    this.options.queue
      .finishAndClaim(
        batch.map((p) => p.item),
        claimOf(this.options.claim, rooms),
      )
      .then(
        ({ outcomes, claimed }) => {
          settle();
          this.options.onClaimed(claimed);
          batch.forEach((p, i) => p.resolve(outcomes[i]!));
        },
        (error: unknown) => {
          settle();
          // Nothing claimed: the slots that waited for this claim look for work themselves.
          this.options.onClaimed([]);
          for (const p of batch) p.reject(error);
        },
      );
  }
}

/** Adds (sign 1) or takes back (sign -1) the jobs asked for, per queue. */
export function addRooms(counts: Map<string, number>, rooms: readonly QueueRoom[], sign: 1 | -1) {
  for (const room of rooms) {
    const n = (counts.get(room.name) ?? 0) + sign * room.limit;
    if (n === 0) counts.delete(room.name);
    else counts.set(room.name, n);
  }
}

/** The claim for these rooms: a reserved pool's has no queues, only its total. */
export function claimOf(
  who: { workerId: string; reserved: boolean },
  rooms: readonly QueueRoom[],
): ClaimRequest {
  const limit = rooms.reduce((sum, room) => sum + room.limit, 0);
  return who.reserved
    ? { workerId: who.workerId, reserved: true, limit }
    : { workerId: who.workerId, reserved: false, limit, queues: rooms };
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
