// Queue case: N no-op jobs through the real Queue and WorkerPool, synchronous=FULL as
// shipped. Only the executor is a stub (run() answers a valid JobResult at once).
// Bundled by bench/run.mjs into dist/bench/queue.cjs and run as its own process, one
// process per run, like the peers in ../shared/bench-peers. With BENCH_QUEUE_URL
// (postgres://...) the same runs go to the PostgreSQL backend instead of a SQLite file
// (the pgqueue case: bench/cases/pgqueue.mjs), through the same createQueue serve uses.
//
//   node dist/bench/queue.cjs inproc        enqueue N, then one pool processes them
//   node dist/bench/queue.cjs twoproc       enqueue N, then two processes share the file
//
// Prints one JSON line: enqueue_ms, process_ms (first executor call -> last result
// recorded, as the peers measure it), claim latencies (ms per claim call) and jobs per claim.
// Env: BENCH_N (20000), BENCH_SLOTS (config.workers, 256), BENCH_QUEUE_URL (unset: a
// SQLite file in a temp dir), BENCH_PG_POOL (queue.poolSize: connections per process,
// default the backend's), BENCH_PROF_DIR (unused here: pass --cpu-prof to node instead).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createQueue } from '../src/backends.js';
import { loadConfig, type Config } from '../src/config.js';
import type { JobResult } from '../src/contract/resultSchema.js';
import type { QueueBackend } from '../src/queue/QueueBackend.js';
import type { EnqueueItem } from '../src/queue/types.js';
import { LiveLogs } from '../src/worker/LiveLogs.js';
import type { RecoverableExecutor, WorkerQueue } from '../src/worker/ports.js';
import { WorkerPool } from '../src/worker/WorkerPool.js';
import { validResult } from '../test/helpers/results.js';

const N = Number(process.env.BENCH_N ?? 20000);
const SLOTS = Number(process.env.BENCH_SLOTS ?? 256);
const QUEUE_URL = process.env.BENCH_QUEUE_URL;
const PG_POOL = process.env.BENCH_PG_POOL ? Number(process.env.BENCH_PG_POOL) : undefined;
const now = () => performance.timeOrigin + performance.now();

/** A job spec as a user would submit it: valid for parseJobSpec. */
const SPEC = { runtime: 'shell', command: ['true'] };

function benchConfig(dbPath: string): Readonly<Config> {
  return loadConfig({
    env: {},
    overrides: {
      dataDir: join(dbPath, '..'),
      dbPath,
      workers: SLOTS,
      ...(QUEUE_URL
        ? {
            queue: {
              kind: 'postgres' as const,
              url: QUEUE_URL,
              ...(PG_POOL ? { poolSize: PG_POOL } : {}),
            },
          }
        : {}),
      ...(process.env.BENCH_WINDOW_MS
        ? { commitWindowMs: Number(process.env.BENCH_WINDOW_MS) }
        : {}),
    },
  });
}

interface PoolRun {
  first: number;
  last: number;
  recorded: number;
  claimMs: number[];
  claimedJobs: number;
  /** finishAndClaim calls: milliseconds to commit, and jobs they claimed. */
  batchMs: number[];
  batchClaimed: number;
  cpuStart?: NodeJS.CpuUsage;
  cpu?: NodeJS.CpuUsage;
}

/** Starts a pool over the file; resolves once `target` results are recorded (by any process when onRecorded reports). */
async function runPool(
  config: Readonly<Config>,
  onRecorded: (run: PoolRun) => void,
): Promise<{ stop: () => Promise<PoolRun> }> {
  const queue = await createQueue(config);
  const run: PoolRun = {
    first: 0,
    last: 0,
    recorded: 0,
    claimMs: [],
    claimedJobs: 0,
    batchMs: [],
    batchClaimed: 0,
  };
  // The claim call timed, nothing else changed. Every other method runs on the queue
  // itself (bound), so a backend that updates its own fields (PostgreSQL's contract
  // generation) updates them on the object its claims read.
  const timed: Partial<WorkerQueue> = {};
  const timedQueue = new Proxy(queue, {
    get(target, key, receiver) {
      const own = timed[key as keyof WorkerQueue];
      if (own) return own;
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  }) as WorkerQueue;
  timed.claim = async (request) => {
    const start = performance.now();
    const jobs = await queue.claim(request);
    // Claims that found the queue empty (the slots' last look) are not claim latency.
    if (jobs.length > 0) run.claimMs.push(performance.now() - start);
    run.claimedJobs += jobs.length;
    return jobs;
  };
  // The pool's hot path claims along with recording results: timed from the call to
  // the commit that hands the jobs over.
  timed.finishAndClaim = async (items, claim) => {
    const start = performance.now();
    const answer = await queue.finishAndClaim(items, claim);
    if (answer.claimed.length > 0) run.batchMs.push(performance.now() - start);
    run.batchClaimed += answer.claimed.length;
    return answer;
  };
  const executor: RecoverableExecutor = {
    run: async (): Promise<JobResult> => {
      if (run.first === 0) {
        run.first = now();
        run.cpuStart = process.cpuUsage();
      }
      return validResult();
    },
    findContainers: async () => [],
    reattach: async () => validResult(),
    removeContainer: async () => {},
  };
  const pool = new WorkerPool({
    config,
    queue: timedQueue,
    executor,
    liveLogs: new LiveLogs(),
    onRecorded: () => {
      run.recorded += 1;
      run.last = now();
      // Once, at the last job (inproc): a cpuUsage() call per job was 2% of the run.
      if (run.recorded === N) run.cpu = process.cpuUsage(run.cpuStart);
      onRecorded(run);
    },
  });
  await pool.start();
  return {
    stop: async () => {
      await pool.stop(1000);
      await queue.close();
      return run;
    },
  };
}

function enqueue(queue: QueueBackend): Promise<unknown> {
  const item: EnqueueItem = { spec: SPEC, priority: 0, maxAttempts: 3, retryOnExitCodes: [] };
  const chunks: Promise<unknown>[] = [];
  for (let i = 0; i < N; i += 1000) {
    chunks.push(queue.submit(Array.from({ length: Math.min(1000, N - i) }, () => ({ ...item }))));
  }
  return Promise.all(chunks);
}

function quantiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99) };
}

/**
 * Claim latency: every claim the pool makes, from the call to having the jobs: alone
 * (a synchronous transaction) or with results (until their shared commit).
 */
function summary(run: Pick<PoolRun, 'claimMs' | 'claimedJobs' | 'batchMs' | 'batchClaimed'>) {
  const all = quantiles([...run.claimMs, ...run.batchMs]);
  return {
    claims: all.count,
    claim_p50_ms: all.p50,
    claim_p99_ms: all.p99,
    jobs_per_claim: (run.claimedJobs + run.batchClaimed) / Math.max(1, all.count),
    claims_alone: run.claimMs.length,
    jobs_claimed_alone: run.claimedJobs,
    claims_with_results: run.batchMs.length,
  };
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (mode === 'child') return child(process.argv[3]!);
  if (mode !== 'inproc' && mode !== 'twoproc') {
    console.error('usage: node dist/bench/queue.cjs <inproc|twoproc>');
    process.exit(2);
  }
  const dir = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'runbox-bench-queue-'));
  const dbPath = join(dir, 'runbox.db');
  const config = benchConfig(dbPath);
  try {
    const queue = await createQueue(config);
    const t0 = now();
    await enqueue(queue);
    const enqueueMs = now() - t0;
    if ((await queue.counts()).queued !== N) throw new Error('enqueue lost jobs');
    const out = {
      system: 'runbox',
      case: mode,
      backend: queue.kind,
      n: N,
      slots: SLOTS,
      ...(PG_POOL ? { pool: PG_POOL } : {}),
      enqueue_ms: enqueueMs,
    };
    await queue.close();
    if (mode === 'inproc') {
      let resolveDone: () => void;
      const done = new Promise<void>((resolve) => (resolveDone = resolve));
      const pool = await runPool(config, (run) => {
        if (run.recorded === N) resolveDone();
      });
      await done;
      const run = await pool.stop();
      await checkAllSucceeded(config);
      emit({
        ...out,
        process_ms: run.last - run.first,
        process_cpu_ms: (run.cpu!.user + run.cpu!.system) / 1000,
        ...summary(run),
      });
    } else {
      const children = [0, 1].map((i) =>
        fork(process.argv[1]!, ['child', dbPath], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          env: { ...process.env, BENCH_CHILD: String(i) },
        }),
      );
      const recorded = [0, 0];
      const last = [0, 0];
      const finals: PoolRun[] = [];
      await new Promise<void>((resolve, reject) => {
        children.forEach((c, i) => {
          c.on('message', (m: { recorded?: number; last?: number; final?: PoolRun }) => {
            if (m.final) {
              finals.push(m.final);
              if (finals.length === 2) resolve();
              return;
            }
            recorded[i] = m.recorded!;
            last[i] = m.last!;
            if (recorded[0]! + recorded[1]! === N) for (const k of children) k.send('stop');
          });
          c.on('exit', (code) => code !== 0 && reject(new Error(`child exited ${code}`)));
        });
      });
      await checkAllSucceeded(config);
      const first = Math.min(...finals.filter((f) => f.first > 0).map((f) => f.first));
      emit({
        ...out,
        process_ms: Math.max(...last) - first,
        per_process: finals.map((f) => f.recorded),
        ...summary({
          claimMs: finals.flatMap((f) => f.claimMs),
          claimedJobs: finals.reduce((s, f) => s + f.claimedJobs, 0),
          batchMs: finals.flatMap((f) => f.batchMs),
          batchClaimed: finals.reduce((s, f) => s + f.batchClaimed, 0),
        }),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One of the two processes: reports its progress to the parent until told to stop. */
async function child(dbPath: string): Promise<void> {
  let pending = false;
  let latest: PoolRun | null = null;
  const pool = await runPool(benchConfig(dbPath), (run) => {
    latest = run;
    if (pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      process.send!({ recorded: latest!.recorded, last: latest!.last });
    });
  });
  process.on('message', async () => {
    const run = await pool.stop();
    process.send!({ final: run }, () => process.exit(0));
  });
}

async function checkAllSucceeded(config: Readonly<Config>): Promise<void> {
  const check = await createQueue(config);
  try {
    if ((await check.counts()).succeeded !== N) throw new Error('not every job succeeded');
  } finally {
    await check.close();
  }
}

function emit(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
