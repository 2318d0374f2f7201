import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filesUnder, http, pythonJob, waitAllFinal } from '../helpers/chaosKit.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { runCliProcess, startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * Issue 11 item 9, secrets at rest: the data dir is private (0700, files 0600, an
 * older wider one tightened at start); a secret value the job prints is masked in the
 * live and the stored log, on stdout and stderr, even split across writes; no answer
 * holds it; once the job is final the database holds it no more; and `runbox run`
 * takes env and secrets from files so they are never on a command line.
 */
const SECRET = 'pä55-wörd-😀-7f3a9c1e';

// Writes the secret in two pieces with a pause between (two log chunks), on both
// streams, then whole; pauses so a follower reads it live.
const PRINTER = `
import os, sys, time
s = os.environ['TOKEN']
for stream in (sys.stdout, sys.stderr):
    stream.write('a' + s[:5]); stream.flush(); time.sleep(0.3)
    stream.write(s[5:] + 'b\\n'); stream.flush()
print('plain', os.environ['PLAIN'], flush=True)
time.sleep(1)
print('whole', s, flush=True)
`;

const mode = (path: string) => statSync(path).mode & 0o777;

describe('secrets at rest', () => {
  const sandbox = useProcessSandbox('secrets');

  it('keeps the data dir private and the secret out of logs, answers and the database', async () => {
    // What an older runbox left: a world-readable folder, database and blob folder.
    const dataDir = join(sandbox.dataDir, 'data');
    mkdirSync(join(dataDir, 'blobs'), { recursive: true });
    closeSync(openSync(join(dataDir, 'runbox.db'), 'w'));
    for (const path of [dataDir, join(dataDir, 'blobs')]) chmodSync(path, 0o755);
    chmodSync(join(dataDir, 'runbox.db'), 0o644);
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1 } });
    const server = await startServerProcess({ dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, 'blobs'))).toBe(0o700);
    for (const file of ['runbox.db', 'runbox.db-wal', 'runbox.db-shm']) {
      expect(mode(join(dataDir, file)), file).toBe(0o600);
    }

    const submitted = await http(server.url, '/v1/jobs', {
      body: pythonJob(PRINTER, {
        env: { TOKEN: SECRET, PLAIN: 'visible' },
        secret_env: ['TOKEN'],
        timeout_seconds: 60,
      }),
    });
    expect(submitted.status, submitted.text).toBe(201);
    const id = submitted.json.id as string;
    const [liveOut, liveErr] = await Promise.all([
      http(server.url, `/v1/jobs/${id}/logs?stream=stdout&follow=true`, { timeoutMs: 60_000 }),
      http(server.url, `/v1/jobs/${id}/logs?stream=stderr&follow=true`, { timeoutMs: 60_000 }),
    ]);
    await waitAllFinal(server.url, [id], 60_000);
    const job = await http(server.url, `/v1/jobs/${id}`);
    expect(job.json.status).toBe('succeeded');
    const storedOut = await http(server.url, `/v1/jobs/${id}/logs?stream=stdout`);
    const storedErr = await http(server.url, `/v1/jobs/${id}/logs?stream=stderr`);
    expect(storedOut.text).toBe('a[secret]b\nplain visible\nwhole [secret]\n');
    expect(storedErr.text).toBe('a[secret]b\n');
    expect(liveOut.text).toBe(storedOut.text);
    expect(liveErr.text).toBe(storedErr.text);
    for (const answer of [submitted, job, await http(server.url, '/v1/jobs')]) {
      expect(answer.text).not.toContain(SECRET);
      expect(answer.text).toContain('visible');
    }
    for (const blob of filesUnder(join(dataDir, 'blobs'))) expect(mode(blob), blob).toBe(0o600);

    // Once final, the database holds the value no more: checked on the files
    // themselves after a clean stop, every byte of everything in the data dir.
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const needle = Buffer.from(SECRET);
    const holders = filesUnder(dataDir).filter((file) => readFileSync(file).includes(needle));
    expect(holders).toEqual([]);
    // The spec itself is still there, plain values and all: only secret values go.
    expect(readFileSync(join(dataDir, 'runbox.db')).includes('"PLAIN":"visible"')).toBe(true);
  });

  it('runbox run reads env and secrets from files and masks the secret in what it prints', async () => {
    const envFile = join(sandbox.dataDir, 'job.env');
    const secretFile = join(sandbox.dataDir, 'secret.env');
    writeFileSync(envFile, '# plain settings\nPLAIN=visible\n');
    writeFileSync(secretFile, `TOKEN=${SECRET}\r\n`);
    const script = join(sandbox.dataDir, 'printer.py');
    writeFileSync(script, PRINTER);
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1 } });
    const args = ['run', script, '--env-file', envFile, '--secret-env-file', secretFile];
    const base = ['--config', configFile, '--data-dir', join(sandbox.dataDir, 'run')];
    const run = await runCliProcess([...args, ...base]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('a[secret]b\nplain visible\nwhole [secret]\n');
    expect(run.stderr).toContain('a[secret]b\n');
    expect(run.stderr).not.toContain(SECRET);
    const json = await runCliProcess([...args, ...base, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).not.toContain(SECRET);
    expect(json.stdout).toContain('"TOKEN": "[secret]"');
  });
});
