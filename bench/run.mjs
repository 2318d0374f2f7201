#!/usr/bin/env node
// runbox's benchmark suite: `npm run bench` (builds first), or `npm run bench -- queue api`
// for some cases. Prints a table and writes bench/results/latest.json (machine, date,
// commit, every run of every figure) and bench/results/latest.md (the table for README).
//
// Cases: queue (with the peers of ../shared/bench-peers), pgqueue (the PostgreSQL queue
// against graphile-worker on one private cluster), submit, containers, outputs, api,
// binary, cli, run (`runbox run hello.py` against `docker run --rm` and the Engine API;
// BENCH_RUN_ROUNDS 10), scale (three nodes on one PostgreSQL against one; BENCH_SCALE_JOBS 36,
// BENCH_SCALE_SLEEP 3 s). pgqueue: BENCH_PG_SLOTS (its best setting, else BENCH_SLOTS),
// BENCH_PG_POOL (connections, 10). BENCH_OUT=name writes bench/results/name.json/.md
// instead of latest (a run of some cases only, beside the full table). Env: BENCH_RUNS (3), BENCH_QUEUE_RUNS (5, or BENCH_RUNS), BENCH_N (20000), BENCH_SLOTS (256: runbox's best setting; it also runs at 24 and 50, the peers' concurrency), BENCH_PEERS=0 to
// leave the peers out, BENCH_CONTAINERS (200), BENCH_OUTPUT_MIB (1024), BENCH_SECONDS (10,
// per HTTP load run). Figures are medians over the runs with their min-max spread; ratios
// are taken run by run between measurements made side by side, then their median.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commitInfo, machineInfo } from './lib/machine.mjs';
import { now } from './lib/proc.mjs';
import { renderMarkdown, tableLines } from './lib/report.mjs';
import { fmt, summarize } from './lib/stats.mjs';
import { apiCase } from './cases/api.mjs';
import { binaryCase } from './cases/binary.mjs';
import { cliCase } from './cases/cli.mjs';
import { containersCase } from './cases/containers.mjs';
import { outputsCase } from './cases/outputs.mjs';
import { pgqueueCase } from './cases/pgqueue.mjs';
import { queueCase } from './cases/queue.mjs';
import { runCase } from './cases/run.mjs';
import { scaleCase } from './cases/scale.mjs';
import { submitCase } from './cases/submit.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

const CASES = {
  queue: queueCase,
  pgqueue: pgqueueCase,
  submit: submitCase,
  containers: containersCase,
  outputs: outputsCase,
  api: apiCase,
  binary: binaryCase,
  cli: cliCase,
  run: runCase,
  scale: scaleCase,
};
// --render: rewrite latest.md from latest.json (after a change to the table's layout).
if (process.argv.includes('--render')) {
  const result = JSON.parse(readFileSync('bench/results/latest.json', 'utf8'));
  result.settings.selected ??= [];
  result.settings.queueRuns ??= result.settings.runs;
  writeFileSync('bench/results/latest.md', renderMarkdown(result));
  console.log(tableLines(result.figures).join('\n'));
  process.exit(0);
}
const selected = process.argv.slice(2);
for (const name of selected) {
  if (!(name in CASES)) {
    console.error(`unknown case "${name}"; cases: ${Object.keys(CASES).join(', ')}`);
    process.exit(2);
  }
}
const names = selected.length > 0 ? selected : Object.keys(CASES);
const started = now();
const log = (message) =>
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);

const figures = [];
const raw = {};
const notes = {};
const ctx = {
  runs: Number(process.env.BENCH_RUNS ?? 3),
  queueRuns: Number(process.env.BENCH_QUEUE_RUNS ?? process.env.BENCH_RUNS ?? 5),
  n: Number(process.env.BENCH_N ?? 20000),
  slots: Number(process.env.BENCH_SLOTS ?? 256),
  peers: process.env.BENCH_PEERS !== '0',
  containers: Number(process.env.BENCH_CONTAINERS ?? 200),
  outputMiB: Number(process.env.BENCH_OUTPUT_MIB ?? 1024),
  seconds: Number(process.env.BENCH_SECONDS ?? 10),
  log,
  raw,
  note: (text) => (notes[ctx.current] ??= []).push(text),
  current: '',
  /** Records one figure: its runs, median and spread, and the target if it has one. */
  figure({ name, unit, values, settings = '', target = null, met = null, detail = null }) {
    const s = summarize(values);
    const entry = {
      case: ctx.current,
      name,
      unit,
      median: s.median,
      min: s.min,
      max: s.max,
      runs: values,
      settings,
      target,
      met: met && Number.isFinite(s.median) ? met(s.median) : target ? false : null,
      detail,
    };
    figures.push(entry);
    log(
      `  ${name}: ${fmt(s.median)} ${unit} (${fmt(s.min)}–${fmt(s.max)})${settings ? ` [${settings}]` : ''}${target ? ` target ${target}: ${entry.met ? 'met' : 'MISSED'}` : ''}`,
    );
  },
};

const machine = machineInfo();
const commit = commitInfo();
const failures = {};
const loads = {};
for (const name of names) {
  ctx.current = name;
  const t = now();
  const loadBefore = loadavg()[0];
  log(`== ${name}`);
  try {
    await CASES[name](ctx);
  } catch (error) {
    failures[name] = error.stack ?? String(error);
    log(`!! ${name} failed: ${error.message}`);
  }
  const seconds = (now() - t) / 1000;
  // Other work on the machine shows here: figures measured under load say so.
  loads[name] = { before: loadBefore, after: loadavg()[0], seconds };
  log(
    `== ${name} took ${seconds.toFixed(0)} s (1-min load average ${loadBefore.toFixed(1)} -> ${loadavg()[0].toFixed(1)})`,
  );
}

const result = {
  date: new Date().toISOString(),
  commit,
  machine,
  settings: {
    runs: ctx.runs,
    queueRuns: ctx.queueRuns,
    n: ctx.n,
    slots: ctx.slots,
    cases: names,
    selected,
  },
  duration_s: (now() - started) / 1000,
  loads,
  figures,
  notes,
  failures,
  raw,
};
const lines = tableLines(figures);
mkdirSync('bench/results', { recursive: true });
const suffix = process.env.BENCH_OUT ?? 'latest';
writeFileSync(`bench/results/${suffix}.json`, `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(`bench/results/${suffix}.md`, renderMarkdown(result));
console.log(`\n${lines.join('\n')}\n`);
for (const [name, list] of Object.entries(notes))
  for (const text of list) console.log(`- ${name}: ${text}`);
log(`wrote bench/results/${suffix}.json and .md in ${((now() - started) / 1000).toFixed(0)} s`);
process.exit(Object.keys(failures).length > 0 ? 1 : 0);
