import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropCheckingLeftovers, freshDatabase, type TestDatabase } from '../helpers/postgres.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { http, runbox, shellJob, submit, waitFinal } from './outputsKit.js';

/**
 * Seen on a fleet of two `runbox serve` on one PostgreSQL, each with the default local
 * blob store: the node that had not run a job answered its log with "is no longer
 * stored" and its output with "no blob ... in the store", as if the data were lost;
 * it was on the other node's disk all along.
 */
describe('two nodes on one PostgreSQL, each keeping blobs on its own disk', () => {
  let db: TestDatabase;
  const dirs: string[] = [];
  let runner: RunboxProcess;
  let other: RunboxProcess;
  let id: string;

  beforeAll(async () => {
    db = await freshDatabase('runbox_pglocal');
    const node = (workers: number) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'runbox-pg-local-'));
      dirs.push(dataDir);
      return startServerProcess({
        dataDir,
        configFile: writeTestConfig(dataDir),
        workers,
        env: { RUNBOX_QUEUE: db.url },
      });
    };
    runner = await node(1);
    other = await node(0);
    id = await submit(runner.url, shellJob('echo ran here; echo kept > "$RUNBOX_OUTPUTS/o.txt"'));
    expect((await waitFinal(runner.url, id)).status).toBe('succeeded');
  });

  afterAll(async () => {
    for (const node of [runner, other]) {
      if (!node) continue;
      node.kill('SIGTERM');
      await node.exited;
    }
    if (db) await dropCheckingLeftovers(db);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('the node that ran the job serves its log and output', async () => {
    expect((await http(`${runner.url}/v1/jobs/${id}/logs`)).body.toString()).toBe('ran here\n');
    expect((await http(`${runner.url}/v1/jobs/${id}/outputs/o.txt`)).body.toString()).toBe(
      'kept\n',
    );
  });

  it('the other node says where they are and how to share them, not that they are gone', async () => {
    for (const path of [`/v1/jobs/${id}/logs`, `/v1/jobs/${id}/outputs/o.txt`]) {
      const answer = await http(`${other.url}${path}`);
      expect(answer.status, path).toBe(404);
      const { error } = JSON.parse(answer.body.toString()) as {
        error: { type: string; message: string };
      };
      expect(error.type).toBe('NotFound');
      expect(error.message).not.toContain('no longer stored');
      expect(error.message).toContain('only the node that ran the job has them');
      expect(error.message).toContain('--blobs s3://');
    }
    const cli = await runbox(other.url, ['logs', id]);
    expect(cli.code).toBe(66);
    expect(cli.stderr).toContain('only the node that ran the job has them');
  });

  // Followed attempt by attempt, the last attempt's stored log was read inside the
  // stream: the other node answered 500 FST_ERR_REP_INVALID_PAYLOAD_TYPE, and `logs -f`
  // retried it for its 60 s of --reconnect-seconds, then exited 69 (server away).
  it('logs -f and the follow of an attempt say the same, at once', async () => {
    const answer = await http(`${other.url}/v1/jobs/${id}/logs?follow=true&attempt=1`);
    expect(answer.status).toBe(404);
    const { error } = JSON.parse(answer.body.toString()) as {
      error: { type: string; message: string; field: string };
    };
    expect(error).toMatchObject({ type: 'NotFound', field: 'stream' });
    expect(error.message).toContain('--blobs s3://');
    const started = Date.now();
    const cli = await runbox(other.url, ['logs', '-f', id]);
    expect(cli.code).toBe(66);
    expect(cli.stderr).toContain('only the node that ran the job has them');
    expect(cli.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(20_000);
    const runnerFollow = await runbox(runner.url, ['logs', '-f', id]);
    expect(runnerFollow.code).toBe(0);
    expect(runnerFollow.stdout).toBe('ran here\n');
  });
});
