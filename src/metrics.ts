import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  exponentialBuckets,
} from 'prom-client';
import { CURRENT_CONTRACT } from './contract/contract.js';
import { isQueueUnavailable } from './queue/queueUnavailable.js';
import { RUNBOX_VERSION } from './version.js';

/** What the worker pool reports as jobs move; the counters only ever go up. */
export interface JobMetrics {
  started(queueWaitSeconds: number | null): void;
  finished(
    outcome: string,
    errorType: string | null,
    runSeconds: number,
    outputBytes: number,
  ): void;
  /** An attempt that failed and was queued again: counted, and timed like a final one. */
  retried(errorType: string, runSeconds: number, outputBytes: number): void;
  /**
   * Jobs that reached a final state without a run of this process to time: lost with
   * their worker (lease expired, process gone) or cancelled before a worker recorded them.
   */
  ended(outcome: 'failed' | 'cancelled', errorType: string, count: number): void;
  requeued(reason: 'lease-expired' | 'drain' | 'engine-down', count: number): void;
}

/** Database-wide figures read at scrape time (only `runbox serve` exposes them). */
export interface ScrapeSources {
  countByStatus(): Promise<Record<string, number>>;
  /** Named queues as GET /v1/queues counts them: `due` of `queued` have reached run_at. */
  queues(): Promise<Array<{ name: string; queued: number; due: number }>>;
  workers(): Promise<Array<{ state: string }>>;
}

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

interface DatabaseFigures {
  counts: Record<string, number>;
  queues: Array<{ name: string; queued: number; due: number }>;
  workers: Array<{ state: string }>;
}

/** Null while the queue database does not answer; any other failure is the scrape's. */
async function readFigures(sources: ScrapeSources): Promise<DatabaseFigures | null> {
  try {
    const [counts, queues, workers] = await Promise.all([
      sources.countByStatus(),
      sources.queues(),
      sources.workers(),
    ]);
    return { counts, queues, workers };
  } catch (error) {
    if (isQueueUnavailable(error)) return null;
    throw error;
  }
}

/**
 * runbox_engine_up: 1 or 0 by the last engine ping, and no sample before the first one
 * answers. It read 0 then while /healthz said engine "unknown", so every alert on
 * runbox_engine_up == 0 fired at each start; no sample is what unknown is to Prometheus
 * (absent() finds an engine never reached). prom-client always gives a gauge without
 * labels a sample, so the value is left out here, after its collect.
 */
class EngineUpGauge extends Gauge {
  constructor(
    private readonly engineUp: () => boolean | null,
    registers: Registry[],
  ) {
    super({
      name: 'runbox_engine_up',
      help: 'Docker engine reachable (1) or not (0) from this process; no sample before its first ping answers.',
      registers,
    });
  }

  override async get(): ReturnType<Gauge['get']> {
    const up = this.engineUp();
    this.set(up ? 1 : 0);
    const metric = await super.get();
    return up === null ? { ...metric, values: [] } : metric;
  }
}

/**
 * One prom-client registry per runbox process. Counters and histograms count what
 * this process did since it started (Prometheus' rate() and increase() handle the reset
 * at a restart); every series carries `process` (serve, worker or run) and `worker_id`,
 * so figures from a `serve` and several `worker` processes on one database sum with
 * `sum without (worker_id, process)`. The `runbox_jobs` and `runbox_workers` gauges are
 * database-wide snapshots: the same in every process, so take them from one.
 */
export class RunboxMetrics implements JobMetrics {
  readonly registry = new Registry();
  private readonly submittedTotal: Counter<'created'>;
  private readonly finishedTotal: Counter<'outcome' | 'error_type'>;
  private readonly retriedTotal: Counter<'error_type'>;
  private readonly requeuedTotal: Counter<'reason'>;
  private readonly cancelledTotal: Counter;
  private readonly queueWait: Histogram;
  private readonly runTime: Histogram<'outcome'>;
  private readonly outputBytes: Histogram;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(private readonly labels: { process: 'serve' | 'worker' | 'run'; workerId: string }) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ process: labels.process, worker_id: labels.workerId });
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'runbox_build_info',
      help: 'This build: version and result contract (always 1).',
      labelNames: ['version', 'contract_version', 'contract_fingerprint'],
      registers,
    }).set(
      {
        version: RUNBOX_VERSION,
        contract_version: CURRENT_CONTRACT.version,
        contract_fingerprint: CURRENT_CONTRACT.fingerprint,
      },
      1,
    );
    this.submittedTotal = new Counter({
      name: 'runbox_jobs_submitted_total',
      help: 'Submissions this process accepted; created="false" when an idempotency key named an existing job.',
      labelNames: ['created'],
      registers,
    });
    this.finishedTotal = new Counter({
      name: 'runbox_jobs_finished_total',
      help: 'Jobs this process recorded in a final state, by outcome and error type.',
      labelNames: ['outcome', 'error_type'],
      registers,
    });
    this.retriedTotal = new Counter({
      name: 'runbox_job_retries_total',
      help: 'Attempts this process recorded that failed and were queued again.',
      labelNames: ['error_type'],
      registers,
    });
    this.requeuedTotal = new Counter({
      name: 'runbox_jobs_requeued_total',
      help: 'Running jobs this process gave back to the queue, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.cancelledTotal = new Counter({
      name: 'runbox_job_cancels_total',
      help: 'Cancel requests this process accepted.',
      registers,
    });
    this.queueWait = new Histogram({
      name: 'runbox_job_queue_wait_seconds',
      help: 'Time from a job being due (run_at) to its claim by this process.',
      buckets: exponentialBuckets(0.005, 4, 10),
      registers,
    });
    this.runTime = new Histogram({
      name: 'runbox_job_run_seconds',
      help: 'Wall time of attempts this process recorded (container create to cleanup); outcome="retried" for an attempt queued again.',
      labelNames: ['outcome'],
      buckets: exponentialBuckets(0.1, 3, 10),
      registers,
    });
    this.outputBytes = new Histogram({
      name: 'runbox_job_output_bytes',
      help: 'Bytes of output files per recorded attempt, retried ones included.',
      buckets: exponentialBuckets(1024, 8, 9),
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'runbox_http_request_duration_seconds',
      help: 'HTTP answers by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: exponentialBuckets(0.0005, 4, 10),
      registers,
    });
  }
  /**
   * Labels every series with the worker id `runbox workers` and GET /v1/workers show, once
   * this process's pool has one (until then, and in a serve without a pool: host-pid).
   * prom-client adds default labels at each scrape, so series made earlier follow.
   */
  workerStarted(workerId: string): void {
    this.registry.setDefaultLabels({ process: this.labels.process, worker_id: workerId });
  }

  /**
   * Adds the database-wide gauges, read from the sources at each scrape. While the queue
   * database does not answer they have no samples and runbox_queue_up is 0: the scrape
   * answered 503 before, so Prometheus lost this process's own figures during the very
   * outage they would explain.
   */
  addScrapeSources(sources: ScrapeSources): void {
    const registers = [this.registry];
    // One read per scrape, shared by the gauges (the registry collects them at once).
    let pending: Promise<DatabaseFigures | null> | null = null;
    const figures = () =>
      (pending ??= readFigures(sources).finally(() => {
        pending = null;
      }));
    new Gauge({
      name: 'runbox_queue_up',
      help: 'The queue database answered this scrape (1) or not (0); database-wide gauges are absent at 0.',
      registers,
      async collect() {
        this.set((await figures()) === null ? 0 : 1);
      },
    });
    new Gauge({
      name: 'runbox_jobs',
      help: 'Jobs in the database by current status (database-wide, not per process).',
      labelNames: ['status'],
      registers,
      async collect() {
        const read = await figures();
        this.reset();
        if (read === null) return;
        for (const status of STATUSES) this.set({ status }, read.counts[status] ?? 0);
      },
    });
    // `queued` above counts a job whose run_at is an hour ahead as waiting: the backlog
    // an alert wants is the due part, per queue as /v1/queues and `runbox queues` show it.
    for (const [name, help, count] of [
      [
        'runbox_jobs_due',
        'Queued jobs whose run_at has come, by named queue (database-wide; runbox run jobs not counted).',
        (q: { due: number }) => q.due,
      ],
      [
        'runbox_jobs_scheduled',
        'Queued jobs whose run_at is still ahead, by named queue (database-wide; runbox run jobs not counted).',
        (q: { queued: number; due: number }) => q.queued - q.due,
      ],
    ] as const) {
      new Gauge({
        name,
        help,
        labelNames: ['queue'],
        registers,
        async collect() {
          const read = await figures();
          this.reset();
          if (read === null) return;
          for (const queue of read.queues) this.set({ queue: queue.name }, count(queue));
        },
      });
    }
    new Gauge({
      name: 'runbox_workers',
      help: 'Registered worker pools by state (database-wide).',
      labelNames: ['state'],
      registers,
      async collect() {
        const read = await figures();
        this.reset();
        if (read === null) return;
        for (const state of ['alive', 'dead', 'stopped'])
          this.set({ state }, read.workers.filter((w) => w.state === state).length);
      },
    });
  }

  /**
   * Adds runbox_engine_up, this process's own view of the engine: every process that
   * runs containers has one (a worker's was missing, so its engine could be down unseen).
   */
  addEngineUp(engineUp: () => boolean | null): void {
    new EngineUpGauge(engineUp, [this.registry]);
  }

  submitted(created: boolean): void {
    this.submittedTotal.inc({ created: String(created) });
  }

  cancelled(): void {
    this.cancelledTotal.inc();
  }

  started(queueWaitSeconds: number | null): void {
    // A stored time past what a Date holds reads as NaN, and prom-client throws on it:
    // that took a serve down (a run_at of year 0 on PostgreSQL, refused at submit now).
    if (queueWaitSeconds !== null && Number.isFinite(queueWaitSeconds)) {
      this.queueWait.observe(Math.max(0, queueWaitSeconds));
    }
  }

  finished(outcome: string, errorType: string | null, runSeconds: number, bytes: number): void {
    this.finishedTotal.inc({ outcome, error_type: errorType ?? '' });
    this.runTime.observe({ outcome }, runSeconds);
    this.outputBytes.observe(bytes);
  }

  retried(errorType: string, runSeconds: number, bytes: number): void {
    this.retriedTotal.inc({ error_type: errorType });
    // The attempt held a slot and wrote its outputs like a final one: left out, the
    // histograms undercounted the time and bytes of every job that was retried.
    this.runTime.observe({ outcome: 'retried' }, runSeconds);
    this.outputBytes.observe(bytes);
  }

  ended(outcome: 'failed' | 'cancelled', errorType: string, count: number): void {
    if (count > 0) this.finishedTotal.inc({ outcome, error_type: errorType }, count);
  }

  requeued(reason: Parameters<JobMetrics['requeued']>[0], count: number): void {
    if (count > 0) this.requeuedTotal.inc({ reason }, count);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
