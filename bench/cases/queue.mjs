// Case 1a: the queue. N no-op jobs through the real Queue + WorkerPool (bench/queue.ts,
// only the executor stubbed), in one process and in two processes sharing the file, run
// interleaved with the peers of ../shared/bench-peers at the same N: runbox's runs of round
// 1, each peer's run 1, runbox's runs of round 2, ... so every ratio compares runs made
// minutes apart.
//
// Fair comparison: runbox runs at the peers' concurrency (24 = graphile-worker c24, 50 =
// BullMQ c50) as well as at its best setting (BENCH_SLOTS, 256 by default, the most the
// config allows; the shipped default is 2). The bare SQLite floor runs at the batch size
// runbox's commits reach at each setting (finish + next claim in one commit), not at a
// claim batch of 10, so "x the floor" compares equal work per fsync.
import { run, lastJson } from '../lib/proc.mjs';
import { preparePeers, runPeer, startPeerServers } from '../lib/peers.mjs';

/** The peer cases, each with the setting it runs at. */
export const QUEUE_PEERS = [
  {
    system: 'sqlite-floor',
    case: 'full-b24-1tx',
    settings: 'bare better-sqlite3, synchronous=FULL, batch 24, finish + claim in one commit',
  },
  {
    system: 'sqlite-floor',
    case: 'full-b256-1tx',
    settings: 'bare better-sqlite3, synchronous=FULL, batch 256, finish + claim in one commit',
  },
  { system: 'plainjob', case: 'w2', settings: 'plainjob, 2 worker processes, synchronous=NORMAL' },
  { system: 'bullmq', case: 'c50', settings: 'BullMQ + Redis (no persistence), concurrency 50' },
  {
    system: 'graphile-worker',
    case: 'c24',
    settings: 'graphile-worker + PostgreSQL, concurrency 24, defaults',
  },
  {
    system: 'graphile-worker',
    case: 'c24-tuned',
    settings: 'graphile-worker + PostgreSQL, concurrency 24, localQueue 500',
  },
];

const peerKey = (p) => `${p.system} ${p.case}`;

export async function buildQueueBundle() {
  await run(process.execPath, [
    'scripts/build.mjs',
    '--entry',
    'bench/queue.ts',
    '--outfile',
    'dist/bench/queue.cjs',
  ]);
}

// BENCH_QUEUE_BASELINE=path/to/queue.cjs: another build's bundle of bench/queue.ts (say
// main's, built with scripts/build.mjs --entry bench/queue.ts in a checkout of it), run
// at each setting right after this build's run: an A/B of the queue in one run.
const BASELINE = process.env.BENCH_QUEUE_BASELINE;

async function runbox(mode, slots, ctx, bundle = 'dist/bench/queue.cjs') {
  const { stdout } = await run(process.execPath, [bundle, mode], {
    env: { ...process.env, BENCH_N: String(ctx.n), BENCH_SLOTS: String(slots) },
  });
  return lastJson(stdout);
}

const jobsPerSecond = (r) => (r ? (r.n / r.process_ms) * 1000 : NaN);
const totalPerSecond = (r) => (r.n / (r.process_ms + (r.enqueue_ms ?? r.enqueue_batch_ms))) * 1000;
const ratios = (a, b) => a.map((v, i) => v / b[i]);
/** Microseconds of process CPU per job over the processing phase (inproc runs). */
const cpuPerJob = (r) => (r?.process_cpu_ms === undefined ? NaN : (r.process_cpu_ms * 1000) / r.n);

export async function queueCase(ctx) {
  const { log, figure } = ctx;
  // Cheap (seconds a run) and the noisiest: more rounds than the rest.
  const runs = ctx.queueRuns;
  const best = ctx.slots;
  const settingsList = [...new Set([24, 50, best])];
  await buildQueueBundle();
  const peersDir = ctx.peers ? await preparePeers(log) : null;
  const servers = peersDir ? await startPeerServers(log) : null;
  const inproc = new Map(settingsList.map((s) => [s, []]));
  const twoproc = [];
  const baseline = new Map(settingsList.map((s) => [s, []]));
  const peers = new Map(QUEUE_PEERS.map((p) => [peerKey(p), []]));
  try {
    for (let i = 1; i <= runs; i++) {
      for (const slots of settingsList) {
        log(`queue run ${i}/${runs}: runbox in one process, ${slots} slots`);
        inproc.get(slots).push(await runbox('inproc', slots, ctx));
        if (!BASELINE) continue;
        log(`queue run ${i}/${runs}: baseline in one process, ${slots} slots`);
        baseline.get(slots).push(await runbox('inproc', slots, ctx, BASELINE));
      }
      log(`queue run ${i}/${runs}: runbox in two processes, ${best} slots each`);
      twoproc.push(await runbox('twoproc', best, ctx));
      if (!peersDir) continue;
      for (const peer of QUEUE_PEERS) {
        log(`queue run ${i}/${runs}: ${peerKey(peer)}`);
        try {
          peers
            .get(peerKey(peer))
            .push(await runPeer(peersDir, peer, { ...servers.env, BENCH_N: String(ctx.n) }));
        } catch (error) {
          log(`  ${peerKey(peer)} failed: ${error.message.split('\n')[0]}`);
          peers.get(peerKey(peer)).push(null);
        }
      }
    }
  } finally {
    await servers?.stop();
  }

  const common = `synchronous=FULL, N=${ctx.n}`;
  const rate = new Map([...inproc].map(([s, rows]) => [s, rows.map(jobsPerSecond)]));
  for (const [slots, rows] of inproc) {
    const perCommit = rows.map((r) => r.jobs_per_claim);
    figure({
      name: `queue: runbox no-op jobs/s, one process, ${slots} slots`,
      unit: 'jobs/s',
      values: rate.get(slots),
      settings: `${slots} slots, ${common}`,
      detail: `process phase (first executor call -> last result recorded); jobs per claim ${perCommit.map((v) => v.toFixed(0)).join('/')}`,
    });
  }
  if (BASELINE) {
    for (const [slots, rows] of baseline) {
      figure({
        name: `queue: baseline no-op jobs/s, one process, ${slots} slots`,
        unit: 'jobs/s',
        values: rows.map(jobsPerSecond),
        settings: `${slots} slots, ${common}, ${BASELINE}`,
        detail: `jobs per claim ${rows.map((r) => r.jobs_per_claim.toFixed(0)).join('/')}`,
      });
      figure({
        name: `queue: this build / baseline, ${slots} slots`,
        unit: 'x',
        values: ratios(rate.get(slots), rows.map(jobsPerSecond)),
        settings: `${slots} slots, run right after each other`,
      });
      // CPU is steadier than jobs/s on a shared machine: another process's burst stalls
      // the wall clock, much less the work this one does.
      const cpu = inproc.get(slots).map(cpuPerJob);
      const baseCpu = rows.map(cpuPerJob);
      if (cpu.some(Number.isNaN) || baseCpu.some(Number.isNaN)) continue;
      figure({
        name: `queue: CPU per job, this build / baseline, ${slots} slots`,
        unit: 'x',
        values: ratios(cpu, baseCpu),
        settings: `${slots} slots, process CPU over the processing phase / N`,
        detail: `this build ${cpu.map((v) => v.toFixed(0)).join('/')} µs, baseline ${baseCpu.map((v) => v.toFixed(0)).join('/')} µs`,
      });
    }
  }
  const bestRows = inproc.get(best);
  figure({
    name: `queue: runbox no-op jobs/s incl. enqueue, ${best} slots`,
    unit: 'jobs/s',
    values: bestRows.map(totalPerSecond),
    settings: `${best} slots, ${common}`,
    detail: 'N / (batch enqueue + process)',
  });
  figure({
    name: `queue: claim p50, ${best} slots`,
    unit: 'ms',
    values: bestRows.map((r) => r.claim_p50_ms),
    settings: `${best} slots`,
    detail: 'claims that took jobs; with results: until their shared commit',
  });
  figure({
    name: `queue: claim p99, ${best} slots`,
    unit: 'ms',
    values: bestRows.map((r) => r.claim_p99_ms),
    settings: `${best} slots`,
  });
  figure({
    name: `queue: jobs per claim (= per commit), ${best} slots`,
    unit: 'jobs',
    values: bestRows.map((r) => r.jobs_per_claim),
    settings: `${best} slots`,
  });
  figure({
    name: 'queue: runbox no-op jobs/s, two processes, one file',
    unit: 'jobs/s',
    values: twoproc.map(jobsPerSecond),
    settings: `${best} slots each, ${common}`,
  });
  if (!peersDir) return;

  const peerRate = new Map([...peers].map(([k, list]) => [k, list.map(jobsPerSecond)]));
  for (const peer of QUEUE_PEERS) {
    figure({
      name: `peer: ${peerKey(peer)}`,
      unit: 'jobs/s',
      values: peerRate.get(peerKey(peer)),
      settings: peer.settings,
    });
  }
  const compare = (name, slots, key, target) =>
    figure({
      name,
      unit: 'x',
      values: ratios(rate.get(slots), peerRate.get(key)),
      settings: `runbox ${slots} slots vs ${QUEUE_PEERS.find((p) => peerKey(p) === key).settings}`,
      ...(target ? { target: '>= 1.2', met: (m) => m >= 1.2 } : {}),
    });
  // Equal concurrency.
  compare('queue: runbox c24 / graphile-worker c24-tuned', 24, 'graphile-worker c24-tuned', true);
  compare('queue: runbox c24 / graphile-worker c24', 24, 'graphile-worker c24');
  compare('queue: runbox c50 / BullMQ c50', 50, 'bullmq c50');
  // Equal work per commit: runbox against SQLite with nothing but the claim and finish.
  compare('queue: runbox c24 / SQLite floor batch 24', 24, 'sqlite-floor full-b24-1tx');
  compare(`queue: runbox c${best} / SQLite floor batch 256`, best, 'sqlite-floor full-b256-1tx');
  // Each side at its best: runbox's best setting against the fastest peer of the same
  // round (the floor is not a peer: it is no queue).
  const realPeers = QUEUE_PEERS.filter((p) => p.system !== 'sqlite-floor').map(peerKey);
  const bestPeer = rate.get(best).map((_, i) => {
    let top = { key: '', value: 0 };
    for (const key of realPeers) {
      const v = peerRate.get(key)[i];
      if (Number.isFinite(v) && v > top.value) top = { key, value: v };
    }
    return top;
  });
  const bestRunbox = rate
    .get(best)
    .map((_, i) => Math.max(...settingsList.map((s) => rate.get(s)[i])));
  figure({
    name: 'queue: runbox at its best / best peer at its best',
    unit: 'x',
    values: bestRunbox.map((v, i) => v / bestPeer[i].value),
    target: '>= 1.2',
    met: (m) => m >= 1.2,
    settings: `runbox: best of ${settingsList.join('/')} slots; peer: fastest of the round (${[...new Set(bestPeer.map((b) => b.key))].join(', ')})`,
  });
  figure({
    name: 'queue: two processes / best peer at its best',
    unit: 'x',
    values: twoproc.map((r, i) => jobsPerSecond(r) / bestPeer[i].value),
    settings: `runbox ${best} slots each`,
  });
  ctx.raw.queue = {
    runbox: Object.fromEntries(inproc),
    ...(BASELINE ? { baseline: Object.fromEntries(baseline) } : {}),
    twoproc,
    peers: QUEUE_PEERS.map((p) => ({ ...p, runs: peers.get(peerKey(p)) })),
  };
}
