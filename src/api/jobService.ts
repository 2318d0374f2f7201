import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import { canonicalJson } from '../contract/canonicalJson.js';
import { InvalidSpecError, RunboxError } from '../errors/index.js';
import { silentLogger, type Logger } from '../log.js';
import type { JobMetrics } from '../metrics.js';
import type { JobStore } from '../queue/QueueBackend.js';
import {
  FINAL_STATUSES,
  type EnqueueItem,
  type JobRecord,
  type JobStatus,
} from '../queue/types.js';
import type { JobSpec } from '../spec/jobSpecSchema.js';
import { canonicalJobId } from '../queue/ids.js';
import { listedSpec } from '../queue/listedFiles.js';
import { parseJobSpec, splitSubmission } from '../spec/parseJobSpec.js';
import { assertFreeSpace } from '../storage/fs/diskSpace.js';
import { checkWebhookUrl } from '../webhooks/urlPolicy.js';
import type { JobView, ListedJobView } from './jobView.js';

/** What the job service needs from the queue: the API's audience of any backend. */
export type JobQueue = Pick<
  JobStore,
  'submit' | 'get' | 'statusOf' | 'list' | 'cancel' | 'onFinished'
>;

const REDACTED = '[secret]';
/**
 * A passing free-space check is reused for this long. One statfs per submit was a
 * quarter of the submit path's CPU at 9k submits/s; 100 ms of submits cannot write
 * the minFreeBytes reserve (specs are small rows; outputs are checked when written).
 */
const FREE_SPACE_TTL_MS = 100;
/**
 * A cursor is the last job id of a page: a ULID (queue/ids.ts). Pages are read as "ids
 * below the cursor", so a looser check let a tampered cursor ("garbage", an id with a
 * character added) answer 200 with some other page instead of saying it was wrong.
 */
const CURSOR_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Secret env values never leave the process: not in answers, not in logs. */
export function redactSpec(spec: unknown): Record<string, unknown> {
  const copy = { ...(spec as Record<string, unknown>) };
  const secrets = Array.isArray(copy.secret_env) ? (copy.secret_env as string[]) : [];
  if (copy.env && secrets.length > 0) {
    const env = { ...(copy.env as Record<string, string>) };
    for (const name of secrets) if (name in env) env[name] = REDACTED;
    copy.env = env;
  }
  return copy;
}

/**
 * sha256 of the canonical body, for comparing a repeated idempotency key. Secret values
 * are left out (names stay): the database never holds anything derived from them, and
 * a client that rotates a secret between retries of one request still gets its job.
 */
function requestHash(body: Record<string, unknown>): string {
  return createHash('sha256')
    .update(canonicalJson(redactSpec(body)))
    .digest('hex');
}

export function toView(job: JobRecord): JobView {
  return {
    id: job.id,
    status: job.status,
    queue: job.queue,
    priority: job.priority,
    attempts: job.attempts,
    released_attempts: job.releasedAttempts,
    max_attempts: job.maxAttempts,
    run_at: iso(job.runAt)!,
    created_at: iso(job.createdAt)!,
    updated_at: iso(job.updatedAt)!,
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
    idempotency_key: job.idempotencyKey,
    worker_id: job.leaseOwner,
    contract_version: job.contractVersion,
    error:
      job.errorType === null
        ? null
        : {
            type: job.errorType,
            message: job.errorMessage ?? '',
            field: job.result?.error?.field ?? null,
          },
    result: job.result,
    // Stored specs passed the spec schema at submit; the API schema says so too.
    spec: redactSpec(job.spec) as JobSpec,
  };
}

/**
 * Submit, read, cancel and wait for jobs: the one path the HTTP API and `runbox run`
 * both take, so a job is checked the same way whichever door it came through.
 */
export class JobService {
  private readonly listeners = new Set<() => void>();
  private readonly cancelHooks = new Set<(id: string) => void>();
  private freeSpaceOkUntil = 0;
  private freeSpaceCheck: Promise<void> | null = null;
  /** waitFinal callers by job id, woken when this process records the job's result. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Set once the process drains (stopTaking): submits are refused from then on. */
  private stopping = false;
  /** Set once the API closes (releaseWaiters): a wait answers with the job as it is. */
  private released = false;

  constructor(
    private readonly config: Readonly<Config>,
    private readonly queue: JobQueue,
    private readonly observe: {
      log?: Logger;
      metrics?: Pick<JobMetrics, 'ended'> & {
        submitted(created: boolean): void;
        cancelled(): void;
      };
    } = {},
    /**
     * False when the queue's database has no webhook delivery table (createHookStores
     * gave null): a job naming webhook_url is then refused, never accepted and silently
     * left undelivered. @defaultValue true
     */
    private readonly webhookDeliveries = true,
  ) {
    queue.onFinished((ids) => {
      for (const id of ids) {
        const wake = this.waiters.get(id);
        if (!wake) continue;
        this.waiters.delete(id);
        for (const fn of wake) fn();
      }
    });
  }

  /** Called after every durable submit (in-process worker pools wake at once). */
  onSubmitted(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** Called on cancel so a pool running the job here kills it now. */
  onCancel(hook: (id: string) => void): void {
    this.cancelHooks.add(hook);
  }

  /**
   * A submit body checked and turned into what the queue stores, without storing it
   * (schedules store the body and enqueue it at each due time through this).
   */
  prepare(body: unknown, fieldPrefix = ''): EnqueueItem {
    return this.toItem(body, fieldPrefix);
  }

  private toItem(body: unknown, fieldPrefix = ''): EnqueueItem {
    try {
      const split = splitSubmission(body);
      const { options } = split;
      let { spec } = split;
      parseJobSpec(spec, this.config, { submitting: true });
      if (spec.webhook_url !== undefined && !this.webhookDeliveries) {
        throw new InvalidSpecError(
          'webhook_url',
          'this queue backend has no webhook deliveries yet: nothing would ever POST to it ' +
            '(use the SQLite queue for webhooks, or leave webhook_url out)',
        );
      }
      if (spec.webhook_url !== undefined) checkWebhookUrl(spec.webhook_url, this.config.webhooks);
      else if (this.config.webhooks.url !== null) {
        // The server's webhook is written into the job's spec: the delivery trigger reads
        // it from there when the job ends, whichever process ends it.
        spec = { ...spec, webhook_url: this.config.webhooks.url };
      }
      return {
        spec,
        queue: options.queue ?? 'default',
        priority: options.priority ?? 0,
        // No run_at: due at the queue's own now (PostgreSQL: the database's clock, the
        // one every node shares), never this process's.
        ...(options.run_at === undefined ? {} : { runAt: Date.parse(options.run_at) }),
        maxAttempts: options.max_attempts ?? this.config.defaults.maxAttempts,
        retryOnExitCodes: options.retry_on_exit_codes ?? [],
        idempotencyKey: options.idempotency_key ?? null,
        requestHash:
          options.idempotency_key === undefined ? null : requestHash({ ...spec, ...options }),
      };
    } catch (error) {
      if (error instanceof InvalidSpecError && fieldPrefix) {
        throw new InvalidSpecError(
          `${fieldPrefix}${error.field}`,
          error.message.slice(error.field!.length + 2),
        );
      }
      throw error;
    }
  }

  /**
   * The process is draining: new submits are refused, typed, while it still answers the
   * clients whose jobs finish in the drain. A job taken now would wait for the next start.
   */
  stopTaking(): void {
    this.stopping = true;
  }

  /**
   * The API is about to close: every wait answers now with the job as it stands, as when
   * its wait_seconds run out, instead of having its connection cut (a job the drain
   * left queued would only be final after the next start).
   */
  releaseWaiters(): void {
    this.released = true;
    for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake();
  }

  /** Whether stopTaking was called: the process drains. */
  get draining(): boolean {
    return this.stopping;
  }

  private assertTaking(): void {
    if (!this.stopping) return;
    throw new RunboxError(
      'ServerUnavailable',
      'this runbox is stopping (it drains its running jobs) and takes no new job: submit it ' +
        'again once the server is back, or to another node',
    );
  }

  /**
   * `reservedFor`: only that (registered) worker may run the job; runbox run passes its
   * own pool's id so a server on the same database never takes it.
   */
  async submit(
    body: unknown,
    options: { reservedFor?: string; requestId?: string } = {},
  ): Promise<{ job: JobView; created: boolean }> {
    this.assertTaking();
    const item = { ...this.toItem(body), reservedFor: options.reservedFor ?? null };
    await this.checkFreeSpace();
    const [outcome] = await this.queue.submit([item]);
    this.notify();
    this.queued(outcome!, options.requestId);
    return { job: toView(outcome!.job), created: outcome!.created };
  }

  /** All or nothing: one invalid job rejects the batch, naming it (jobs.3.runtime). */
  async submitBatch(
    bodies: unknown[],
    requestId?: string,
  ): Promise<Array<{ job: JobView; created: boolean }>> {
    this.assertTaking();
    const items = bodies.map((body, i) => this.toItem(body, `jobs.${i}.`));
    await this.checkFreeSpace();
    const outcomes = await this.queue.submit(items).catch((error: unknown) => {
      throw conflictInBatch(error, items);
    });
    this.notify();
    for (const outcome of outcomes) this.queued(outcome, requestId);
    return outcomes.map((o) => ({ job: toView(o.job), created: o.created }));
  }

  /** assertFreeSpace, shared by concurrent submits and reused for FREE_SPACE_TTL_MS once it passed. */
  private checkFreeSpace(): Promise<void> | void {
    if (Date.now() < this.freeSpaceOkUntil) return;
    this.freeSpaceCheck ??= assertFreeSpace(this.config)
      .then(() => {
        this.freeSpaceOkUntil = Date.now() + FREE_SPACE_TTL_MS;
      })
      .finally(() => {
        this.freeSpaceCheck = null;
      });
    return this.freeSpaceCheck;
  }

  async get(id: string): Promise<JobView> {
    return toView(await this.record(id));
  }

  /**
   * One job as a page lists it: input files without their content. The dashboard's job
   * page reads it every second; a job with 100 MiB of inputs made each read 130 MB.
   */
  async brief(id: string): Promise<ListedJobView> {
    const job = await this.record(id);
    return toView({
      ...job,
      spec: listedSpec(job.spec) as JobRecord['spec'],
    }) as unknown as ListedJobView;
  }

  async record(id: string): Promise<JobRecord> {
    const canonical = canonicalJobId(id);
    const job = await this.queue.get(canonical);
    if (!job) throw new RunboxError('NotFound', `no job ${canonical}`, { field: 'id' });
    return job;
  }

  async list(filter: { status?: JobStatus; limit: number; cursor?: string }): Promise<{
    jobs: ListedJobView[];
    next_cursor: string | null;
  }> {
    return listJobs(this.queue, filter);
  }

  /**
   * Throws Conflict (409) for a job that has already ended: there is nothing to cancel.
   * `requestId`: the API request that asked, for the log line.
   */
  async cancel(given: string, requestId?: string): Promise<JobView> {
    const { id } = await this.record(given);
    const answer = await this.queue.cancel(id);
    if (!answer) throw new RunboxError('NotFound', `no job ${id}`, { field: 'id' });
    const { job, outcome } = answer;
    if (outcome === 'already-final') {
      throw new RunboxError('Conflict', `job ${id} has already ended (${job.status})`, {
        field: 'id',
      });
    }
    this.observe.metrics?.cancelled();
    // A running job's end is counted by the worker that records it; a queued one ends here.
    if (outcome === 'cancelled') this.observe.metrics?.ended('cancelled', 'Cancelled', 1);
    this.log.info(outcome === 'cancelled' ? 'job cancelled' : 'job cancel requested', {
      job: id,
      status: job.status,
      ...(requestId === undefined ? {} : { request_id: requestId }),
    });
    if (job.status === 'running') for (const hook of this.cancelHooks) hook(id);
    return toView(job);
  }

  private get log(): Logger {
    return this.observe.log ?? silentLogger;
  }

  /**
   * `requestId`: the API request that submitted it. Its request line names no job, so
   * without it an operator could not tell which request made which job.
   */
  private queued(outcome: { job: JobRecord; created: boolean }, requestId?: string): void {
    this.observe.metrics?.submitted(outcome.created);
    if (!outcome.created) return;
    const { job } = outcome;
    this.log.info('job queued', {
      ...(requestId === undefined ? {} : { request_id: requestId }),
      job: job.id,
      priority: job.priority,
      run_at: new Date(job.runAt).toISOString(),
      max_attempts: job.maxAttempts,
    });
  }

  /**
   * Resolves with the job once it is final, or as it is when timeoutMs passes. Polls
   * the database, so it sees jobs finished by workers in other processes too; a result
   * recorded by this process wakes it at once (polling alone added up to 200 ms to a
   * wait=true answer: a third of a trivial container's run). Polls the status alone; the
   * whole job, whose spec may hold megabytes of input files, is read once at the end.
   * `gone` ends the wait early (the job as it is): a wait=true request whose client
   * went away polled on for its wait_seconds, up to 600 s, with no one to answer.
   */
  async waitFinal(
    id: string,
    timeoutMs = Number.POSITIVE_INFINITY,
    gone?: AbortSignal,
  ): Promise<JobView> {
    await this.untilFinal(id, timeoutMs, gone);
    return this.get(id);
  }

  /** waitFinal answering as brief() does: the job read once, its input files listed. */
  async waitBrief(id: string, timeoutMs: number, gone?: AbortSignal): Promise<ListedJobView> {
    await this.untilFinal(id, timeoutMs, gone);
    return this.brief(id);
  }

  /** Returns once the job is final, unknown (the read after answers NotFound), late or unwanted. */
  private async untilFinal(id: string, timeoutMs: number, gone?: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let delay = 10;
    for (;;) {
      const status = await this.queue.statusOf(id);
      if (
        status === null ||
        FINAL_STATUSES.has(status) ||
        Date.now() >= deadline ||
        gone?.aborted ||
        this.released
      ) {
        return;
      }
      await this.finishedOrAfter(id, Math.min(delay, Math.max(1, deadline - Date.now())), gone);
      delay = Math.min(delay * 2, 200);
    }
  }

  private finishedOrAfter(id: string, ms: number, gone?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        gone?.removeEventListener('abort', wake);
        const set = this.waiters.get(id);
        set?.delete(wake);
        if (set?.size === 0) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      gone?.addEventListener('abort', wake);
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      set.add(wake);
    });
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

/**
 * A batch's key conflict names the job it came from (jobs.3.idempotency_key), as the
 * batch's other refusals do: the queue names the key alone, as for one job, which left
 * a client to find which of up to 1,000 jobs it was. A batch names each key once.
 */
function conflictInBatch(error: unknown, items: EnqueueItem[]): unknown {
  if (!(error instanceof RunboxError) || error.type !== 'Conflict') return error;
  if (error.field !== 'idempotency_key') return error;
  const at = items.findIndex(
    (item) =>
      item.idempotencyKey !== null &&
      error.message.startsWith(`idempotency_key "${item.idempotencyKey}" `),
  );
  if (at < 0) return error;
  return new RunboxError('Conflict', `jobs.${at}.${error.message}`, {
    field: `jobs.${at}.idempotency_key`,
    cause: error,
  });
}

/** A page of jobs as GET /v1/jobs answers it (and `runbox ls` reads the local database). */
export async function listJobs(
  queue: Pick<JobStore, 'list'>,
  filter: { status?: JobStatus; limit: number; cursor?: string },
): Promise<{ jobs: ListedJobView[]; next_cursor: string | null }> {
  if (filter.cursor !== undefined && !CURSOR_PATTERN.test(filter.cursor)) {
    throw new InvalidSpecError('cursor', 'is not a cursor this server gave out');
  }
  const { jobs, nextCursor } = await queue.list(filter);
  // The queue lists input files without their content (QueueBackend.list).
  return {
    jobs: jobs.map((job) => toView(job) as unknown as ListedJobView),
    next_cursor: nextCursor,
  };
}
