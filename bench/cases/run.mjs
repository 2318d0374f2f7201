// Case 8: `runbox run hello.py` end to end, what a user types first (README), against
// `docker run --rm` of the same script in the same image and the Engine API floor
// (bench/engineFloor.ts: create/start/wait/logs/remove over the socket with the options
// runbox builds, the script's text passed as `python3 -c`; its in-process wall time, so
// without a Node start). One of each per round, RUN_ROUNDS rounds per run, interleaved;
// medians per run. runbox runs on embedded defaults with a data directory of its own
// (RUNBOX_DATA_DIR), kept across rounds as a user's is; the bundle under a Node
// (BENCH_CLIENT_NODE, default the bench's own) and dist/runbox when built from this commit.
//
// Target (issue 17): `runbox run hello.py` ≤ 1.2× `docker run --rm`, wall time.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { lastJson, run } from '../lib/proc.mjs';
import { quantile } from '../lib/stats.mjs';
import { freshBinary } from './cli.mjs';

const ROUNDS = Number(process.env.BENCH_RUN_ROUNDS ?? 10);
const IMAGE = 'python:3.11-slim';
const SCRIPT = resolve('fixtures/jobs/hello.py');
const LAUNCHER = resolve('bin/runbox');

const median = (samples) =>
  quantile(
    [...samples].sort((a, b) => a - b),
    0.5,
  );

export async function runCase(ctx) {
  const { log, runs, figure } = ctx;
  const node = process.env.BENCH_CLIENT_NODE ?? process.execPath;
  const nodeVersion = (await run(node, ['--version'])).stdout.trim();
  const { binary, why } = await freshBinary();
  if (!binary) ctx.note(`binary figures left out: ${why}; run \`npm run package\``);
  await run(process.execPath, [
    'scripts/build.mjs',
    '--entry',
    'bench/engineFloor.ts',
    '--outfile',
    'dist/bench/engineFloor.cjs',
  ]);
  const dataDir = mkdtempSync(join(tmpdir(), 'runbox-bench-run-'));
  const env = { ...process.env, RUNBOX_DATA_DIR: dataDir };
  const text = readFileSync(SCRIPT, 'utf8');
  // The same environment and working directory runbox gives the job (hello.py prints them).
  const docker = [
    'docker',
    [
      'run',
      '--rm',
      '-v',
      `${SCRIPT}:/work/hello.py:ro`,
      '-w',
      '/work',
      '-e',
      'RUNBOX_WORK=/work',
      '-e',
      'RUNBOX_OUTPUTS=/outputs',
      IMAGE,
      'python3',
      'hello.py',
    ],
  ];
  const floorMs = async () =>
    lastJson(
      (
        await run(process.execPath, [
          'dist/bench/engineFloor.cjs',
          '1',
          IMAGE,
          'python3',
          '-c',
          text,
        ])
      ).stdout,
    ).wall_ms;
  const spawnMs = (command, args) => async () => (await run(command, args, { env })).ms;
  const variants = {
    'docker run --rm': spawnMs(...docker),
    'engine API': floorMs,
    'bundle run': spawnMs(node, [LAUNCHER, 'run', SCRIPT]),
    ...(binary ? { 'binary run': spawnMs(binary, ['run', SCRIPT]) } : {}),
  };
  const names = Object.keys(variants);
  const perRun = Object.fromEntries(names.map((n) => [n, []]));
  try {
    // One of each first: the image is pulled, SQLite's schema made, caches warm.
    for (const n of names) await variants[n]();
    for (let i = 1; i <= runs; i++) {
      log(`run run ${i}/${runs}: ${names.join(', ')}; ${ROUNDS} rounds, interleaved`);
      const samples = Object.fromEntries(names.map((n) => [n, []]));
      for (let k = 0; k < ROUNDS; k++) {
        for (const n of names) samples[n].push(await variants[n]());
      }
      for (const n of names) perRun[n].push(median(samples[n]));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const settings = `${IMAGE}, ${ROUNDS} rounds per run, one of each per round, interleaved; runbox on embedded defaults`;
  const ratio = (a, b) => perRun[a].map((v, i) => v / perRun[b][i]);
  const within = (m) => m <= 1.2;
  for (const n of names) {
    figure({ name: `run: ${n} hello.py, wall`, unit: 'ms', values: perRun[n], settings });
  }
  const sides = [['bundle run', `bundle (node ${nodeVersion})`]];
  if (binary) sides.push(['binary run', 'binary']);
  for (const [n, label] of sides) {
    figure({
      name: `run: runbox run hello.py / docker run --rm, ${label}`,
      unit: 'x',
      values: ratio(n, 'docker run --rm'),
      settings,
      target: '<= 1.2x',
      met: within,
      detail:
        'runbox run fixtures/jobs/hello.py against docker run --rm of the same script and image',
    });
    figure({
      name: `run: runbox run hello.py / Engine API floor, ${label}`,
      unit: 'x',
      values: ratio(n, 'engine API'),
      settings,
    });
  }
}
