// Case 2: container overhead. The same trivial container (runbox-test/shell, `true`),
// COUNT times, two at a time: through runbox (real server, real Docker, --workers 2;
// two clients each POST /v1/jobs?wait=true and send the next when it answers), by the
// docker CLI (two loops of `docker run --rm --network none IMAGE true`), and by the
// Engine API itself (bench/engineFloor.ts: create/start/wait/remove over the socket with
// the options runbox builds), the true floor: the CLI adds its own start-up per container.
import { retryRun, waitForEngine } from '../lib/engine.mjs';
import { lastJson, now, run } from '../lib/proc.mjs';
import { quantile, summarize } from '../lib/stats.mjs';
import { SHELL_IMAGE, api, startServer } from '../lib/server.mjs';
import { JOB } from './submit.mjs';

const STAGES = ['image', 'create', 'inputs', 'run', 'outputs', 'cleanup'];

async function twoAtATime(count, once) {
  let next = 0;
  const samples = [];
  const start = now();
  const loop = async () => {
    while (next < count) {
      next += 1;
      const t = now();
      const extra = await once();
      samples.push({ ms: now() - t, ...extra });
    }
  };
  await Promise.all([loop(), loop()]);
  return { wallMs: now() - start, samples };
}

function runboxJob(url) {
  return async () => {
    const job = await api(url, '/v1/jobs?wait=true&wait_seconds=120', {
      method: 'POST',
      body: JOB,
    });
    if (job.status !== 'succeeded')
      throw new Error(`job ${job.id} ended ${job.status}: ${JSON.stringify(job.error)}`);
    return {
      serverMs: Date.parse(job.finished_at) - Date.parse(job.created_at),
      stages: job.result.metrics.stage_times,
    };
  };
}

const dockerRun = async () => {
  await run('docker', ['run', '--rm', '--network', 'none', SHELL_IMAGE, 'true']);
  return {};
};

async function buildFloorBundle() {
  await run(process.execPath, [
    'scripts/build.mjs',
    '--entry',
    'bench/engineFloor.ts',
    '--outfile',
    'dist/bench/engineFloor.cjs',
  ]);
}

async function engineFloor(count) {
  const { stdout } = await run(process.execPath, [
    'dist/bench/engineFloor.cjs',
    String(count),
    SHELL_IMAGE,
  ]);
  const r = lastJson(stdout);
  return { wallMs: r.wall_ms, samples: r.ms.map((ms) => ({ ms })) };
}

const p50 = (samples, key = 'ms') =>
  quantile(
    samples.map((s) => s[key]).sort((a, b) => a - b),
    0.5,
  );

export async function containersCase(ctx) {
  const { log, runs, figure } = ctx;
  const count = ctx.containers;
  await buildFloorBundle();
  const server = await startServer({ workers: 2 });
  const rb = [];
  const cli = [];
  const api = [];
  try {
    await waitForEngine();
    await twoAtATime(4, runboxJob(server.url));
    await twoAtATime(4, dockerRun);
    await engineFloor(4);
    for (let i = 1; i <= runs; i++) {
      log(`containers run ${i}/${runs}: ${count} jobs through runbox, 2 at a time`);
      rb.push(
        await retryRun(ctx, `containers run ${i} (runbox)`, () =>
          twoAtATime(count, runboxJob(server.url)),
        ),
      );
      log(`containers run ${i}/${runs}: ${count} x docker run --rm, 2 at a time`);
      cli.push(
        await retryRun(ctx, `containers run ${i} (docker CLI)`, () => twoAtATime(count, dockerRun)),
      );
      log(
        `containers run ${i}/${runs}: ${count} x Engine API create/start/wait/remove, 2 at a time`,
      );
      api.push(await retryRun(ctx, `containers run ${i} (Engine API)`, () => engineFloor(count)));
    }
  } finally {
    await server.stop();
  }
  const settings = `${count} containers, 2 at a time, ${SHELL_IMAGE} \`true\`; runbox --workers 2`;
  // Every figure of this case is measured at these settings.
  const fig = (f) => figure({ settings, ...f });
  fig({
    name: `containers: runbox / Engine API floor, wall time for ${count}`,
    unit: 'x',
    values: rb.map((r, i) => r.wallMs / api[i].wallMs),
    detail: 'floor: create/start/wait/remove over the socket with the options runbox builds',
  });
  fig({
    name: 'containers: runbox / Engine API floor, p50 per container',
    unit: 'x',
    values: rb.map((r, i) => p50(r.samples) / p50(api[i].samples)),
  });
  fig({
    name: 'containers: Engine API p50 per container',
    unit: 'ms',
    values: api.map((r) => p50(r.samples)),
  });
  fig({
    name: `containers: runbox / docker CLI, wall time for ${count}`,
    unit: 'x',
    values: rb.map((r, i) => r.wallMs / cli[i].wallMs),
    target: '<= 1.10',
    met: (m) => m <= 1.1,
    detail: 'below 1: runbox is faster',
  });
  fig({
    name: 'containers: runbox / docker CLI, p50 submit-to-done',
    unit: 'x',
    values: rb.map((r, i) => p50(r.samples) / p50(cli[i].samples)),
    target: '<= 1.10',
    met: (m) => m <= 1.1,
    detail: 'runbox: POST ?wait=true round trip seen by the client; docker: one `docker run` call',
  });
  fig({
    name: 'containers: runbox p50 submit-to-done (client)',
    unit: 'ms',
    values: rb.map((r) => p50(r.samples)),
  });
  fig({
    name: 'containers: runbox p50 created-to-finished (server clock)',
    unit: 'ms',
    values: rb.map((r) => p50(r.samples, 'serverMs')),
  });
  fig({
    name: 'containers: docker run p50',
    unit: 'ms',
    values: cli.map((r) => p50(r.samples)),
  });
  fig({
    name: 'containers: runbox jobs/s',
    unit: 'jobs/s',
    values: rb.map((r) => (count / r.wallMs) * 1000),
  });
  fig({
    name: 'containers: docker CLI containers/s',
    unit: 'jobs/s',
    values: cli.map((r) => (count / r.wallMs) * 1000),
  });
  for (const stage of STAGES) {
    fig({
      name: `containers: stage ${stage} p50`,
      unit: 'ms',
      values: rb.map((r) => summarize(r.samples.map((s) => s.stages[stage] * 1000)).median),
      detail: 'result.metrics.stage_times',
    });
  }
  ctx.raw.containers = {
    runbox: rb.map((r) => ({ wallMs: r.wallMs, samples: r.samples })),
    docker: cli.map((r) => ({ wallMs: r.wallMs, ms: r.samples.map((s) => s.ms) })),
    engineApi: api.map((r) => ({ wallMs: r.wallMs, ms: r.samples.map((s) => s.ms) })),
  };
}
