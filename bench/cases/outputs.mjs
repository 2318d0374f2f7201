// Case 3: outputs. A job writes 1 GiB to /outputs/f (base64 of random bytes: zstd -3
// gets it to about 3/4, like text data); runbox collects, hashes, compresses and stores
// it (result.metrics.stage_times.outputs). The same file, left in a stopped container,
// goes through `docker cp CTR:/outputs/f - | zstd -3 > /dev/null`. And runbox's peak RSS
// (VmHWM of the serve process, a fresh one per run) over the whole job.
import { retryRun, waitForEngine } from '../lib/engine.mjs';
import { now, run } from '../lib/proc.mjs';
import { SHELL_IMAGE, api, startServer } from '../lib/server.mjs';

async function runboxSide(script, bytes) {
  const server = await startServer({ workers: 1 });
  try {
    const job = await api(server.url, '/v1/jobs?wait=true&wait_seconds=600', {
      method: 'POST',
      body: { image: SHELL_IMAGE, command: ['sh', '-c', script], timeout_seconds: 900 },
    });
    if (job.status !== 'succeeded') {
      throw new Error(`outputs job ended ${job.status}: ${JSON.stringify(job.error)}`);
    }
    const file = job.result.outputs.find((o) => o.path === 'f' || o.path.endsWith('/f'));
    if (!file || file.size !== bytes) {
      throw new Error(`unexpected outputs: ${JSON.stringify(job.result.outputs).slice(0, 500)}`);
    }
    const stages = job.result.metrics.stage_times;
    return { seconds: stages.outputs, rss: server.peakRss(), stages };
  } finally {
    await server.stop();
  }
}

async function dockerSide(script, i) {
  const name = `runbox-bench-outputs-${process.pid}-${i}`;
  await run('docker', ['rm', '-f', name], { allowFailure: true });
  await run('docker', [
    'run',
    '--name',
    name,
    '--network',
    'none',
    SHELL_IMAGE,
    'sh',
    '-c',
    `mkdir -p /outputs && ${script}`,
  ]);
  try {
    const t = now();
    await run('bash', [
      '-o',
      'pipefail',
      '-c',
      `docker cp ${name}:/outputs/f - | zstd -3 > /dev/null`,
    ]);
    return { seconds: (now() - t) / 1000 };
  } finally {
    await run('docker', ['rm', '-f', name], { allowFailure: true });
  }
}

export async function outputsCase(ctx) {
  const { log, runs, figure } = ctx;
  const bytes = ctx.outputMiB * 2 ** 20;
  const script = `head -c ${bytes} /dev/urandom | base64 | head -c ${bytes} > /outputs/f`;
  const rb = [];
  const cli = [];
  await waitForEngine();
  for (let i = 1; i <= runs; i++) {
    log(`outputs run ${i}/${runs}: runbox job writing ${ctx.outputMiB} MiB`);
    rb.push(await retryRun(ctx, `outputs run ${i} (runbox)`, () => runboxSide(script, bytes)));
    log(`outputs run ${i}/${runs}: docker cp | zstd -3 of the same file`);
    cli.push(await retryRun(ctx, `outputs run ${i} (docker cp)`, () => dockerSide(script, i)));
  }
  const mib = ctx.outputMiB;
  figure({
    name: 'outputs: runbox / docker cp | zstd -3, throughput',
    unit: 'x',
    values: rb.map((r, i) => cli[i].seconds / r.seconds),
    target: '>= 1.0',
    met: (m) => m >= 1,
  });
  figure({
    name: 'outputs: runbox collect+compress+store',
    unit: 'MiB/s',
    values: rb.map((r) => mib / r.seconds),
    detail: 'stage_times.outputs',
  });
  figure({
    name: 'outputs: docker cp | zstd -3',
    unit: 'MiB/s',
    values: cli.map((r) => mib / r.seconds),
  });
  figure({
    name: 'outputs: runbox server peak RSS',
    unit: 'MiB',
    values: rb.map((r) => r.rss / 2 ** 20),
    target: '< 200',
    met: (m) => m < 200,
    detail: 'VmHWM of runbox serve, started fresh for the job',
  });
  ctx.raw.outputs = { runbox: rb, docker: cli };
}
