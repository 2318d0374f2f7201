import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { waitFor } from '../helpers/queueProbe.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * A fault of the server's own is a 500 with its stack logged under the request id,
 * whatever class the thrown error has. A RangeError or SyntaxError from any handler was
 * answered 400 "body could not be parsed" (field "(body)"), even to a GET that sent
 * no body, and nothing was logged: a stored time past Date's range (PostgreSQL's year
 * 0 read back did the same) looked like the client's mistake.
 */
describe('a server fault against runbox serve', () => {
  const sandbox = useProcessSandbox('faults');

  it('answers a RangeError from a handler 500 Internal and logs its stack under the request id', async () => {
    const server = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile: writeTestConfig(sandbox.dataDir),
      workers: 0,
    });
    sandbox.processes.push(server);
    const submitted = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ runtime: 'shell', command: ['true'], run_at: '2031-01-01T00:00:00Z' }),
    });
    const { id } = (await submitted.json()) as { id: string };
    // A row no submit can write: run_at past the largest time a Date holds (8.64e15 ms).
    const db = new Database(join(sandbox.dataDir, 'runbox.db'));
    db.pragma('busy_timeout = 5000');
    db.prepare('UPDATE jobs SET run_at = ? WHERE id = ?').run(9e15, id);
    db.close();

    const answer = await fetch(`${server.url}/v1/jobs/${id}`, {
      headers: { 'x-request-id': 'fault-1' },
    });
    expect(answer.status).toBe(500);
    expect(await answer.json()).toMatchObject({
      error: { type: 'Internal', request_id: 'fault-1' },
    });
    // The answer and the log line travel on different pipes: wait for the line.
    const logged = await waitFor('the fault logged under its request id', () =>
      server
        .stderr()
        .split('\n')
        .find(
          (line) => line.includes('"request_id":"fault-1"') && line.includes('"level":"error"'),
        ),
    );
    expect(logged).toContain('Invalid time value');
  });
});
