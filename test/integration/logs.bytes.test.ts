import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import type { OutputEntry } from '../../src/contract/resultSchema.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import {
  RUNBOX_BUNDLE,
  runCliProcess,
  startServerProcess,
  writeTestConfig,
} from '../helpers/serverProcess.js';

/**
 * Log bytes are exact end to end. A job writes 180,000 bytes per stream that break
 * naive handling (é, 日, 😀 split across raw 4,093-byte writes, a 90 KB line the engine
 * must cut, invalid UTF-8, NUL), unbuffered to fd 1 and fd 2, and the same bytes to
 * /outputs as the reference. Every way out must give those bytes: `runbox run`'s live
 * output, `submit --follow`, `runbox logs`, and GET /v1/jobs/:id/logs. Before the fix
 * the engine's json-file log driver turned them into U+FFFD.
 */

const JOB = resolve('fixtures/jobs/rawbytes.py');
const STREAMS = ['stdout', 'stderr'] as const;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function httpBytes(url: string): Promise<Buffer> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

describe('log bytes, from the job to every reader', () => {
  const sandbox = useProcessSandbox('logbytes');

  it('serve: submit --follow, logs, logs --stderr and the API give exactly what the job wrote', async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const server = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile,
      workers: 1,
    });
    sandbox.processes.push(server);
    const at = ['--server', server.url];

    const follow = await runCliProcess(['submit', JOB, '--follow', ...at]);
    expect(follow.code, follow.stderr).toBe(0);
    const { jobs } = JSON.parse((await runCliProcess(['ls', '--json', ...at])).stdout) as {
      jobs: JobView[];
    };
    const id = jobs[0]!.id;
    expect(jobs[0]).toMatchObject({ status: 'succeeded', attempts: 1 });

    const manifest = (await (await fetch(`${server.url}/v1/jobs/${id}/outputs`)).json()) as {
      outputs: OutputEntry[];
    };
    const written = Object.fromEntries(
      manifest.outputs.map((o) => [o.path.replace(/\.bin$/, ''), o]),
    ) as Record<(typeof STREAMS)[number], OutputEntry>;

    const logsOut = await runCliProcess(['logs', id, ...at]);
    const logsErr = await runCliProcess(['logs', id, '--stderr', ...at]);
    const seen = {
      stdout: {
        follow: follow.stdoutBytes,
        logs: logsOut.stdoutBytes,
        api: await httpBytes(`${server.url}/v1/jobs/${id}/logs?stream=stdout`),
        apiFollow: await httpBytes(`${server.url}/v1/jobs/${id}/logs?stream=stdout&follow=true`),
      },
      stderr: {
        follow: follow.stderrBytes,
        // logs --stderr prints the job's stderr on stdout, so `> err.txt` captures it.
        logs: logsErr.stdoutBytes,
        api: await httpBytes(`${server.url}/v1/jobs/${id}/logs?stream=stderr`),
        apiFollow: await httpBytes(`${server.url}/v1/jobs/${id}/logs?stream=stderr&follow=true`),
      },
    };
    for (const stream of STREAMS) {
      const reference = written[stream];
      expect(reference.size).toBe(180_000);
      expect(jobs[0]!.result![stream]).toMatchObject({ bytes: 180_000, truncated: false });
      for (const [reader, bytes] of Object.entries(seen[stream])) {
        expect({ stream, reader, bytes: bytes.length, sha256: sha(bytes) }).toEqual({
          stream,
          reader,
          bytes: reference.size,
          sha256: reference.sha256,
        });
      }
    }
  });

  it('run: the live output on stdout and stderr is exactly what the job wrote', async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const outDir = resolve(sandbox.dataDir, 'out');
    const run = await runCliProcess([
      'run',
      JOB,
      '-o',
      outDir,
      '--config',
      configFile,
      '--data-dir',
      sandbox.dataDir,
    ]);
    expect(run.code, run.stderr).toBe(0);
    for (const [stream, bytes] of [
      ['stdout', run.stdoutBytes],
      ['stderr', run.stderrBytes],
    ] as const) {
      const reference = readFileSync(resolve(outDir, `${stream}.bin`));
      expect(reference.length).toBe(180_000);
      expect({ stream, sha256: sha(bytes) }).toEqual({ stream, sha256: sha(reference) });
    }
  });
});

describe('logs -f of a job another process runs', () => {
  const sandbox = useProcessSandbox('logfollow');

  it('serve --workers 0 follows, live, a job a separate runbox worker runs on the same database', async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const server = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile,
      workers: 0,
    });
    sandbox.processes.push(server);
    const worker = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile,
      command: 'worker',
      workers: 1,
    });
    sandbox.processes.push(worker);
    const script = resolve(sandbox.dataDir, 'slow.sh');
    writeFileSync(script, 'printf "first \\303\\251\\n"\nsleep 4\nprintf "second\\n"\n');
    const submitted = await runCliProcess(['submit', script, '--server', server.url]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();

    const follower = spawn(
      process.execPath,
      [RUNBOX_BUNDLE, 'logs', id, '-f', '--server', server.url],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const chunks: Buffer[] = [];
    let statusAtFirst: string | null = null;
    const firstSeen = new Promise<void>((resolveFirst) => {
      follower.stdout.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (statusAtFirst === null && Buffer.concat(chunks).includes('first')) {
          statusAtFirst = 'pending';
          void fetch(`${server.url}/v1/jobs/${id}`)
            .then((r) => r.json() as Promise<JobView>)
            .then((job) => {
              statusAtFirst = job.status;
              resolveFirst();
            });
        }
      });
    });
    const code = await new Promise<number | null>((resolveExit) =>
      follower.on('close', resolveExit),
    );
    await firstSeen;
    expect(code).toBe(0);
    // The first line reached the follower while the worker was still running the job.
    expect(statusAtFirst).toBe('running');
    expect(Buffer.concat(chunks)).toEqual(Buffer.from('first é\nsecond\n'));
    const job = (await (await fetch(`${server.url}/v1/jobs/${id}`)).json()) as JobView;
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1 });
  });
});
