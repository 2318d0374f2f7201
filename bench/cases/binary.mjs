// Case 5: the single executable. Size, `dist/runbox --version` against `node -e 0`
// (hyperfine, side by side), and serve-to-healthz: from spawning `dist/runbox serve`
// to the first 200 from /healthz.
import { existsSync, readFileSync, rmSync, statSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { commitInfo } from '../lib/machine.mjs';
import { ensureApt, now, run } from '../lib/proc.mjs';
import { quantile } from '../lib/stats.mjs';
import { api, startServer } from '../lib/server.mjs';

const BINARY = resolve('dist/runbox');

async function startupRatio(ctx) {
  if (await ensureApt('hyperfine', ['hyperfine'], ctx.log)) {
    const out = join(mkdtempSync(join(tmpdir(), 'runbox-bench-hf-')), 'hf.json');
    await run('hyperfine', [
      '-N',
      '--warmup',
      '3',
      '--runs',
      '20',
      '--export-json',
      out,
      `${BINARY} --version`,
      `${process.execPath} -e 0`,
    ]);
    const [bin, node] = JSON.parse(readFileSync(out, 'utf8')).results;
    rmSync(out, { force: true });
    return {
      binaryMs: bin.median * 1000,
      nodeMs: node.median * 1000,
      tool: 'hyperfine -N, 20 runs, median',
    };
  }
  const time = async (cmd, args) => {
    const samples = [];
    for (let i = 0; i < 20; i++) samples.push((await run(cmd, args)).ms);
    return quantile(
      samples.sort((a, b) => a - b),
      0.5,
    );
  };
  return {
    binaryMs: await time(BINARY, ['--version']),
    nodeMs: await time(process.execPath, ['-e', '0']),
    tool: '20 spawns, median',
  };
}

async function serveToHealthz() {
  const t = now();
  const server = await startServer({ workers: 0, command: [BINARY] });
  try {
    await api(server.url, '/healthz');
    return now() - t;
  } finally {
    await server.stop();
  }
}

/**
 * The binary measured is the one of this commit: it is built here (seconds when the
 * build cache is warm, minutes the first time), and its `--version` must name the
 * commit the results are recorded under, or the case refuses to measure it.
 */
async function freshBinary(ctx) {
  if (process.env.BENCH_PACKAGE !== '0') {
    ctx.log('building dist/runbox for this commit (npm run package)');
    await run('npm', ['run', 'package'], { timeoutMs: 1_800_000 });
  }
  if (!existsSync(BINARY)) throw new Error('dist/runbox is missing: run `npm run package`');
  const { stdout } = await run(BINARY, ['--version']);
  const head = commitInfo().commit ?? '';
  const built = /\(commit ([0-9a-f]+)\)/.exec(stdout)?.[1];
  if (!built || !head.startsWith(built)) {
    throw new Error(
      `dist/runbox is stale: it says "${stdout.split('\n')[0]}", HEAD is ${head.slice(0, 7)}; run \`npm run package\``,
    );
  }
}

export async function binaryCase(ctx) {
  const { log, runs, figure } = ctx;
  await freshBinary(ctx);
  const built = statSync(BINARY);
  const startup = [];
  const healthz = [];
  for (let i = 1; i <= runs; i++) {
    log(`binary run ${i}/${runs}: --version vs node -e 0; serve to /healthz`);
    startup.push(await startupRatio(ctx));
    const samples = [];
    for (let k = 0; k < 5; k++) samples.push(await serveToHealthz());
    healthz.push(
      quantile(
        samples.sort((a, b) => a - b),
        0.5,
      ),
    );
  }
  figure({
    name: 'binary: size of dist/runbox',
    unit: 'MiB',
    values: [built.size / 2 ** 20],
    detail: `built ${built.mtime.toISOString()} from commit ${commitInfo().short}`,
  });
  figure({
    name: 'binary: --version / node -e 0',
    unit: 'x',
    values: startup.map((s) => s.binaryMs / s.nodeMs),
    detail: startup[0]?.tool,
  });
  figure({ name: 'binary: --version', unit: 'ms', values: startup.map((s) => s.binaryMs) });
  figure({ name: 'binary: node -e 0', unit: 'ms', values: startup.map((s) => s.nodeMs) });
  figure({
    name: 'binary: serve to first /healthz 200',
    unit: 'ms',
    values: healthz,
    detail: 'median of 5 starts per run',
  });
  ctx.raw.binary = { startup, healthz };
}
