import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, pollHealth, pythonJob, report, waitAllFinal } from '../helpers/chaosKit.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * Issue 11 item 5: a job's scratch is bounded while it runs. A job writing small files
 * without end (each far under the per-file fsize limit) is stopped while running, not
 * at collection after its timeout, with OutputLimitExceeded; the server keeps
 * answering, and a job running beside it succeeds.
 */
const MiB = 1024 * 1024;

// 64 KiB files, forever, in nested folders of /outputs and /work alike.
const FILLER = `
import os, time
block = os.urandom(64 * 1024)
i = 0
while True:
    base = os.environ['RUNBOX_OUTPUTS'] if i % 2 else os.environ['RUNBOX_WORK']
    d = os.path.join(base, 'd%03d' % (i // 200))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'f%06d' % i), 'wb') as f:
        f.write(block)
    i += 1
    if i % 100 == 0:
        time.sleep(0.02)
    if i % 500 == 0:
        print('wrote', i, flush=True)
`;

// Runs beside the filler, writes a small output, succeeds.
const NEIGHBOUR = `
import os, time
time.sleep(6)
with open(os.path.join(os.environ['RUNBOX_OUTPUTS'], 'fine.txt'), 'w') as f:
    f.write('fine')
print('neighbour done')
`;

describe('bounded scratch', () => {
  const sandbox = useProcessSandbox('scratch');

  it('stops a job writing past its output limit in many small files while it runs', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1 } });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 2 });
    sandbox.processes.push(server);
    const health = pollHealth(server.url, 100);
    const started = Date.now();
    const filler = await http(server.url, '/v1/jobs', {
      body: pythonJob(FILLER, {
        timeout_seconds: 120,
        max_attempts: 1,
        limits: { output_bytes: '64m' },
      }),
    });
    const neighbour = await http(server.url, '/v1/jobs', {
      body: pythonJob(NEIGHBOUR, { timeout_seconds: 120, max_attempts: 1 }),
    });
    expect(filler.status, filler.text).toBe(201);
    expect(neighbour.status, neighbour.text).toBe(201);
    const final = await waitAllFinal(server.url, [filler.json.id, neighbour.json.id], 110_000);
    const seconds = (Date.now() - started) / 1000;
    const healthFigures = await health.stop();

    const full = (await http(server.url, `/v1/jobs/${filler.json.id}`)).json;
    expect(full.status).toBe('failed');
    expect(full.error.type).toBe('OutputLimitExceeded');
    expect(full.error.message).toMatch(/while the job ran/);
    expect(full.error.field).toBe('limits.output_bytes');
    // Stopped while running: long before its 120 s timeout, killed (not exited by itself).
    expect(full.result.timed_out).toBe(false);
    expect(full.result.signal).toBe('SIGKILL');
    expect(seconds).toBeLessThan(90);
    // What it kept is within the limit.
    report('scratch-bound-limit', {
      seconds,
      run: full.result.metrics.stage_times.run,
      health: healthFigures,
    });
    const kept = full.result.outputs.reduce((n: number, o: { size: number }) => n + o.size, 0);
    expect(kept).toBeLessThanOrEqual(64 * MiB);

    expect(final.get(neighbour.json.id)?.status).toBe('succeeded');
    expect(healthFigures.statuses[200]).toBeGreaterThan(0);
    expect(Object.keys(healthFigures.statuses)).toEqual(['200']);
    const neighbourLogs = await http(server.url, `/v1/jobs/${neighbour.json.id}/logs`);
    expect(neighbourLogs.text).toBe('neighbour done\n');
  });

  // Seen: a job writing exactly limits.output_bytes into /outputs was killed while it
  // ran, because the watch counted its script and input file in /work (and each
  // folder's 4 KiB) against the limit that collection applies to output files alone.
  it('lets a job fill its output limits exactly, its inputs and folders aside', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1 } });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const exact = await http(server.url, '/v1/jobs', {
      body: pythonJob(
        `
import os, time
out = os.path.join(os.environ['RUNBOX_OUTPUTS'], 'sous-dossier', 'é')
os.makedirs(out)
for i, size in enumerate([MiB - 2, 1, 1]):
    with open(os.path.join(out, 'f%d' % i), 'wb') as f:
        f.write(b'\\xff' * size)
time.sleep(3)  # several walks of the watch see the folders full
`.replace('MiB', String(MiB)),
        {
          files: [{ path: 'input.bin', content: 'x'.repeat(200_000) }],
          timeout_seconds: 60,
          max_attempts: 1,
          limits: { output_bytes: MiB, output_files: 3 },
        },
      ),
    });
    expect(exact.status, exact.text).toBe(201);
    const job = (await waitAllFinal(server.url, [exact.json.id], 60_000)).get(exact.json.id)!;
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.result!.outputs.map((o) => o.size)).toEqual([MiB - 2, 1, 1]);
  });

  it('kills the largest running job when the data disk falls below its reserve, sparing the others', async () => {
    // The data dir on a 512 MiB tmpfs with a 384 MiB submit reserve (so a 192 MiB kill
    // reserve): a job with the default 8 GiB output limit would fill it long before its
    // own limit. tmpfs takes writes at memory speed (and charges them to the job's memory:
    // unpaced, a check of the disk delayed by a loaded machine came after 512 MiB and the
    // job died OOMKilled), so the filler paces itself to ~300 MiB/s and the reserve is
    // sized to what it writes while a check is late by half a second.
    const dataDir = mkdtempSync(join(tmpdir(), 'runbox-scratch-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512m', 'tmpfs', dataDir]);
    try {
      const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 384 * MiB } });
      const server = await startServerProcess({ dataDir, configFile, workers: 2 });
      sandbox.processes.push(server);
      const health = pollHealth(server.url, 100);
      const neighbour = await http(server.url, '/v1/jobs', {
        body: pythonJob(NEIGHBOUR, { timeout_seconds: 120, max_attempts: 1 }),
      });
      const filler = await http(server.url, '/v1/jobs', {
        body: pythonJob(FILLER, { timeout_seconds: 120, max_attempts: 1 }),
      });
      expect(filler.status, filler.text).toBe(201);
      const final = await waitAllFinal(server.url, [filler.json.id, neighbour.json.id], 110_000);
      const healthFigures = await health.stop();
      const full = (await http(server.url, `/v1/jobs/${filler.json.id}`)).json;
      expect(full.error, JSON.stringify(full.result)).toMatchObject({
        type: 'OutputLimitExceeded',
      });
      expect(full.error.message).toMatch(/below the reserve/);
      expect(full.result.timed_out).toBe(false);
      // Its outputs are not copied into the store on the disk that ran low.
      expect(full.result.outputs).toEqual([]);
      const spared = (await http(server.url, `/v1/jobs/${neighbour.json.id}`)).json;
      expect(spared.status, JSON.stringify(spared.error)).toBe('succeeded');
      expect(final.get(neighbour.json.id)?.status).toBe('succeeded');
      expect(Object.keys(healthFigures.statuses)).toEqual(['200']);
      // The space is back: the next job is taken and succeeds.
      const after = await http(server.url, '/v1/jobs?wait=true&wait_seconds=60', {
        body: pythonJob('print("after")', { max_attempts: 1 }),
      });
      expect(after.status, after.text).toBe(201);
      expect(after.json.status).toBe('succeeded');
      report('scratch-bound-disk-reserve', { message: full.error.message, health: healthFigures });
      server.kill('SIGKILL');
      await server.exited;
    } finally {
      try {
        execFileSync('umount', [dataDir]);
        rmdirSync(dataDir);
      } catch {
        // still busy: left for the machine's tmp cleaner
      }
    }
  });
});
