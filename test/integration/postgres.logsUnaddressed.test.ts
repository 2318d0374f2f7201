import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, sqlOn, type TestDatabase } from '../helpers/postgres.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { getJob, http, runbox, shellJob, submit, waitFinal } from './outputsKit.js';

/**
 * Seen on a fleet: `runbox logs ID` of a job running on a `runbox worker` started without
 * advertiseUrl answered 200 with an empty body (exit 0), exactly what a job that printed
 * nothing yet gets: the node asked had no live file and no address to ask. A worker on
 * another machine is played here by its registry row and a lease on the job, as that
 * worker would write them; the node asked is a real `runbox serve` on the same database.
 * The same empty 200 came from a real `runbox worker` on the same machine with a data dir
 * of its own (a fleet's two nodes on one host): the node took any worker of its host for
 * one sharing its data dir, whose live files it reads.
 */
describe('logs of a job running on a worker whose node advertises no address', () => {
  let db: TestDatabase;
  let dataDir: string;
  let server: RunboxProcess;
  const workers: RunboxProcess[] = [];
  const otherDirs: string[] = [];

  beforeAll(async () => {
    db = await freshDatabase('runbox_pgnoaddr');
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-pg-noaddr-'));
    server = await startServerProcess({
      dataDir,
      configFile: writeTestConfig(dataDir),
      workers: 0,
      env: { RUNBOX_QUEUE: db.url },
    });
  });

  afterAll(async () => {
    for (const worker of workers) {
      worker.kill('SIGTERM');
      await worker.exited;
    }
    for (const dir of otherDirs) rmSync(dir, { recursive: true, force: true });
    if (server) {
      server.kill('SIGTERM');
      await server.exited;
    }
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** A job leased to a live worker on `host`, registered without an address. */
  async function runningOn(host: string, workerId: string): Promise<string> {
    const id = await submit(server.url, shellJob('echo hi', { queue: 'far' }));
    await sqlOn(
      db.url,
      `INSERT INTO runbox.workers (id, host, pid, version, contract_name, contract_version,
         contract_fingerprint, queues, address, started_at, last_heartbeat_at)
       VALUES ($1, $2, 4242, '0.1.0', 'runbox.result', '1.1.0', 'f', '{"far": 1}', NULL,
         now(), now())`,
      [workerId, host],
    );
    await sqlOn(
      db.url,
      `UPDATE runbox.jobs SET status = 'running', attempts = 1, lease_owner = $2,
         attempt_token = 'token', lease_expires_at = now() + interval '1 hour',
         started_at = now(), updated_at = now()
       WHERE id = $1`,
      [id, workerId],
    );
    return id;
  }

  it('answers 503 NodeUnreachable naming the worker, its host and advertiseUrl (CLI exit 69), never an empty 200', async () => {
    const id = await runningOn('far-host', 'far-host-4242-aaaa');
    const answer = await http(`${server.url}/v1/jobs/${id}/logs`);
    expect(answer.status).toBe(503);
    const { error } = JSON.parse(answer.body.toString()) as {
      error: { type: string; field: string; message: string };
    };
    expect(error).toMatchObject({ type: 'NodeUnreachable', field: 'worker_id' });
    expect(error.message).toContain('far-host-4242-aaaa on host far-host');
    expect(error.message).toContain('advertiseUrl');
    const cli = await runbox(server.url, ['logs', id]);
    expect(cli.code).toBe(69);
    expect(cli.stderr).toContain('NodeUnreachable');
  });

  /** A real `runbox worker` on this machine, serving `queue`, in `workerDir`. */
  async function workerIn(workerDir: string, queue: string): Promise<RunboxProcess> {
    const worker = await startServerProcess({
      dataDir: workerDir,
      configFile: writeTestConfig(workerDir),
      command: 'worker',
      env: { RUNBOX_QUEUE: db.url },
      extraArgs: ['--queues', `${queue}:1`],
    });
    workers.push(worker);
    return worker;
  }

  async function untilRunning(id: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while ((await getJob(server.url, id)).status !== 'running') {
      if (Date.now() > deadline) throw new Error(`job ${id} never ran`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('answers 503 NodeUnreachable for a worker on this machine with a data dir of its own (two nodes on one host), never an empty 200', async () => {
    const besideDir = mkdtempSync(join(tmpdir(), 'runbox-pg-beside-'));
    otherDirs.push(besideDir);
    await workerIn(besideDir, 'beside');
    const id = await submit(server.url, shellJob('echo hi; sleep 60', { queue: 'beside' }));
    await untilRunning(id);
    const answer = await http(`${server.url}/v1/jobs/${id}/logs`);
    expect(answer.status, answer.body.toString()).toBe(503);
    const { error } = JSON.parse(answer.body.toString()) as {
      error: { type: string; field: string; message: string };
    };
    expect(error).toMatchObject({ type: 'NodeUnreachable', field: 'worker_id' });
    expect(error.message).toContain(`on host ${hostname()}`);
    expect(error.message).toContain('advertiseUrl');
    await http(`${server.url}/v1/jobs/${id}/cancel`, { method: 'POST' });
    expect((await waitFinal(server.url, id)).status).toBe('cancelled');
  });

  it("still reads the live log of a worker sharing this node's data dir", async () => {
    await workerIn(dataDir, 'shared');
    const id = await submit(server.url, shellJob('echo hi; sleep 60', { queue: 'shared' }));
    await untilRunning(id);
    const deadline = Date.now() + 30_000;
    let answer = await http(`${server.url}/v1/jobs/${id}/logs`);
    while (answer.status === 200 && answer.body.toString() === '' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      answer = await http(`${server.url}/v1/jobs/${id}/logs`);
    }
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('hi\n');
    await http(`${server.url}/v1/jobs/${id}/cancel`, { method: 'POST' });
    expect((await waitFinal(server.url, id)).status).toBe('cancelled');
  });
});
