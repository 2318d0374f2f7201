// Case 1a: the queue. N no-op jobs through the real Queue + WorkerPool (bench/queue.ts,
// only the executor stubbed), in one process and in two processes sharing the file, run
// interleaved with the peers of ../shared/bench-peers at the same N: runbox run 1, each
// peer's run 1, runbox run 2, ... so every ratio compares runs made minutes apart.
import { run, lastJson } from '../lib/proc.mjs';
import { PEER_CASES, preparePeers, runPeer, startPeerServers } from '../lib/peers.mjs';

async function buildQueueBundle() {
  await run(process.execPath, [
    'scripts/build.mjs',
    '--entry',
    'bench/queue.ts',
    '--outfile',
    'dist/bench/queue.cjs',
  ]);
}

async function runbox(mode, ctx) {
  const { stdout } = await run(process.execPath, ['dist/bench/queue.cjs', mode], {
    env: { ...process.env, BENCH_N: String(ctx.n), BENCH_SLOTS: String(ctx.slots) },
  });
  return lastJson(stdout);
}

const jobsPerSecond = (r) => (r.n / r.process_ms) * 1000;
const totalPerSecond = (r) => (r.n / (r.process_ms + (r.enqueue_ms ?? r.enqueue_batch_ms))) * 1000;

export async function queueCase(ctx) {
  const { log, figure } = ctx;
  // Cheap (about 15 s a round with the peers) and the noisiest: more rounds than the rest.
  const runs = ctx.queueRuns;
  const slots = ctx.slots;
  await buildQueueBundle();
  const peersDir = ctx.peers ? await preparePeers(log) : null;
  const servers = peersDir ? await startPeerServers(log) : null;
  const rows = { inproc: [], twoproc: [] };
  const peers = new Map(PEER_CASES.map((p) => [p, []]));
  try {
    for (let i = 1; i <= runs; i++) {
      log(`queue run ${i}/${runs}: runbox in one process (${slots} slots)`);
      rows.inproc.push(await runbox('inproc', ctx));
      log(`queue run ${i}/${runs}: runbox in two processes`);
      rows.twoproc.push(await runbox('twoproc', ctx));
      if (!peersDir) continue;
      for (const peer of PEER_CASES) {
        log(`queue run ${i}/${runs}: ${peer.system} ${peer.case}`);
        try {
          peers
            .get(peer)
            .push(await runPeer(peersDir, peer, { ...servers.env, BENCH_N: String(ctx.n) }));
        } catch (error) {
          log(`  ${peer.system} ${peer.case} failed: ${error.message.split('\n')[0]}`);
          peers.get(peer).push(null);
        }
      }
    }
  } finally {
    await servers?.stop();
  }

  const setting = `${slots} slots, synchronous=FULL, N=${ctx.n}`;
  const inproc = rows.inproc.map(jobsPerSecond);
  figure({
    name: 'queue: no-op jobs/s, one process',
    unit: 'jobs/s',
    values: inproc,
    detail: `process phase (first executor call -> last result recorded), ${setting}`,
  });
  figure({
    name: 'queue: no-op jobs/s incl. enqueue, one process',
    unit: 'jobs/s',
    values: rows.inproc.map(totalPerSecond),
    detail: 'N / (batch enqueue + process)',
  });
  figure({
    name: 'queue: claim p50',
    unit: 'ms',
    values: rows.inproc.map((r) => r.claim_p50_ms),
    detail: 'claims that took jobs; with results: until their shared commit',
  });
  figure({ name: 'queue: claim p99', unit: 'ms', values: rows.inproc.map((r) => r.claim_p99_ms) });
  figure({
    name: 'queue: jobs per claim',
    unit: 'jobs',
    values: rows.inproc.map((r) => r.jobs_per_claim),
  });
  figure({
    name: 'queue: no-op jobs/s, two processes, one file',
    unit: 'jobs/s',
    values: rows.twoproc.map(jobsPerSecond),
    detail: `${slots} slots each`,
  });
  if (!peersDir) return;

  const peerRates = new Map(
    [...peers].map(([p, list]) => [p, list.map((r) => (r ? jobsPerSecond(r) : NaN))]),
  );
  for (const [peer, rates] of peerRates) {
    figure({
      name: `peer: ${peer.system} ${peer.case}`,
      unit: 'jobs/s',
      values: rates,
      detail: peer.label,
    });
  }
  for (const [peer, rates] of peerRates) {
    figure({
      name: `queue: runbox / ${peer.system} ${peer.case}`,
      unit: 'x',
      values: inproc.map((v, i) => v / rates[i]),
    });
  }
  const best = inproc.map((_, i) =>
    Math.max(...[...peerRates.values()].map((r) => (Number.isFinite(r[i]) ? r[i] : 0))),
  );
  figure({
    name: 'queue: runbox / best peer',
    unit: 'x',
    values: inproc.map((v, i) => v / best[i]),
    target: '>= 1.2',
    met: (m) => m >= 1.2,
    detail: 'per run: runbox one process / the fastest peer of the same run',
  });
  figure({
    name: 'queue: two processes / best peer',
    unit: 'x',
    values: rows.twoproc.map((r, i) => jobsPerSecond(r) / best[i]),
  });
  ctx.raw.queue = { runbox: rows, peers: [...peers].map(([p, list]) => ({ ...p, runs: list })) };
}
