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
import { http, runbox, shellJob, submit } from './outputsKit.js';

/**
 * Seen on a fleet: `runbox logs ID` of a job running on a `runbox worker` started without
 * advertiseUrl answered 200 with an empty body (exit 0), exactly what a job that printed
 * nothing yet gets: the node asked had no live file and no address to ask. A worker on
 * another machine is played here by its registry row and a lease on the job, as that
 * worker would write them; the node asked is a real `runbox serve` on the same database.
 */
describe('logs of a job running on a worker whose node advertises no address', () => {
  let db: TestDatabase;
  let dataDir: string;
  let server: RunboxProcess;

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

  it('still reads a worker on this machine from its own data dir: such a worker may share it', async () => {
    const id = await runningOn(hostname(), `${hostname()}-4243-bbbb`);
    const answer = await http(`${server.url}/v1/jobs/${id}/logs`);
    expect(answer.status).toBe(200);
  });
});
