import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, sqlOn, type TestDatabase } from '../helpers/postgres.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * A run_at in year 0 against `runbox serve` on PostgreSQL. PostgreSQL stored it as
 * "0001-01-01 BC", which node-postgres reads back as an invalid Date: the submit was
 * answered 400 "body could not be parsed: Invalid time value" with the job already
 * stored, and the worker that claimed it ended the serve process (exit 1), so one
 * request from any client took the API down.
 */
describe('run_at before year 1 against runbox serve on PostgreSQL', () => {
  const sandbox = useProcessSandbox('pgrunat');
  let db: TestDatabase | undefined;
  afterAll(async () => {
    await db?.drop();
  });

  it('is refused naming run_at, stores nothing, and the server keeps serving', async () => {
    db = await freshDatabase('runbox_pgrunat');
    const server = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile: writeTestConfig(sandbox.dataDir),
      workers: 1,
      env: { RUNBOX_QUEUE: db.url },
    });
    sandbox.processes.push(server);
    let exited: number | string | null = null;
    void server.exited.then((code) => (exited = code));
    const headers = { 'content-type': 'application/json' };

    const answer = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ runtime: 'shell', command: ['true'], run_at: '0000-06-01T00:00:00Z' }),
    });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: { field: string } }).error.field).toBe('run_at');
    expect(await sqlOn(db.url, 'SELECT id FROM runbox.jobs')).toEqual([]);

    // A worker polls for due jobs several times a second; give it time to find one.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(exited).toBeNull();
    const health = await fetch(`${server.url}/v1/jobs`);
    expect(health.status).toBe(200);
  });
});
