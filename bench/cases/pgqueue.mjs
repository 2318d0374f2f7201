// Case 1b: the queue on PostgreSQL. The same measurement as the queue case (N no-op jobs
// enqueued in batches, then drained by the real WorkerPool with only the executor stubbed:
// bench/queue.ts with BENCH_QUEUE_URL), against graphile-worker (../shared/bench-peers:
// addJobs() of N, then one run() drains them) on the same PostgreSQL, in the same run.
//
// The bench starts its own cluster (scripts/test-postgres in a folder of its own, on a
// free port) with PostgreSQL's durable defaults: fsync, synchronous_commit and
// full_page_writes on, so both sides acknowledge a job only once its commit is on disk.
// Each run gets a fresh database (runbox's in one, graphile-worker's in another), so no
// run finds the previous run's rows.
//
// Runs are interleaved A/B: each round runs runbox at 24 slots, graphile-worker c24
// tuned, runbox at its best setting and graphile-worker c24 with its defaults, in that
// order on odd rounds and the reverse on even ones, so a slow minute on this shared
// machine hits both sides. Compared at equal concurrency (runbox 24 slots = graphile-worker
// concurrency 24) and each at its best (runbox's faster setting of the round against
// graphile-worker's faster).
//
// BENCH_PG_BEFORE=<bundle of another commit's bench/queue.ts> adds that build's runs at
// the same slot settings to every round (A/B of a change, same cluster, same run). Each
// run also reports commits per job from pg_stat_database (xact_commit of its database,
// read once its connections are closed).
import { setTimeout as sleep } from 'node:timers/promises';
import pgDriver from 'pg';
import { buildQueueBundle } from './queue.mjs';
import { preparePeers, runPeer } from '../lib/peers.mjs';
import { startPostgres } from '../lib/postgres.mjs';
import { lastJson, run } from '../lib/proc.mjs';

/** graphile-worker's own pool: max(10, concurrency + 2), as graphile-worker.mjs sets it. */
const GRAPHILE_POOL = 26;
const GRAPHILE = [
  {
    key: 'c24-tuned',
    settings: `graphile-worker, concurrency 24, localQueue 500 + completeJobBatchDelay 0 (its perfTest's tuning), pool ${GRAPHILE_POOL}`,
  },
  {
    key: 'c24',
    settings: `graphile-worker, concurrency 24, defaults, pool ${GRAPHILE_POOL}`,
  },
];

const jobsPerSecond = (r) => (r ? (r.n / r.process_ms) * 1000 : NaN);
const totalPerSecond = (r) =>
  r ? (r.n / (r.process_ms + (r.enqueue_ms ?? r.enqueue_batch_ms))) * 1000 : NaN;
const ratios = (a, b) => a.map((v, i) => v / b[i]);
const perJob = (list) => (list ?? []).map((v) => v.toFixed(3)).join('/') || '?';
const bestOf = (lists) => lists[0].map((_, i) => Math.max(...lists.map((l) => l[i] ?? NaN)));

export async function pgqueueCase(ctx) {
  const { log, figure } = ctx;
  const runs = ctx.queueRuns;
  // runbox's settings: the peers' concurrency, and its best (BENCH_PG_SLOTS, else the
  // queue case's BENCH_SLOTS, 256 by default); connections per process from BENCH_PG_POOL
  // (the backend's default, 10, when unset).
  const best = Number(process.env.BENCH_PG_SLOTS ?? ctx.slots);
  const pool = Number(process.env.BENCH_PG_POOL ?? 10);
  const runboxSettings = [...new Set([24, best])];
  await buildQueueBundle();
  const peersDir = ctx.peers ? await preparePeers(log) : null;
  const pg = await startPostgres(log);
  const durable = pg.describe();
  const runbox = new Map(runboxSettings.map((s) => [s, []]));
  const beforeBundle = process.env.BENCH_PG_BEFORE ?? null;
  const before = new Map(runboxSettings.map((s) => [s, []]));
  const commits = { runbox: new Map(), before: new Map(), graphile: new Map() };
  const countCommits = async (database, into, key, n) => {
    // Statistics reach pg_stat_database when a session ends or within ~1 s.
    await sleep(1200);
    const client = new pgDriver.Client({ connectionString: pg.url('postgres') });
    await client.connect();
    let rows;
    try {
      ({ rows } = await client.query(
        'SELECT xact_commit::int AS c FROM pg_stat_database WHERE datname = $1',
        [database],
      ));
    } finally {
      await client.end();
    }
    const list = into.get(key) ?? [];
    list.push((rows[0]?.c ?? NaN) / n);
    into.set(key, list);
  };
  const graphile = new Map(GRAPHILE.map((g) => [g.key, []]));

  const runRunbox = async (slots, round, which = 'runbox') => {
    log(`pgqueue run ${round}/${runs}: runbox (${which}) on PostgreSQL, ${slots} slots`);
    const url = await pg.freshDatabase('bench_runbox');
    const bundle = which === 'before' ? beforeBundle : 'dist/bench/queue.cjs';
    const { stdout } = await run(process.execPath, [bundle, 'inproc'], {
      env: {
        ...process.env,
        BENCH_N: String(ctx.n),
        BENCH_SLOTS: String(slots),
        BENCH_QUEUE_URL: url,
        BENCH_PG_POOL: String(pool),
      },
    });
    const r = lastJson(stdout);
    if (r.backend !== 'postgres') throw new Error(`the runbox run used ${r.backend}`);
    (which === 'before' ? before : runbox).get(slots).push(r);
    await countCommits('bench_runbox', commits[which], slots, ctx.n);
  };
  const runGraphile = async (g, round) => {
    log(`pgqueue run ${round}/${runs}: graphile-worker ${g.key}`);
    await pg.freshDatabase('bench_graphile');
    try {
      const r = await runPeer(
        peersDir,
        { system: 'graphile-worker', case: g.key },
        {
          PGHOST: pg.host,
          PGPORT: pg.port,
          PGUSER: 'postgres',
          PGDATABASE: 'bench_graphile',
          BENCH_N: String(ctx.n),
        },
      );
      graphile.get(g.key).push(r);
      await countCommits('bench_graphile', commits.graphile, g.key, ctx.n);
    } catch (error) {
      log(`  graphile-worker ${g.key} failed: ${error.message.split('\n')[0]}`);
      graphile.get(g.key).push(null);
    }
  };

  try {
    for (let i = 1; i <= runs; i++) {
      const steps = [() => runRunbox(24, i)];
      if (peersDir) steps.push(() => runGraphile(GRAPHILE[0], i));
      if (best !== 24) steps.push(() => runRunbox(best, i));
      if (peersDir) steps.push(() => runGraphile(GRAPHILE[1], i));
      if (beforeBundle) {
        steps.splice(1, 0, () => runRunbox(24, i, 'before'));
        if (best !== 24) steps.push(() => runRunbox(best, i, 'before'));
      }
      if (i % 2 === 0) steps.reverse();
      for (const step of steps) await step();
    }
  } finally {
    await pg.stop();
  }

  const common = `N=${ctx.n}, PostgreSQL ${pg.settings.server_version.split(' ')[0]} on loopback TCP, ${durable}`;
  const settingsOf = (slots) =>
    `runbox PostgreSQL backend, ${slots} slots, pool ${pool} connections, ${common}`;
  const rate = new Map([...runbox].map(([s, rows]) => [s, rows.map(jobsPerSecond)]));
  for (const [slots, rows] of runbox) {
    figure({
      name: `pgqueue: runbox no-op jobs/s, ${slots} slots`,
      unit: 'jobs/s',
      values: rate.get(slots),
      settings: settingsOf(slots),
      detail: `process phase (first executor call -> last result committed); jobs per claim ${rows.map((r) => r.jobs_per_claim.toFixed(0)).join('/')}; claim p50 ${rows.map((r) => r.claim_p50_ms.toFixed(1)).join('/')} ms; commits per job ${perJob(commits.runbox.get(slots))}`,
    });
    if (beforeBundle) {
      const was = before.get(slots).map(jobsPerSecond);
      figure({
        name: `pgqueue: runbox before (${beforeBundle}) no-op jobs/s, ${slots} slots`,
        unit: 'jobs/s',
        values: was,
        settings: settingsOf(slots),
        detail: `commits per job ${perJob(commits.before.get(slots))}`,
      });
      figure({
        name: `pgqueue: runbox after / before, ${slots} slots`,
        unit: 'x',
        values: ratios(rate.get(slots), was),
        settings: `${settingsOf(slots)}; interleaved in the same rounds`,
      });
    }
    figure({
      name: `pgqueue: runbox no-op jobs/s incl. enqueue, ${slots} slots`,
      unit: 'jobs/s',
      values: rows.map(totalPerSecond),
      settings: `${settingsOf(slots)}; enqueue: submit() of 1,000 jobs a call`,
      detail: 'N / (batch enqueue + process)',
    });
  }
  ctx.raw.pgqueue = {
    postgres: pg.settings,
    runbox: Object.fromEntries(runbox),
    before: Object.fromEntries(before),
    commitsPerJob: Object.fromEntries(
      Object.entries(commits).map(([k, m]) => [k, Object.fromEntries(m)]),
    ),
    graphile: Object.fromEntries(graphile),
  };
  if (!peersDir) return;

  const peerRate = new Map([...graphile].map(([k, rows]) => [k, rows.map(jobsPerSecond)]));
  for (const g of GRAPHILE) {
    const rows = graphile.get(g.key);
    figure({
      name: `pgqueue: graphile-worker ${g.key} no-op jobs/s`,
      unit: 'jobs/s',
      values: peerRate.get(g.key),
      settings: `${g.settings}, ${common}`,
      detail: `first handler call -> jobs table empty; commits per job ${perJob(commits.graphile.get(g.key))}`,
    });
    figure({
      name: `pgqueue: graphile-worker ${g.key} no-op jobs/s incl. enqueue`,
      unit: 'jobs/s',
      values: rows.map(totalPerSecond),
      settings: `${g.settings}; enqueue: addJobs() of all N`,
    });
  }
  const version = graphile.get('c24-tuned').find(Boolean)?.versions?.['graphile-worker'];
  if (version)
    ctx.note(
      `graphile-worker ${version}, pg driver ${graphile.get('c24-tuned').find(Boolean)?.versions?.pg}`,
    );

  // Equal concurrency: 24 slots against concurrency 24, each way graphile-worker runs.
  figure({
    name: 'pgqueue: runbox 24 slots / graphile-worker c24-tuned',
    unit: 'x',
    values: ratios(rate.get(24), peerRate.get('c24-tuned')),
    settings: `runbox 24 slots, pool ${pool} vs ${GRAPHILE[0].settings}; same cluster, same run`,
    target: '>= 1.2',
    met: (m) => m >= 1.2,
  });
  figure({
    name: 'pgqueue: runbox 24 slots / graphile-worker c24',
    unit: 'x',
    values: ratios(rate.get(24), peerRate.get('c24')),
    settings: `runbox 24 slots, pool ${pool} vs ${GRAPHILE[1].settings}`,
  });
  // Each at its best: the faster setting of each side in the same round.
  figure({
    name: 'pgqueue: runbox at its best / graphile-worker at its best',
    unit: 'x',
    values: ratios(
      bestOf(runboxSettings.map((s) => rate.get(s))),
      bestOf(GRAPHILE.map((g) => peerRate.get(g.key))),
    ),
    settings: `runbox: faster of ${runboxSettings.join('/')} slots; graphile-worker: faster of c24-tuned/c24 (the peer harness runs it at concurrency 24 only)`,
    target: '>= 1.2',
    met: (m) => m >= 1.2,
  });
  figure({
    name: 'pgqueue: runbox / graphile-worker c24-tuned, incl. enqueue',
    unit: 'x',
    values: ratios(
      runbox.get(24).map(totalPerSecond),
      graphile.get('c24-tuned').map(totalPerSecond),
    ),
    settings: 'runbox 24 slots; N / (enqueue + process) on both sides',
  });
}
