// Profile helper (not a bench case): one `runbox serve` under `node --cpu-prof`, one job
// writing BENCH_OUTPUT_MIB (256) MiB to /outputs/f; the .cpuprofile lands in
// PROFILE_DIR (default /tmp). Summarize with: node bench/profileOutputs.mjs --summary FILE
import { readFileSync } from 'node:fs';
import { SHELL_IMAGE, api, startServer, BUNDLE } from './lib/server.mjs';

if (process.argv[2] === '--summary') {
  const profile = JSON.parse(readFileSync(process.argv[3], 'utf8'));
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = profile.timeDeltas;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
    total += dt[i] ?? 0;
  });
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  console.log(`total ${(total / 1e6).toFixed(2)} s sampled (main thread)`);
  for (const [key, us] of top)
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
  process.exit(0);
}

const mib = Number(process.env.BENCH_OUTPUT_MIB ?? 256);
const bytes = mib * 2 ** 20;
const dir = process.env.PROFILE_DIR ?? '/tmp';
const bundle = process.env.PROFILE_BUNDLE ?? BUNDLE;
const server = await startServer({
  workers: 1,
  command: [process.execPath, '--cpu-prof', `--cpu-prof-dir=${dir}`, bundle],
});
try {
  const job = await api(server.url, '/v1/jobs?wait=true&wait_seconds=600', {
    method: 'POST',
    body: {
      image: SHELL_IMAGE,
      command: [
        'sh',
        '-c',
        `head -c ${bytes} /dev/urandom | base64 | head -c ${bytes} > /outputs/f`,
      ],
      timeout_seconds: 900,
    },
  });
  console.log(job.status, 'outputs stage', job.result?.metrics?.stage_times?.outputs, 's');
} finally {
  await server.stop();
}
