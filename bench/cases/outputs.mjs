// Case 3: outputs. A job writes 1 GiB to /outputs/f (base64 of random bytes: zstd -3
// gets it to about 3/4, like text data); runbox collects, hashes, compresses and stores
// it (result.metrics.stage_times.outputs). The same file, left in a stopped container,
// goes through `docker cp CTR:/outputs/f - | zstd -3 > /dev/null` (the target's
// comparison), and through the same pipeline doing runbox's work besides (hash, write,
// fsync: the equal-work row). And runbox's peak RSS
// (VmHWM of the serve process, a fresh one per run) over the whole job.
// Then many small files: a job writes SMALL_FILES files of SMALL_BYTES each, and runbox's
// outputs stage is compared with `docker cp CTR:/outputs - | zstd -3` of the same folder.
// Both also get a floor row: `tar -cf - | zstd -3` of the same files read on the host.
import { retryRun, waitForEngine } from '../lib/engine.mjs';
import { now, run } from '../lib/proc.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SHELL_IMAGE, api, startServer } from '../lib/server.mjs';

const SMALL_FILES = Number(process.env.BENCH_SMALL_FILES ?? 9000);
const SMALL_BYTES = 900;
// A/B: BENCH_OUTPUTS_BASELINE=path/to/runbox.cjs (another build, e.g. main's) also runs
// the 1 GiB case on that bundle, interleaved with this one, in the same run.
const BASELINE = process.env.BENCH_OUTPUTS_BASELINE
  ? resolve(process.env.BENCH_OUTPUTS_BASELINE)
  : null;

async function runboxSide(
  script,
  bytes,
  check = (outputs) => outputs.find((o) => o.path === 'f')?.size === bytes,
  bundle = null,
) {
  const server = await startServer({
    workers: 1,
    ...(bundle ? { command: [process.execPath, bundle] } : {}),
  });
  try {
    const job = await api(server.url, '/v1/jobs?wait=true&wait_seconds=600', {
      method: 'POST',
      body: { image: SHELL_IMAGE, command: ['sh', '-c', script], timeout_seconds: 900 },
    });
    if (job.status !== 'succeeded') {
      throw new Error(`outputs job ended ${job.status}: ${JSON.stringify(job.error)}`);
    }
    if (!check(job.result.outputs)) {
      throw new Error(`unexpected outputs: ${JSON.stringify(job.result.outputs).slice(0, 500)}`);
    }
    const stages = job.result.metrics.stage_times;
    return { seconds: stages.outputs, rss: server.peakRss(), stages };
  } finally {
    await server.stop();
  }
}

/** A stopped container named `name` whose /outputs holds what `script` wrote. */
export async function stoppedOutputsContainer(name, script) {
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
}

/**
 * `docker cp | zstd -3` of `path` in a stopped container (the target's comparison), then
 * the floor for reading a host folder: `tar -cf - | zstd -3` of the same files where the
 * engine keeps them on this host (overlay2's upper dir; null on another storage driver).
 * With `equalWork`, also the same pipeline doing what runbox's stage does besides: the
 * bytes hashed (sha256sum beside zstd, through tee), the compressed stream written to a
 * file on the disk runbox's data dir is on, and that file flushed (`sync FILE`: fsync)
 * before the clock stops.
 */
async function dockerSide(script, i, path = '/outputs/f', equalWork = false) {
  const name = `runbox-bench-outputs-${process.pid}-${i}`;
  await stoppedOutputsContainer(name, script);
  try {
    const t = now();
    await run('bash', [
      '-o',
      'pipefail',
      '-c',
      `docker cp ${name}:${path} - | zstd -3 > /dev/null`,
    ]);
    const seconds = (now() - t) / 1000;
    let stored = null;
    if (equalWork) {
      const dir = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'runbox-bench-cp-'));
      try {
        const e = now();
        // `wait $!` waits for the process substitution: the hash is done too.
        await run('bash', [
          '-o',
          'pipefail',
          '-c',
          `docker cp ${name}:${path} - | tee >(sha256sum > '${dir}/sum') | zstd -3 -q -o '${dir}/out.zst' && wait $! && sync '${dir}/out.zst'`,
        ]);
        stored = (now() - e) / 1000;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const upper = (
      await run('docker', ['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', name], {
        allowFailure: true,
      })
    ).stdout?.trim();
    if (!upper || upper === '<no value>') return { seconds, stored, floor: null };
    const [dir, base] = path === '/outputs' ? [`${upper}/outputs`, '.'] : [`${upper}/outputs`, 'f'];
    const f = now();
    await run('bash', [
      '-o',
      'pipefail',
      '-c',
      `tar -C '${dir}' -cf - ${base} | zstd -3 > /dev/null`,
    ]);
    return { seconds, stored, floor: (now() - f) / 1000 };
  } finally {
    await run('docker', ['rm', '-f', name], { allowFailure: true });
  }
}

export async function outputsCase(ctx) {
  const { log, runs, figure } = ctx;
  const bytes = ctx.outputMiB * 2 ** 20;
  const script = `head -c ${bytes} /dev/urandom | base64 | head -c ${bytes} > /outputs/f`;
  const rb = [];
  const base = [];
  const cli = [];
  await waitForEngine();
  for (let i = 1; i <= runs; i++) {
    if (BASELINE) {
      log(`outputs run ${i}/${runs}: baseline ${BASELINE} job writing ${ctx.outputMiB} MiB`);
      base.push(
        await retryRun(ctx, `outputs run ${i} (baseline)`, () =>
          runboxSide(script, bytes, undefined, BASELINE),
        ),
      );
    }
    log(`outputs run ${i}/${runs}: runbox job writing ${ctx.outputMiB} MiB`);
    rb.push(await retryRun(ctx, `outputs run ${i} (runbox)`, () => runboxSide(script, bytes)));
    log(`outputs run ${i}/${runs}: docker cp | zstd -3 of the same file`);
    cli.push(
      await retryRun(ctx, `outputs run ${i} (docker cp)`, () =>
        dockerSide(script, i, '/outputs/f', true),
      ),
    );
  }
  // Many small files: what was 0.044x (two fsyncs per blob).
  const small = `i=0; while [ $i -lt ${SMALL_FILES} ]; do head -c ${SMALL_BYTES} /dev/urandom > /outputs/f$i; i=$((i+1)); done`;
  const smallCheck = (outputs) =>
    outputs.length === SMALL_FILES && outputs.every((o) => o.size === SMALL_BYTES);
  const rbSmall = [];
  const baseSmall = [];
  const cliSmall = [];
  for (let i = 1; i <= runs; i++) {
    if (BASELINE) {
      log(`outputs run ${i}/${runs}: baseline job writing ${SMALL_FILES} files`);
      baseSmall.push(
        await retryRun(ctx, `small outputs run ${i} (baseline)`, () =>
          runboxSide(small, 0, smallCheck, BASELINE),
        ),
      );
    }
    log(
      `outputs run ${i}/${runs}: runbox job writing ${SMALL_FILES} files of ${SMALL_BYTES} bytes`,
    );
    rbSmall.push(
      await retryRun(ctx, `small outputs run ${i} (runbox)`, () =>
        runboxSide(small, 0, smallCheck),
      ),
    );
    log(`outputs run ${i}/${runs}: docker cp | zstd -3 of the same folder`);
    cliSmall.push(
      await retryRun(ctx, `small outputs run ${i} (docker cp)`, () =>
        dockerSide(small, i, '/outputs'),
      ),
    );
  }
  const mib = ctx.outputMiB;
  const bigSettings = `one file of ${mib} MiB (base64 of random), zstd level 3, 1 MiB frames`;
  const smallSettings = `${SMALL_FILES} files x ${SMALL_BYTES} bytes, random (incompressible)`;
  figure({
    name: 'outputs: small files, runbox / docker cp | zstd -3, throughput',
    unit: 'x',
    values: rbSmall.map((r, i) => cliSmall[i].seconds / r.seconds),
    settings: smallSettings,
    target: '>= 1.0',
    met: (m) => m >= 1,
    detail: 'runbox: stage_times.outputs (durable: blobs on disk before the result is recorded)',
  });
  figure({
    name: 'outputs: small files, runbox outputs stage',
    unit: 's',
    values: rbSmall.map((r) => r.seconds),
    settings: smallSettings,
  });
  figure({
    name: 'outputs: small files, docker cp | zstd -3',
    unit: 's',
    values: cliSmall.map((r) => r.seconds),
    settings: smallSettings,
  });
  const floors = (side) => side.every((r) => r.floor !== null);
  if (floors(cliSmall)) {
    figure({
      name: 'outputs: small files, tar -cf - | zstd -3 of the host folder (floor)',
      unit: 's',
      values: cliSmall.map((r) => r.floor),
      settings: `${smallSettings}; overlay2 upper dir, read after docker cp`,
    });
  }
  if (BASELINE) {
    figure({
      name: 'outputs: small files, baseline outputs stage',
      unit: 's',
      values: baseSmall.map((r) => r.seconds),
      settings: `${smallSettings}; baseline ${BASELINE}`,
    });
  }
  figure({
    name: 'outputs: runbox / docker cp | zstd -3, throughput',
    unit: 'x',
    settings: bigSettings,
    values: rb.map((r, i) => cli[i].seconds / r.seconds),
    target: '>= 1.0',
    met: (m) => m >= 1,
  });
  figure({
    name: 'outputs: runbox / docker cp | sha256sum + zstd -3 > file + fsync, throughput',
    unit: 'x',
    settings: bigSettings,
    values: rb.map((r, i) => cli[i].stored / r.seconds),
    detail:
      'equal work: the pipeline also hashes, writes the compressed file and flushes it, as runbox stores a blob',
  });
  figure({
    name: 'outputs: runbox collect+compress+store',
    unit: 'MiB/s',
    settings: bigSettings,
    values: rb.map((r) => mib / r.seconds),
    detail: 'stage_times.outputs',
  });
  if (BASELINE) {
    figure({
      name: 'outputs: runbox / baseline build, throughput',
      unit: 'x',
      settings: `${bigSettings}; baseline ${BASELINE}`,
      values: rb.map((r, i) => base[i].seconds / r.seconds),
    });
    figure({
      name: 'outputs: baseline / docker cp | zstd -3, throughput',
      unit: 'x',
      settings: `${bigSettings}; baseline ${BASELINE}`,
      values: base.map((r, i) => cli[i].seconds / r.seconds),
    });
    figure({
      name: 'outputs: baseline server peak RSS',
      unit: 'MiB',
      values: base.map((r) => r.rss / 2 ** 20),
    });
  }
  figure({
    name: 'outputs: docker cp | zstd -3',
    unit: 'MiB/s',
    settings: bigSettings,
    values: cli.map((r) => mib / r.seconds),
  });
  figure({
    name: 'outputs: docker cp | sha256sum + zstd -3 > file + fsync',
    unit: 'MiB/s',
    settings: bigSettings,
    values: cli.map((r) => mib / r.stored),
  });
  if (floors(cli)) {
    figure({
      name: 'outputs: tar -cf - | zstd -3 of the host file (floor)',
      unit: 'MiB/s',
      settings: `${bigSettings}; overlay2 upper dir, read after docker cp`,
      values: cli.map((r) => mib / r.floor),
    });
  }
  figure({
    name: 'outputs: runbox server peak RSS',
    unit: 'MiB',
    values: rb.map((r) => r.rss / 2 ** 20),
    target: '< 200',
    met: (m) => m < 200,
    detail: 'VmHWM of runbox serve, started fresh for the job',
  });
  ctx.raw.outputs = {
    runbox: rb,
    baseline: base,
    docker: cli,
    smallRunbox: rbSmall,
    smallBaseline: baseSmall,
    smallDocker: cliSmall,
  };
}
