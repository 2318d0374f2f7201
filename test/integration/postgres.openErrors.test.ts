import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunboxError } from '../../src/errors/index.js';
import { PostgresQueue } from '../../src/queue/postgres/PostgresQueue.js';
import { PG_QUEUE_CONFIG, testPgServerUrl } from '../helpers/postgres.js';
import { runCliProcess } from '../helpers/serverProcess.js';

/**
 * A node started with a queue URL the server refuses. Seen: a database that does not
 * exist, an unknown user and sslmode=require against a server without SSL all stopped
 * `runbox serve` with "Internal: database "x" does not exist" (exit 70), naming neither
 * the setting nor the fix.
 */
function urlWith(change: (url: URL) => void): string {
  const url = new URL(testPgServerUrl());
  change(url);
  return url.toString();
}

async function openError(url: string): Promise<RunboxError> {
  const error = await PostgresQueue.open(url, PG_QUEUE_CONFIG, { listen: false }).then(
    async (queue) => {
      await queue.close();
      throw new Error(`opened ${url}`);
    },
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(RunboxError);
  return error as RunboxError;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('opening a PostgreSQL queue the server refuses', () => {
  it('a database that does not exist is InvalidConfig on queue.url, saying to create it', async () => {
    const error = await openError(urlWith((u) => (u.pathname = '/runbox_no_such_database')));
    expect(error).toMatchObject({ type: 'InvalidConfig', field: 'queue.url' });
    expect(error.message).toContain('"runbox_no_such_database" does not exist');
    expect(error.message).toContain('create the database');
  });

  it('a user the server does not know is InvalidConfig on queue.url, without the password', async () => {
    const error = await openError(
      urlWith((u) => {
        u.username = 'runbox_no_such_user';
        u.password = 'hunter2-secret';
      }),
    );
    expect(error).toMatchObject({ type: 'InvalidConfig', field: 'queue.url' });
    expect(error.message).toContain('correct the user or password in queue.url');
    expect(error.message).not.toContain('hunter2-secret');
  });

  it('an sslmode against a server without SSL is InvalidConfig naming sslmode', async () => {
    const error = await openError(urlWith((u) => u.searchParams.set('sslmode', 'no-verify')));
    expect(error).toMatchObject({ type: 'InvalidConfig', field: 'queue.url' });
    expect(error.message).toContain('drop sslmode from queue.url');
  });

  it('a server that does not answer is StorageUnavailable on queue.url', async () => {
    const port = await closedPort();
    const error = await openError(urlWith((u) => (u.port = String(port))));
    expect(error).toMatchObject({ type: 'StorageUnavailable', field: 'queue.url' });
    expect(error.message).toContain(`127.0.0.1:${port}`);
  });

  it('runbox serve exits 78 naming queue.url and the fix', async () => {
    const url = urlWith((u) => (u.pathname = '/runbox_no_such_database'));
    const dataDir = mkdtempSync(join(tmpdir(), 'runbox-pg-open-'));
    const run = await runCliProcess(['serve', '--port', '0', '--workers', '0'], {
      env: { RUNBOX_QUEUE: url, RUNBOX_CONFIG: '', RUNBOX_DATA_DIR: dataDir },
      timeoutMs: 60_000,
    }).finally(() => rmSync(dataDir, { recursive: true, force: true }));
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('InvalidConfig: queue.url:');
    expect(run.stderr).not.toContain('Internal');
  }, 90_000);
});
