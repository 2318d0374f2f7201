import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropCheckingLeftovers, freshDatabase, type TestDatabase } from '../helpers/postgres.js';
import { freshBucket, testS3, testS3Client } from '../helpers/s3Server.js';
import {
  RUNBOX_BUNDLE,
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { tcpRelay, type TcpRelay } from '../helpers/tcpRelay.js';
import { getJob, http, runbox, shellJob, submit, waitFinal } from './outputsKit.js';

/**
 * PostgreSQL down for a few seconds under `runbox serve` (pg_ctl stop -m fast, then
 * start), played by a TCP relay in front of the test server that drops every connection
 * and refuses new ones. Seen on a fleet: every job that finished during a 20 s restart
 * ran again (attempts 2) although its lease had 10 s left, because the failed commit
 * threw its result away; and a client asking any node meanwhile got "Internal:
 * connect ECONNREFUSED" (500, exit 70), naming neither the database nor the setting,
 * while /healthz answered 200 "ok".
 */
describe('the queue database down for a while under runbox serve', () => {
  let db: TestDatabase;
  let gate: TcpRelay;
  let dataDir: string;
  let server: RunboxProcess;
  let removeBucket: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    // A fleet's setup: blobs on S3, whose ledger rows live in the queue database.
    const { endpoint, credentials } = testS3();
    const { bucket, remove } = await freshBucket(testS3Client());
    removeBucket = remove;
    db = await freshDatabase('runbox_pgoutage');
    gate = await tcpRelay(new URL(db.url));
    const throughGate = new URL(db.url);
    throughGate.port = String(gate.port);
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-pg-outage-'));
    server = await startServerProcess({
      dataDir,
      configFile: writeTestConfig(dataDir),
      workers: 1,
      env: {
        RUNBOX_QUEUE: throughGate.toString(),
        RUNBOX_BLOBS: `s3://${bucket}/outage/?endpoint=${encodeURIComponent(endpoint)}`,
        RUNBOX_S3_ACCESS_KEY_ID: credentials.accessKeyId,
        RUNBOX_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      },
    });
  });

  afterAll(async () => {
    await gate?.up().catch(() => undefined);
    if (server) {
      server.kill('SIGTERM');
      await server.exited;
    }
    if (db) await dropCheckingLeftovers(db);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    await gate?.down().catch(() => undefined);
    await removeBucket?.();
  });

  it('keeps the result of a job that ends meanwhile and records it at attempt 1; reads answer 503 naming queue.url; /healthz says the database is down', async () => {
    const up = await http(`${server.url}/healthz`);
    expect(JSON.parse(up.body.toString())).toMatchObject({ status: 'ok', database: 'ok' });
    const id = await submit(
      server.url,
      shellJob(
        'sleep 2; echo kept > "$RUNBOX_OUTPUTS/result.txt"; echo finished while the database was down',
      ),
    );
    for (let i = 0; (await getJob(server.url, id)).status !== 'running'; i++) {
      if (i > 300) throw new Error(`job ${id} never started`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const doc = JSON.parse((await http(`${server.url}/openapi.json`)).body.toString()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    await gate.down();
    // Every operation answers a status its document lists: 503 was not listed anywhere
    // but /healthz, so a generated client had no type for the answer of an outage.
    const undocumented: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const url = path
          .replace('{id}', id)
          .replace('{attempt}', '1')
          .replace('{name}', 'nightly')
          .replace('{path}', 'result.txt');
        const job = { runtime: 'shell', command: ['true'] };
        const bodies: Record<string, unknown> = {
          '/v1/jobs': job,
          '/v1/jobs/batch': { jobs: [job] },
          '/v1/schedules': { name: 'nightly', cron: '0 0 * * *', job },
        };
        const answer = await http(`${server.url}${url}`, {
          method: method.toUpperCase(),
          ...(['post', 'delete'].includes(method) ? { body: bodies[path] ?? {} } : {}),
        });
        if (!operation.responses[String(answer.status)]) {
          undocumented.push(`${method.toUpperCase()} ${path}: ${answer.status}`);
        }
      }
    }
    expect(undocumented).toEqual([]);
    const read = await http(`${server.url}/v1/jobs/${id}`);
    expect(read.status).toBe(503);
    const { error } = JSON.parse(read.body.toString()) as {
      error: { type: string; field: string; message: string };
    };
    expect(error).toMatchObject({ type: 'StorageUnavailable', field: 'queue.url' });
    expect(error.message).toContain(`127.0.0.1:${gate.port}`);
    expect(error.message).not.toContain('Internal');

    const cli = await runbox(server.url, ['status', id]);
    expect(cli.code).toBe(69);
    expect(cli.stderr).toContain('queue.url');

    // The job ends (its container exits after 2 s) while nothing can be written.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const down = await http(`${server.url}/healthz`);
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body.toString())).toMatchObject({
      status: 'degraded',
      engine: 'ok',
      database: 'unavailable',
    });
    // /metrics answered 503 here, so Prometheus lost this process's own figures during
    // the outage; now they come, the database-wide gauges without samples.
    const metricsDown = await http(`${server.url}/metrics`);
    expect(metricsDown.status).toBe(200);
    const downText = metricsDown.body.toString();
    expect(downText).toMatch(/^runbox_queue_up(\{[^}]*\})? 0$/m);
    expect(downText).toMatch(/^process_cpu_user_seconds_total(\{[^}]*\})? /m);
    expect(downText).not.toMatch(/^runbox_jobs\{/m);
    expect(downText).not.toMatch(/^runbox_workers\{/m);
    await gate.up();

    const job = await waitFinal(server.url, id, 60_000);
    // Judged by the reaper's next pass, within a second of the database answering again.
    let back = await http(`${server.url}/healthz`);
    for (let i = 0; back.status !== 200 && i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      back = await http(`${server.url}/healthz`);
    }
    expect(back.status).toBe(200);
    expect(JSON.parse(back.body.toString())).toMatchObject({ status: 'ok', database: 'ok' });
    const metricsUp = (await http(`${server.url}/metrics`)).body.toString();
    expect(metricsUp).toMatch(/^runbox_queue_up(\{[^}]*\})? 1$/m);
    expect(metricsUp).toMatch(/^runbox_jobs\{[^}]*status="succeeded"[^}]*\} 1$/m);
    expect(job.status).toBe('succeeded');
    expect(job.attempts).toBe(1);
    const logs = await http(`${server.url}/v1/jobs/${id}/logs`);
    expect(logs.body.toString()).toBe('finished while the database was down\n');
    const output = await http(`${server.url}/v1/jobs/${id}/outputs/result.txt`);
    expect(output.body.toString()).toBe('kept\n');

    // The outage in the log: its first failure, then nothing until the database is back
    // (a reminder comes once a minute; this one lasted seconds). Every loop used to log
    // each failed turn with its stack, ~6 lines a second.
    const lines = server
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const failures = lines.filter(
      (line) =>
        line['req'] === undefined &&
        line['request_id'] === undefined &&
        (line['error'] as { type?: string } | undefined)?.type === 'StorageUnavailable',
    );
    expect(failures.map((line) => line['msg'])).toHaveLength(1);
    const again = lines.filter((line) => line['msg'] === 'the queue database answers again');
    expect(again).toHaveLength(1);
    expect(again[0]!['failures_not_logged']).toBeGreaterThan(5);
    expect(again[0]!['unavailable_ms']).toBeGreaterThan(5000);
  }, 120_000);

  it('keeps a logs -f open through the outage: every byte once, exit 0 when the job ends', async () => {
    const id = await submit(
      server.url,
      shellJob('for i in $(seq 1 12); do printf "line %s \\303\\251\\n" "$i"; sleep 0.5; done'),
    );
    for (let i = 0; (await getJob(server.url, id)).status !== 'running'; i++) {
      if (i > 300) throw new Error(`job ${id} never started`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const follower = spawn(
      process.execPath,
      [RUNBOX_BUNDLE, 'logs', id, '-f', '--server', server.url],
      {
        env: { ...process.env, RUNBOX_CONFIG: '', RUNBOX_SERVER: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const out: Buffer[] = [];
    let stderr = '';
    follower.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    follower.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => follower.on('close', resolve));
    for (let i = 0; !Buffer.concat(out).includes('line 1 '); i++) {
      if (i > 300) throw new Error(`no first line; stderr: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await gate.down();
    await new Promise((resolve) => setTimeout(resolve, 4000));
    await gate.up();
    expect(await closed, stderr).toBe(0);
    const expected = Array.from({ length: 12 }, (_, i) => `line ${i + 1} é\n`).join('');
    expect(Buffer.concat(out).toString()).toBe(expected);
    const job = await waitFinal(server.url, id, 60_000);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1 });
  }, 120_000);

  it("keeps submit --wait waiting through the outage: it exits with the job's own code", async () => {
    const script = join(dataDir, 'wait.sh');
    writeFileSync(script, 'sleep 3; exit 7\n');
    const waiter = runbox(server.url, ['submit', script, '--wait'], 90_000);
    for (let i = 0; ; i++) {
      const page = JSON.parse((await http(`${server.url}/v1/jobs?limit=1`)).body.toString()) as {
        jobs: { spec: { script?: { path: string } }; status: string }[];
      };
      const newest = page.jobs[0];
      if (newest?.spec.script?.path === 'wait.sh' && newest.status === 'running') break;
      if (i > 300) throw new Error('the waited job never started');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await gate.down();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await gate.up();
    const waited = await waiter;
    expect(waited.code, waited.stderr).toBe(7);
  }, 120_000);
});
