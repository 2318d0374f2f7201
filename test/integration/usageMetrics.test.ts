import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { runCliProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * peak_memory_bytes and cpu_seconds come from the container's cgroup, read while it
 * runs: a job shorter than the engine's one-second stats sampling, and one the OOM
 * killer ends, both report them (they were null).
 */
describe('usage metrics from the cgroup', () => {
  const sandbox = useProcessSandbox('usage');
  const run = async (script: string, args: string[] = []) => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const { stdout, stderr } = await runCliProcess([
      'run',
      script,
      '--json',
      '--config',
      configFile,
      '--data-dir',
      sandbox.dataDir,
      ...args,
    ]);
    return { job: JSON.parse(stdout.slice(stdout.indexOf('{'))) as JobView, stderr };
  };

  // A job that ends within milliseconds of its start can end between the reads of its two
  // cgroup files (a CI run saw peak memory with cpu_seconds null), as README says; this
  // one lives 0.3 s, well under the engine's one-second sampling, so the 50 ms reads
  // must be what gives it both figures.
  it("a job shorter than the engine's one-second sampling reports its peak memory and CPU time", async () => {
    const script = join(sandbox.dataDir, 'short.py');
    writeFileSync(script, 'import time\nprint("hi")\ntime.sleep(0.3)\n');
    const { job, stderr } = await run(script);
    expect(job.status, stderr).toBe('succeeded');
    const { metrics } = job.result!;
    expect(metrics.peak_memory_bytes).toBeGreaterThan(0);
    expect(metrics.cpu_seconds).toBeGreaterThan(0);
  });

  it('an OOM-killed job reports a peak at its memory limit', async () => {
    const { job, stderr } = await run(resolve('fixtures/jobs/memhog.py'), ['--memory', '64m']);
    expect(job.result?.oom_killed, stderr).toBe(true);
    const { metrics } = job.result!;
    // The kernel kills for memory at the limit: the peak is the limit, whether or not a
    // sample caught the high-water mark before the cgroup was removed. memhog can be
    // killed before the first read (a CI run saw it), and README says such a job
    // reports cpu_seconds null; what it may never report is a zero or made-up time.
    expect(metrics.peak_memory_bytes).toBe(64 * 1024 * 1024);
    if (metrics.cpu_seconds !== null) expect(metrics.cpu_seconds).toBeGreaterThan(0);
  });

  it('a job killed for memory after running a while reports its CPU time too', async () => {
    // Read right after the start and every 50 ms: a job that first spends 0.3 s of CPU
    // (CPU, not wall time, so a loaded machine cannot shrink it) has been read several
    // times when the kill comes.
    const script = join(sandbox.dataDir, 'late hog ☃.py');
    writeFileSync(
      script,
      'import time\nwhile time.process_time() < 0.3: pass\n' +
        'blocks = []\nwhile True: blocks.append(b"x" * (8 * 1024 * 1024))\n',
    );
    const { job, stderr } = await run(script, ['--memory', '64m']);
    expect(job.result?.oom_killed, stderr).toBe(true);
    const { metrics } = job.result!;
    expect(metrics.peak_memory_bytes).toBe(64 * 1024 * 1024);
    // 0.3 s of CPU before the kill; the last read can miss at most the final ~50 ms.
    expect(metrics.cpu_seconds).toBeGreaterThan(0.1);
  });
});
