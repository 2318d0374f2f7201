import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import { CURRENT_CONTRACT, type ContractDescriptor } from '../contract/contract.js';
import { cancelledAfterExit, failureResult } from '../contract/failureResult.js';
import type { JobResult } from '../contract/resultSchema.js';
import { checkResult } from '../contract/validateResult.js';
import type { AbortReason } from '../executor/Executor.js';
import { RunboxError, toRunboxError } from '../errors/index.js';
import { silentLogger, type Logger } from '../log.js';
import type { JobMetrics } from '../metrics.js';
import { markWorker, unmarkWorker } from '../nodes/dataDirWorkers.js';
import { idTime } from '../queue/ids.js';
import type { ClaimedJob } from '../queue/types.js';
import { parseJobSpec } from '../spec/parseJobSpec.js';
import { RUNBOX_VERSION } from '../version.js';
import type { LiveLogs } from './LiveLogs.js';
import type { RecoverableExecutor, WorkerQueue } from './ports.js';
import { reapExpiredLeases } from '../maintenance/reaper.js';
import type { QueueHealth } from '../queue/queueUnavailable.js';
import { recoverContainers } from './recoverContainers.js';
import { addRooms, claimOf, ResultRecorder, type QueueRoom } from './ResultRecorder.js';

export interface WorkerPoolOptions {
  config: Readonly<Config>;
  queue: WorkerQueue;
  executor: RecoverableExecutor;
  liveLogs: LiveLogs;
  logger?: Logger;
  /**
   * The contract this pool claims to speak. Tests inject another build's contract to
   * prove the handshake refuses it; production never sets it.
   */
  contract?: ContractDescriptor;
  /** How often an idle slot looks for work when nothing wakes it. @defaultValue 250 */
  pollMs?: number;
  /**
   * Claim only jobs reserved for this pool (runbox run submits its job reserved for its
   * own pool's id), and leave the shared queue and dead workers' jobs to other
   * processes. @defaultValue false
   */
  reserved?: boolean;
  /** Called with each result recorded by this pool (the queue benchmark counts with it). */
  onRecorded?: (result: JobResult) => void;
  /** Counters and histograms of what this pool does. @defaultValue none */
  metrics?: JobMetrics;
  /**
   * Where this node's API answers other nodes, registered with the worker so another
   * node can follow the logs of the jobs it runs. @defaultValue null
   */
  address?: string | null;
  /**
   * The Docker engine's state. While it is down the pool claims nothing: every claim
   * would fail at once and burn an attempt, so a few seconds of dockerd restart would
   * fail every queued job. @defaultValue always up
   */
  engine?: EngineState;
  /** Told by each reaper pass whether the queue database answered (for /healthz). */
  queueHealth?: QueueHealth;
}

/** What the pool needs to know about the engine (EngineMonitor provides it). */
export interface EngineState {
  /** false while known down; null before the first check counts as up. */
  isUp(): boolean | null;
  /** Report a run that found the engine unreachable. */
  markDown(): void;
}

/** Why a running job was stopped before it ended on its own. */
type StopReason = AbortReason | 'lost';

interface Running {
  job: ClaimedJob;
  controller: LazyAbort;
  done: Promise<void>;
  /**
   * Its run is over and its result is handed to the recorder: it still holds its lease
   * (heartbeated, kept from the reaper, waited for by a drain) but no longer its slot.
   */
  recording: boolean;
}

/**
 * Claim-ahead (like graphile-worker's local queue): how far back the pool looks to learn
 * how many jobs it gets through, and the most jobs it holds (running and unstarted)
 * because of it. A pool of short jobs (thousands a second) claims, beyond its free
 * slots, as many as it finished in the last window, so its commits carry hundreds of
 * jobs at any slot count; a pool of real containers claims nothing ahead (aheadFor).
 */
const AHEAD_WINDOW_MS = 100;
const AHEAD_MAX = 256;

/**
 * N slots that claim jobs, run them through the executor and record one result each.
 * Leases are renewed by one heartbeat timer for all held jobs; a lost lease aborts the
 * job and its late result is discarded by the queue's token check.
 */
export class WorkerPool {
  readonly id: string;
  private readonly config: Readonly<Config>;
  private readonly queue: WorkerQueue;
  private readonly executor: RecoverableExecutor;
  private readonly liveLogs: LiveLogs;
  private readonly log: Logger;
  private readonly contract: ContractDescriptor;
  private readonly pollMs: number;
  private readonly reserved: boolean;
  private readonly onRecorded: (result: JobResult) => void;
  private readonly metrics: JobMetrics | undefined;
  private readonly engine: EngineState | undefined;
  private readonly address: string | null;
  private readonly running = new Map<string, Running>();
  private readonly buffer: ClaimedJob[] = [];
  /**
   * Per job, the recording of its last attempt until that attempt's lifecycle line is
   * written: a retry claimed on the very commit that recorded the failure waits for it,
   * so a job's lines read queued, started, retried, started, in that order.
   */
  private readonly lines = new Map<string, Promise<void>>();
  /** Jobs finished per queue in the current and the previous AHEAD_WINDOW_MS. */
  private finishedNow = new Map<string, number>();
  private finishedBefore = new Map<string, number>();
  private windowStart = 0;
  private readonly recorder: ResultRecorder;
  /** Jobs asked for by this pool's own claim calls not yet answered, per queue. */
  private readonly claimsInFlight = new Map<string, number>();
  /**
   * Slots per named queue (config.queues, else `default` with config.workers); a job
   * runs only in a slot of its own queue. runbox run's reserved pool has one queue ''
   * of config.workers slots: the jobs reserved for it, whatever queue they name.
   */
  private readonly queueSlots: ReadonlyMap<string, number>;
  /** Idle slots wait on one promise (and one poll timer) until notify or the poll. */
  private idleWait: { promise: Promise<void>; wake: () => void } | null = null;
  private slots: Promise<void>[] = [];
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private started = false;
  private heartbeating = false;
  private reaping = false;
  private readonly queueHealth: QueueHealth | undefined;

  constructor(options: WorkerPoolOptions) {
    this.config = options.config;
    this.queue = options.queue;
    this.executor = options.executor;
    this.liveLogs = options.liveLogs;
    this.log = options.logger ?? silentLogger;
    this.contract = options.contract ?? CURRENT_CONTRACT;
    this.pollMs = options.pollMs ?? 250;
    this.reserved = options.reserved ?? false;
    this.onRecorded = options.onRecorded ?? (() => {});
    this.metrics = options.metrics;
    this.engine = options.engine;
    this.address = options.address ?? null;
    this.queueHealth = options.queueHealth;
    this.queueSlots = new Map(
      this.reserved
        ? [['', this.config.workers]]
        : Object.entries(this.config.queues ?? { default: this.config.workers }),
    );
    this.id = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.recorder = new ResultRecorder({
      queue: this.queue,
      claim: { workerId: this.id, reserved: this.reserved },
      log: this.log,
      // Slots busy once every pending result is in; the rest need a job each.
      claimRoom: (unrecorded) => (this.stopping ? [] : this.rooms(unrecorded)),
      onClaimed: (claimed) => this.takeClaimed(claimed),
    });
  }

  /**
   * Registers (the contract handshake: throws ContractMismatch before any claim),
   * recovers what a previous process left, then starts the slots.
   */
  async start(): Promise<void> {
    await markWorker(this.config.dataDir, this.id).catch((error: unknown) => {
      this.log.warn(
        'marking this worker in its data dir failed: another node on this host answers ' +
          "its running jobs' logs 503 NodeUnreachable until they end",
        { error: toRunboxError(error) },
      );
    });
    await this.queue.registerWorker({
      id: this.id,
      host: hostname(),
      pid: process.pid,
      version: RUNBOX_VERSION,
      contract: this.contract,
      queues: this.reserved ? {} : Object.fromEntries(this.queueSlots),
      address: this.address,
    });
    this.started = true;
    // runbox run leaves a crashed server's jobs to the next serve or worker.
    await this.recover(!this.reserved);
    // One pass now, not only from the first tick: a runbox run shorter than the interval
    // never reaped, so a killed run's job stayed 'running' with its container up.
    await this.reap();
    const { heartbeatMs } = this.config.lease;
    this.timers.push(setInterval(() => void this.heartbeat(), heartbeatMs));
    this.timers.push(setInterval(() => void this.reap(), Math.min(heartbeatMs, 1000)));
    for (const t of this.timers) t.unref();
    const total = [...this.queueSlots.values()].reduce((sum, n) => sum + n, 0);
    this.slots = Array.from({ length: total }, () => this.slotLoop());
  }

  /** Wakes idle slots at once (an in-process submit calls this). */
  notify(): void {
    this.idleWait?.wake();
  }

  get activeJobs(): number {
    return this.running.size;
  }

  /** Kills a job running here now, instead of at the next heartbeat. */
  cancelLocal(jobId: string): boolean {
    const entry = this.running.get(jobId);
    if (!entry) return false;
    entry.controller.abort('cancel' satisfies StopReason);
    return true;
  }

  /**
   * Graceful drain: stop claiming, give running jobs drainMs to finish, then kill and
   * release what is left back to the queue.
   */
  async stop(drainMs = this.config.drainTimeoutMs): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    this.notify();
    if (this.buffer.length > 0) {
      await this.requeued(this.buffer.splice(0), 'drain', 'worker stopped before starting it');
    }
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    const drained = await Promise.race([all().then(() => true), sleep(drainMs).then(() => false)]);
    if (!drained) {
      this.recorder.abandon();
      for (const entry of this.running.values())
        entry.controller.abort('drain' satisfies StopReason);
      await all();
    }
    await Promise.all(this.slots);
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.queue.stopWorker(this.id).catch((error: unknown) => {
      this.log.error('marking the worker stopped failed', { error: toRunboxError(error) });
    });
    await unmarkWorker(this.config.dataDir, this.id).catch(() => undefined);
    this.started = false;
  }

  /**
   * The engine is back after an outage: wake the slots, and remove the containers the
   * outage left (their removal failed while the engine was down; startup recovery would
   * only find them at the next restart). Recovery leaves live attempts alone.
   */
  engineBack(): void {
    if (!this.started || this.stopping) return;
    this.notify();
    void this.recover(!this.reserved).catch((error: unknown) => {
      this.log.warn('cleaning up after the engine outage failed', {
        error: toRunboxError(error),
      });
    });
  }

  private recover(adopt: boolean): Promise<void> {
    return recoverContainers({
      workerId: this.id,
      queue: this.queue,
      executor: this.executor,
      log: this.log,
      adoptRun: (job, containerId) =>
        this.track(job, (request) => this.executor.reattach(containerId, request)).done,
      adopt,
      metrics: this.metrics,
    });
  }

  private async slotLoop(): Promise<void> {
    while (!this.stopping) {
      if (this.engine?.isUp() === false) {
        // Claimed-but-not-started jobs go back without penalty: another worker (or
        // this one, once the engine is back) runs them.
        if (this.buffer.length > 0) {
          await this.requeued(
            this.buffer.splice(0),
            'engine-down',
            'the Docker engine is unavailable',
          );
        }
        await this.idle();
        continue;
      }
      if (this.buffer.length === 0) {
        if (this.recorder.busy) {
          // The results being committed claim for this slot (takeClaimed wakes it).
          await this.idle();
          continue;
        }
        await this.claim();
      }
      const job = this.buffer.shift();
      if (!job) {
        await this.idle();
        continue;
      }
      // The slot is free once the job's run is over: its result is committed (with
      // the next jobs' claim) while the slot already runs the next one.
      await this.track(job, (request) => this.executor.run(request)).ran;
    }
  }

  /**
   * Claims one job per idle slot in a single call; extras wait in the buffer. The jobs
   * asked for count as in flight until the answer, so slots claiming at the same time
   * never ask for more than the pool has room for; the answer goes to the buffer, where
   * it counts until a slot takes it (this one, or one the notify woke first).
   */
  private async claim(): Promise<void> {
    const rooms = this.rooms(new Set());
    if (rooms.length === 0) return;
    addRooms(this.claimsInFlight, rooms, 1);
    let jobs: ClaimedJob[];
    try {
      jobs = await this.queue.claim(claimOf({ workerId: this.id, reserved: this.reserved }, rooms));
    } catch (error) {
      this.log.error('claim failed', { error: toRunboxError(error) });
      return;
    } finally {
      addRooms(this.claimsInFlight, rooms, -1);
    }
    if (this.stopping) {
      // stop() ran while the claim was answered: these go back like the buffer did.
      if (jobs.length > 0) await this.requeued(jobs, 'drain', 'worker stopped before starting it');
      return;
    }
    this.buffer.push(...jobs);
    if (jobs.length > 1) this.notify();
  }

  /**
   * Free slots per queue: its slots less its jobs running (but those whose results are
   * handed over, `unrecorded`), buffered, and asked for by claims not yet answered.
   * Only queues with room, so a claim never names a queue that is full.
   */
  private rooms(unrecorded: ReadonlySet<string>): QueueRoom[] {
    const used = new Map<string, number>();
    const add = (queue: string, n: number) => used.set(queue, (used.get(queue) ?? 0) + n);
    for (const [id, entry] of this.running) {
      if (!entry.recording && !unrecorded.has(id)) add(this.slotOf(entry.job), 1);
    }
    for (const job of this.buffer) add(this.slotOf(job), 1);
    for (const [queue, n] of this.claimsInFlight) add(queue, n);
    for (const [queue, n] of this.recorder.claiming) add(queue, n);
    this.turnWindow();
    const rooms: QueueRoom[] = [];
    for (const [name, slots] of this.queueSlots) {
      const ahead = this.aheadFor(name, slots);
      const limit = slots + ahead - (used.get(name) ?? 0);
      if (limit > 0) rooms.push({ name, limit });
    }
    return rooms;
  }

  /**
   * Jobs to claim beyond a queue's free slots: as many as it finished in the last window,
   * but only once each slot got through four there (jobs of under ~30 ms). Slower jobs
   * (any container) claim nothing ahead: a job held unstarted behind a long one would
   * wait where another node could run it.
   */
  private aheadFor(queue: string, slots: number): number {
    const finished = this.finishedBefore.get(queue) ?? 0;
    if (finished < 4 * slots) return 0;
    return Math.min(finished, Math.max(0, AHEAD_MAX - slots));
  }

  /** Counts a finished run toward claim-ahead. */
  private countFinished(job: ClaimedJob): void {
    this.turnWindow();
    const queue = this.slotOf(job);
    this.finishedNow.set(queue, (this.finishedNow.get(queue) ?? 0) + 1);
  }

  private turnWindow(): void {
    const now = Date.now();
    if (now - this.windowStart < AHEAD_WINDOW_MS) return;
    // A pool idle for longer than a window starts again from nothing ahead.
    this.finishedBefore =
      now - this.windowStart < 2 * AHEAD_WINDOW_MS ? this.finishedNow : new Map();
    this.finishedNow = new Map();
    this.windowStart = now;
  }

  /** Whose slot a held job takes: its queue's ('' in runbox run's reserved pool). */
  private slotOf(job: ClaimedJob): string {
    return this.reserved ? '' : job.queue;
  }

  /**
   * Until notify() or the poll. Every idle slot shares one wait: at thousands of jobs a
   * second slots go idle between commits constantly, and a timer and a closure each
   * were a measurable share of the pool's time. A slot that joins a wait late may poll
   * early; polling early is harmless.
   */
  private idle(): Promise<void> {
    if (this.idleWait) return this.idleWait.promise;
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => (wake = resolve));
    const wait = {
      promise,
      wake: () => {
        clearTimeout(timer);
        if (this.idleWait === wait) this.idleWait = null;
        wake();
      },
    };
    const timer = setTimeout(wait.wake, this.pollMs);
    this.idleWait = wait;
    return promise;
  }

  /**
   * Runs one held job to one recorded result (or a release, when drained or lost).
   * `ran`: its run is over (the slot is free); `done`: its result is recorded too.
   */
  private track(
    job: ClaimedJob,
    execute: (request: Parameters<RecoverableExecutor['run']>[0]) => Promise<JobResult>,
  ): { ran: Promise<unknown>; done: Promise<void> } {
    const controller = new LazyAbort();
    const entry: Running = { job, controller, done: Promise.resolve(), recording: false };
    const ran = (async (): Promise<JobResult> => {
      // Only a retry claimed on the commit that recorded its failure has a line to wait for.
      const line = this.lines.get(job.id);
      if (line) await line;
      // From when it became due, but never from before it was submitted: a run_at in the
      // past (1970 is accepted) counted decades of queue wait into the histogram's sum.
      const due = job.runAt === undefined ? null : Math.max(job.runAt, idTime(job.id));
      const waitMs = due === null ? null : Math.max(0, Date.now() - due);
      this.metrics?.started(waitMs === null ? null : waitMs / 1000);
      this.log.info('job started', {
        job: job.id,
        attempt: job.attempt,
        worker: this.id,
        ...(waitMs === null ? {} : { queue_wait_ms: waitMs }),
      });
      try {
        // Resolved again here, against this process's config (runtimes, ceilings): the
        // queue stores the spec as submitted (README, "Layout", says why for now).
        const spec = parseJobSpec(job.spec, this.config);
        return await execute({
          jobId: job.id,
          attempt: job.attempt,
          spec,
          // Made on first use: a run that never looks at it (or ends before anything
          // reads it) costs no AbortController and EventTarget.
          get signal() {
            return controller.signal;
          },
          onLog: (stream, chunk) => this.liveLogs.append(job.id, stream, chunk, job.attempt),
        });
      } catch (error) {
        return failureResult(toRunboxError(error));
      } finally {
        entry.recording = true;
        this.countFinished(job);
      }
    })();
    entry.done = ran
      .then((result) => this.record(job, result, controller.reason))
      .finally(() => this.running.delete(job.id));
    this.running.set(job.id, entry);
    return { ran, done: entry.done };
  }

  private async record(
    job: ClaimedJob,
    raw: JobResult,
    stopped: StopReason | undefined,
  ): Promise<void> {
    // Released only if the kill did stop it: a job that ended on its own just before the
    // drain's kill reached it has its result, and releasing it would run it twice.
    const release = (stopped === 'drain' || stopped === 'shutdown') && !endedOnItsOwn(raw);
    const checked = release ? raw : this.checked(job, raw);
    // A cancel that came after the container exited (while its outputs were collected)
    // was answered as accepted: the job ends cancelled, not succeeded.
    const result = stopped === 'cancel' ? cancelledAfterExit(checked) : checked;
    // A success is final (retryPolicy): no commit claims this job again, so there is no
    // later attempt's line to hold back, and no promise to make per job for it.
    if (!release && result.error === null) return this.recordAndSay(job, result, false);
    // Set before the commit that may claim this job again, cleared once its line is out.
    let said!: () => void;
    const line = new Promise<void>((resolve) => (said = resolve));
    this.lines.set(job.id, line);
    try {
      await this.recordAndSay(job, result, release);
    } finally {
      said();
      if (this.lines.get(job.id) === line) this.lines.delete(job.id);
    }
  }

  /**
   * The result to record: the executor's, if it matches the contract; a mismatched
   * executor fails its job loudly instead of writing an empty or misread record.
   */
  private checked(job: ClaimedJob, raw: JobResult): JobResult {
    if (raw.error?.type === 'EngineUnavailable') this.engine?.markDown();
    const problems = checkResult(raw);
    if (problems.length === 0) return raw;
    const first = problems[0]!;
    this.log.error('result violates the contract', {
      job: job.id,
      path: first.path,
      problem: first.message,
    });
    return failureResult(
      new RunboxError('ContractViolation', `${first.path}: ${first.message}`, {
        field: first.path,
      }),
    );
  }

  private async recordAndSay(job: ClaimedJob, result: JobResult, release: boolean): Promise<void> {
    if (release) {
      await this.requeued([job], 'drain', 'worker drained while the job ran');
      return;
    }
    try {
      const outcome = await this.recorder.record(job, { id: job.id, token: job.token, result });
      if (outcome !== 'stale') {
        this.onRecorded(result);
        await this.recorded(job, result, outcome === 'cancelled');
      }
      if (outcome === 'stale') {
        this.log.warn('late result rejected: the job was taken over', {
          job: job.id,
          attempt: job.attempt,
        });
      }
    } catch (error) {
      // The lease will expire and the reaper requeues it: nothing is lost, only delayed.
      this.log.error('recording a result failed', { job: job.id, error: toRunboxError(error) });
    }
  }

  /** Jobs claimed along with results: to the buffer, or straight back when stopping. */
  private takeClaimed(claimed: ClaimedJob[]): void {
    if (claimed.length === 0) {
      // Slots that waited for this commit's claim look for work themselves.
      this.notify();
      return;
    }
    if (this.stopping) {
      void this.requeued(claimed, 'drain', 'worker stopped before starting it');
      return;
    }
    this.buffer.push(...claimed);
    this.notify();
  }

  /** One at a time: a heartbeat slower than its period is not stacked up behind itself. */
  private async heartbeat(): Promise<void> {
    if (this.heartbeating) return;
    this.heartbeating = true;
    try {
      await this.queue.heartbeatWorker(this.id);
      // Claimed-ahead jobs hold leases too: renewed with the running ones, so a job
      // waiting for a slot is never taken for lost.
      const waiting = [...this.buffer];
      if (this.running.size === 0 && waiting.length === 0) return;
      const held = [...[...this.running.values()].map((r) => r.job), ...waiting].map((job) => ({
        id: job.id,
        token: job.token,
      }));
      const { lost, cancelRequested } = await this.queue.heartbeat(this.id, held);
      for (const id of lost) {
        if (this.unbuffer(id)) {
          this.log.warn('lease lost before the job started; dropping it', { job: id });
          continue;
        }
        this.log.warn('lease lost; stopping the job', { job: id });
        this.running.get(id)?.controller.abort('lost' satisfies StopReason);
      }
      for (const id of cancelRequested) {
        const job = this.unbuffer(id);
        if (job) {
          // Never started: its result says so, and the queue ends it cancelled.
          const cancelled = new RunboxError('Cancelled', 'cancelled before it started');
          void this.record(job, failureResult(cancelled), undefined);
          continue;
        }
        this.running.get(id)?.controller.abort('cancel' satisfies StopReason);
      }
    } catch (error) {
      this.log.error('heartbeat failed', { error: toRunboxError(error) });
    } finally {
      this.heartbeating = false;
    }
  }

  /** Takes a claimed-ahead job out of the buffer (null: not waiting there). */
  private unbuffer(id: string): ClaimedJob | null {
    const at = this.buffer.findIndex((job) => job.id === id);
    return at < 0 ? null : this.buffer.splice(at, 1)[0]!;
  }

  /** One lifecycle line and the counters for a recorded attempt: finished, or retried. */
  /** `cancelled`: the queue ended the job cancelled (its cancel was accepted before the commit). */
  private async recorded(job: ClaimedJob, result: JobResult, cancelled: boolean): Promise<void> {
    // The job's error, as the queue recorded it: a cancel the pool had not heard of yet
    // turned a success (or a failure it would have retried) into Cancelled.
    const errorType = cancelled ? 'Cancelled' : (result.error?.type ?? null);
    // A success is always final, and so is a cancelled job; another failure is final
    // unless the queue put it back for another attempt, which only the row says.
    const now =
      errorType === null || cancelled ? null : await this.queue.get(job.id).catch((): null => null);
    // Retried: queued again, or already past this attempt (a free slot can claim it
    // again between the commit and this read when its backoff is short).
    const outputBytes = result.outputs.reduce((sum, o) => sum + o.size, 0);
    if (now !== null && (now.status === 'queued' || now.attempts > job.attempt)) {
      this.metrics?.retried(errorType!, result.metrics.total_seconds, outputBytes);
      this.log.info('job retried', {
        job: job.id,
        attempt: job.attempt,
        error_type: errorType,
        next_run_at: new Date(now.runAt).toISOString(),
      });
      return;
    }
    const outcome =
      errorType === null ? 'succeeded' : cancelled ? 'cancelled' : (now?.status ?? 'failed');
    this.metrics?.finished(outcome, errorType, result.metrics.total_seconds, outputBytes);
    this.log.info('job finished', {
      job: job.id,
      attempt: job.attempt,
      outcome,
      error_type: errorType,
      exit_code: result.exit_code,
      run_seconds: result.metrics.total_seconds,
      output_bytes: outputBytes,
    });
  }

  /** Gives held jobs back to the queue, with a line each. */
  /** Gives held jobs back to the queue, with a line each (a failed release: the lease expires). */
  private async requeued(
    jobs: ClaimedJob[],
    reason: Parameters<JobMetrics['requeued']>[0],
    why: string,
  ): Promise<void> {
    try {
      const released = await this.queue.release(jobs, why);
      this.metrics?.requeued(reason, released.length);
      for (const id of released) this.log.info('job requeued', { job: id, reason });
    } catch (error) {
      this.log.error('releasing jobs failed; their leases will expire instead', {
        jobs: jobs.map((j) => j.id),
        error: toRunboxError(error),
      });
    }
  }

  private async reap(): Promise<void> {
    if (this.reaping) return;
    this.reaping = true;
    try {
      const touched = await reapExpiredLeases({
        queue: this.queue,
        keep: new Set([...this.running.keys(), ...this.buffer.map((job) => job.id)]),
        log: this.log,
        metrics: this.metrics,
        containers: this.executor,
        health: this.queueHealth,
      });
      if (touched > 0) this.notify();
    } catch (error) {
      this.log.error('reaper failed', { error: toRunboxError(error) });
    } finally {
      this.reaping = false;
    }
  }
}

/** Outcomes of the job itself, as opposed to the worker stopping it or failing to run it. */
const OWN_OUTCOMES: ReadonlySet<string> = new Set([
  'NonZeroExit',
  'Timeout',
  'OOMKilled',
  'OutputLimitExceeded',
]);

function endedOnItsOwn(result: JobResult): boolean {
  return result.error === null || OWN_OUTCOMES.has(result.error?.type ?? '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * An AbortController made only when its signal is first read (or when aborted after
 * that): thousands of no-op jobs a second never read it. The first reason wins, as
 * with AbortController, and a signal read after the abort is already aborted with it.
 */
class LazyAbort {
  private controller: AbortController | null = null;
  /** Why the job was stopped; undefined while it was not. */
  reason: StopReason | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: StopReason): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
