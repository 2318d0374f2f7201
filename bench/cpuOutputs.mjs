// Profile helper (not a bench case): CPU-seconds of the 1 GiB outputs case, per side.
// runbox: one `runbox serve` (bundle PROFILE_BUNDLE or dist/runbox.cjs) running one job
// that writes BENCH_OUTPUT_MIB (1024) MiB of base64-of-random to /outputs/f; per thread
// of the server (/proc/PID/task/*/stat) and dockerd (+ its reaped children), from the
// end of the job's run stage (the container has exited) to the job's end.
// docker: the same file in a stopped container through `docker cp | zstd -3`: the
// pipeline's own CPU (children of bash) and dockerd's over the same span.
// Usage: node bench/cpuOutputs.mjs [runbox|docker]... (default: runbox docker)
import { execFileSync, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { readFileSync, readdirSync } from 'node:fs';
import { SHELL_IMAGE, api, startServer, BUNDLE } from './lib/server.mjs';
import { stoppedOutputsContainer } from './cases/outputs.mjs';

const HZ = 100;
const mib = Number(process.env.BENCH_OUTPUT_MIB ?? 1024);
const bytes = mib * 2 ** 20;
const script = `head -c ${bytes} /dev/urandom | base64 | head -c ${bytes} > /outputs/f`;
const dockerd = Number(execFileSync('pgrep', ['-x', 'dockerd']).toString().trim().split('\n')[0]);

function statFields(path) {
  return readFileSync(path, 'utf8').split(') ')[1].split(' ');
}
/** utime+stime (+ reaped children's) of a process, seconds. */
function procCpu(pid, children = true) {
  const f = statFields(`/proc/${pid}/stat`);
  return (Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0)) / HZ;
}
/** Per-thread CPU seconds of a process, keyed "tid comm". */
function threadCpu(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const raw = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')'));
      const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
      out.set(`${tid} ${comm}`, (Number(f[11]) + Number(f[12])) / HZ);
    } catch {
      /* thread gone */
    }
  }
  return out;
}
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const per = (s) => ((s * 1024) / mib).toFixed(2);

async function runboxSide() {
  const bundle = process.env.PROFILE_BUNDLE ?? BUNDLE;
  const server = await startServer({ workers: 1, command: [process.execPath, bundle] });
  try {
    const job = await api(server.url, '/v1/jobs', {
      method: 'POST',
      body: { image: SHELL_IMAGE, command: ['sh', '-c', script], timeout_seconds: 900 },
    });
    // Poll until the run stage is over (outputs stage starts), then sample.
    let view;
    let t0 = null;
    let d0 = 0;
    let threads0 = new Map();
    for (;;) {
      view = await api(server.url, `/v1/jobs/${job.id}`);
      if (t0 === null && view.status === 'running') {
        // The container is still writing; wait until it has exited (labels).
        const ids = execFileSync('docker', [
          'ps',
          '-aq',
          '--filter',
          `label=io.runbox.job=${job.id}`,
          '--filter',
          'status=exited',
        ])
          .toString()
          .trim();
        if (ids !== '') {
          t0 = performance.now();
          d0 = procCpu(dockerd);
          threads0 = threadCpu(server.pid);
        }
      }
      if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(view.status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const wall = (performance.now() - t0) / 1000;
    const d1 = procCpu(dockerd);
    const threads1 = threadCpu(server.pid);
    let total = 0;
    const rows = [];
    for (const [key, cpu] of threads1) {
      const delta = cpu - (threads0.get(key) ?? 0);
      total += delta;
      if (delta >= 0.05) rows.push([key, delta]);
    }
    console.log(
      `runbox ${bundle}: ${view.status}, outputs stage ${view.result?.metrics?.stage_times?.outputs} s, sampled ${wall.toFixed(1)} s, peak RSS ${(server.peakRss() / 2 ** 20).toFixed(0)} MiB, load ${load()}`,
    );
    for (const [key, delta] of rows.sort((a, b) => b[1] - a[1]))
      console.log(`  ${key.padEnd(24)} ${delta.toFixed(2)} s  (${per(delta)} s/GiB)`);
    console.log(
      `  server total ${total.toFixed(2)} s (${per(total)} s/GiB); dockerd ${(d1 - d0).toFixed(2)} s (${per(d1 - d0)} s/GiB); sum ${per(total + d1 - d0)} s/GiB`,
    );
  } finally {
    await server.stop();
  }
}

async function dockerSide() {
  const name = `runbox-bench-cpu-${process.pid}`;
  await stoppedOutputsContainer(name, script);
  try {
    const d0 = procCpu(dockerd);
    const t0 = performance.now();
    const r = spawnSync('bash', [
      '-o',
      'pipefail',
      '-c',
      `docker cp ${name}:/outputs/f - | zstd -3 > /dev/null; cat /proc/$$/stat`,
    ]);
    const wall = (performance.now() - t0) / 1000;
    const d1 = procCpu(dockerd);
    const f = r.stdout.toString().split(') ')[1].split(' ');
    const children = (Number(f[13]) + Number(f[14])) / HZ;
    console.log(
      `docker cp | zstd -3: ${wall.toFixed(2)} s (${(mib / wall).toFixed(0)} MiB/s), load ${load()}`,
    );
    console.log(
      `  docker CLI + zstd ${children.toFixed(2)} s (${per(children)} s/GiB); dockerd ${(d1 - d0).toFixed(2)} s (${per(d1 - d0)} s/GiB); sum ${per(children + d1 - d0)} s/GiB`,
    );
  } finally {
    spawnSync('docker', ['rm', '-f', name]);
  }
}

for (const side of process.argv.slice(2).length ? process.argv.slice(2) : ['runbox', 'docker']) {
  if (side === 'runbox') await runboxSide();
  else await dockerSide();
}
