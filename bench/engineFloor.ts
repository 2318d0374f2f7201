// The true floor for running a container: the Engine API itself, with no CLI and no
// runbox. COUNT containers, two at a time, each created with exactly the options runbox
// builds (planContainer: the same sandbox, mounts, limits and labels), then started,
// waited for and removed over the socket, as runbox's executor does.
// Bundled by bench/cases/containers.mjs into dist/bench/engineFloor.cjs.
//
//   node dist/bench/engineFloor.cjs COUNT IMAGE [COMMAND...]
//
// COMMAND defaults to `true`; the run case passes `python3 -c <hello.py's text>`.
// Prints one JSON line: wall_ms and each container's ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';
import { loadConfig } from '../src/config.js';
import { planContainer } from '../src/executor/containerConfig.js';
import { createScratch, removeScratch } from '../src/executor/scratchDir.js';
import { parseJobSpec } from '../src/spec/parseJobSpec.js';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 200);
  const image = process.argv[3] ?? 'runbox-test/shell:latest';
  const dataDir = mkdtempSync(join(tmpdir(), 'runbox-bench-floor-'));
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      instance: `bench-floor-${process.pid}`,
      runtimes: { shell: { image, command: ['sh', '{script}'] } },
    },
  });
  const docker = new Docker({ socketPath: config.dockerSocket });
  const command = process.argv.length > 4 ? process.argv.slice(4) : ['true'];
  const spec = parseJobSpec({ image, command }, config);
  const samples: number[] = [];
  let next = 0;
  const one = async (i: number) => {
    const t = performance.now();
    const scratch = await createScratch(dataDir, `floor-${i}`, 1);
    const { options } = planContainer({
      identity: { instance: `bench-floor-${process.pid}`, database: `bench-floor-${process.pid}` },
      spec,
      jobId: `floor-${i}`,
      attempt: 1,
      scratch,
    });
    const container = await docker.createContainer(options);
    await container.start();
    const exit = (await container.wait()) as { StatusCode: number };
    // A command of its own is a job whose output someone reads (runbox run prints it).
    if (process.argv.length > 4) await container.logs({ stdout: true, stderr: true });
    await container.remove({ force: true });
    await removeScratch(dataDir, scratch.root);
    if (exit.StatusCode !== 0) throw new Error(`container ${i} exited ${exit.StatusCode}`);
    samples.push(performance.now() - t);
  };
  const loop = async () => {
    while (next < count) await one(next++);
  };
  const start = performance.now();
  try {
    await Promise.all([loop(), loop()]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.stdout.write(
    `${JSON.stringify({ count, wall_ms: performance.now() - start, ms: samples })}\n`,
  );
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
