import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

const INCOMPATIBLE_WORKER = resolve('test/helpers/incompatibleWorker.ts');
const LEGACY_CONTRACT = resolve('fixtures/contracts/legacy-flat-metrics.json');
const JOBS = 10;

/** Runs the test-only entry that is `runbox` with another build's contract. */
function runIncompatible(
  args: string[],
): Promise<{ code: number | null; stderr: string; pid: number }> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', INCOMPATIBLE_WORKER, LEGACY_CONTRACT, ...args],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUNBOX_CONFIG: '' } },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`incompatible worker did not exit; stderr:\n${stderr}`));
    }, 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stderr, pid: child.pid! });
    });
  });
}

async function api<T>(base: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(new URL(path, base), {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

describe('a worker process built with an incompatible contract', () => {
  let dataDir: string;
  let configFile: string;
  let dbPath: string;
  const servers: RunboxProcess[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-contract-worker-'));
    configFile = writeTestConfig(dataDir);
    dbPath = join(dataDir, 'runbox.db');
  });
  afterEach(async () => {
    for (const p of servers.splice(0)) {
      p.kill();
      await p.exited;
    }
    await expectNoLeftoverContainers(TEST_INSTANCE);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('exits 78 naming both versions, never registers or claims, while the compatible workers run every job', async () => {
    // The server's own single slot is the compatible worker already running.
    const server = await startServerProcess({ dataDir, configFile, workers: 1 });
    servers.push(server);

    // Every lease handed out is logged by the database itself, whoever takes it.
    const audit = new Database(dbPath);
    audit.pragma('busy_timeout = 5000');
    audit.exec(`
      CREATE TABLE test_claims (job_id TEXT NOT NULL, owner TEXT NOT NULL);
      CREATE TRIGGER test_claim_log AFTER UPDATE OF lease_owner ON jobs
      WHEN NEW.lease_owner IS NOT NULL AND OLD.lease_owner IS NOT NEW.lease_owner
      BEGIN INSERT INTO test_claims VALUES (NEW.id, NEW.lease_owner); END;`);

    const { jobs } = await api<{ jobs: JobView[] }>(server.url, '/v1/jobs/batch', {
      jobs: Array.from({ length: JOBS }, (_, i) => ({
        runtime: 'shell',
        script: { path: 'job.sh', content: `sleep 0.5; echo job ${i}` },
        timeout_seconds: 30,
      })),
    });
    expect(jobs).toHaveLength(JOBS);

    const refused = await runIncompatible([
      'worker',
      '--config',
      configFile,
      '--data-dir',
      dataDir,
      '--workers',
      '2',
    ]);
    const queuedWhenItLeft = (
      audit.prepare("SELECT count(*) AS n FROM jobs WHERE status = 'queued'").get() as {
        n: number;
      }
    ).n;

    expect(refused.code).toBe(78);
    expect(refused.stderr).toMatch(
      /ContractMismatch: worker \S+ speaks result contract runbox\.result 0\.9\.0, this runbox reads runbox\.result 1\.1\.0/,
    );
    expect(refused.stderr).toMatch(/Run workers built from the same runbox version/);
    expect(refused.stderr).not.toMatch(/worker pool running/);
    // There was work to take when it was refused, and it took none.
    expect(queuedWhenItLeft).toBeGreaterThan(0);

    // A compatible second worker process joins through the same handshake.
    const worker = await startServerProcess({ dataDir, configFile, command: 'worker', workers: 2 });
    servers.push(worker);

    const deadline = Date.now() + 60_000;
    let finals: JobView[] = [];
    while (Date.now() < deadline) {
      finals = await Promise.all(jobs.map((j) => api<JobView>(server.url, `/v1/jobs/${j.id}`)));
      if (finals.every((j) => ['succeeded', 'failed', 'cancelled'].includes(j.status))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(finals.map((j) => [j.status, j.attempts])).toEqual(
      Array.from({ length: JOBS }, () => ['succeeded', 1]),
    );

    const { workers } = await api<{ workers: Array<{ id: string; pid: number; state: string }> }>(
      server.url,
      '/v1/workers',
    );
    expect(workers.map((w) => w.pid).sort()).toEqual([server.child.pid, worker.child.pid].sort());
    expect(workers.every((w) => w.state === 'alive')).toBe(true);

    const claims = audit.prepare('SELECT job_id, owner FROM test_claims').all() as Array<{
      job_id: string;
      owner: string;
    }>;
    audit.close();
    expect(claims).toHaveLength(JOBS);
    const owners = new Set(claims.map((c) => c.owner));
    expect([...owners].every((o) => workers.some((w) => w.id === o))).toBe(true);
    expect([...owners].some((o) => o.includes(`-${refused.pid}-`))).toBe(false);
  });
});
