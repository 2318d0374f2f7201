import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { loadConfig } from '../../src/config.js';
import {
  CURRENT_CONTRACT,
  fingerprintOf,
  type ContractDescriptor,
} from '../../src/contract/contract.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { buildContractImage, contractFixture, removeImage } from '../helpers/contractImage.js';
import { expectNoLeftoverContainers, labelledContainers } from '../helpers/leftovers.js';
import {
  runCliProcess,
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE, TEST_RUNTIMES } from '../helpers/testConfig.js';

/*
 * The incident runbox exists for: a worker image built before a change kept running and
 * every job crashed, found only in production logs. Each step below is one place where
 * runbox now stops it, played with real images (built offline FROM runbox-test/shell)
 * and real runbox processes.
 */

const UNLABELLED = `runbox-test/stale-unlabelled:${process.pid}`;
const OLD_LABEL = `runbox-test/stale-labelled:${process.pid}`;
const FRESH = `runbox-test/fresh-labelled:${process.pid}`;

/** A later build of the same major that added one optional field (a minor bump). */
function newerContract(): ContractDescriptor {
  const schema = structuredClone(CURRENT_CONTRACT.schema) as {
    properties: Record<string, unknown>;
  };
  schema.properties.added_later = { type: 'string' };
  return { ...CURRENT_CONTRACT, version: '1.99.0', fingerprint: fingerprintOf(schema), schema };
}

/** The CI gate as a pipeline runs it: `CI` as given, nothing else of the caller's env. */
function gate(image: string, env: { CI?: string }, ...flags: string[]) {
  return runCliProcess(['contract', 'check', '--against', `image:${image}`, ...flags], {
    env: { RUNBOX_CONFIG: '', RUNBOX_SERVER: '', CI: env.CI ?? '' },
  });
}

describe('the stale-worker incident, end to end', () => {
  let dataDir: string;
  const servers: RunboxProcess[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-stale-incident-'));
    await buildContractImage(UNLABELLED, null);
    await buildContractImage(OLD_LABEL, contractFixture('legacy-flat-metrics.json'));
    await buildContractImage(FRESH, CURRENT_CONTRACT);
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.kill();
      await server.exited;
    }
    await expectNoLeftoverContainers(TEST_INSTANCE);
  });
  afterAll(async () => {
    await Promise.all([UNLABELLED, OLD_LABEL, FRESH].map(removeImage));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('1. the CI gate: an image built before labels existed fails strict mode with its own exit code (80)', async () => {
    // Outside CI the old lenient answer stays: runtime images embed no runbox.
    const lenient = await gate(UNLABELLED, {});
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toMatch(/carries no io\.runbox\.contract label/);

    for (const [env, flags] of [
      [{}, ['--require-label']],
      [{ CI: 'true' }, []],
      [{ CI: '1' }, []],
    ] as const) {
      const strict = await gate(UNLABELLED, env, ...flags);
      expect({ env, flags, code: strict.code }).toEqual({ env, flags, code: 80 });
      expect(strict.stdout).toBe('');
      expect(strict.stderr).toContain(
        `runbox: ImageUnlabelled: image ${UNLABELLED} carries no io.runbox.contract label`,
      );
      // The fix names the exact label to build with.
      expect(strict.stderr).toContain(
        `io.runbox.contract='{"name":"runbox.result","version":"${CURRENT_CONTRACT.version}"`,
      );
    }
    // CI=false is not "strict"; --no-require-label opts one gate out even under CI=true.
    expect((await gate(UNLABELLED, { CI: 'false' })).code).toBe(0);
    expect((await gate(UNLABELLED, { CI: 'true' }, '--no-require-label')).code).toBe(0);
  });

  it('2. the CI gate: an image labelled with an older contract is refused (78) naming the fields, a fresh one passes', async () => {
    const old = await gate(OLD_LABEL, { CI: 'true' });
    expect(old.code).toBe(78);
    expect(old.stderr).toContain(`image ${OLD_LABEL}: runbox.result 0.9.0`);
    expect(old.stderr).toMatch(/major version differs: this build 1\.\d+\.\d+, the other 0\.9\.0/);

    const fresh = await gate(FRESH, { CI: 'true' }, '--require-label');
    expect({ code: fresh.code, stderr: fresh.stderr }).toEqual({ code: 0, stderr: '' });
    expect(fresh.stdout).toContain('compatible');
  });

  it('3. a stale runbox build started against a database a newer build has stamped exits 78 before claiming', async () => {
    const db = join(dataDir, 'newer.db');
    const configFile = writeTestConfig(dataDir, { port: 0 });
    // The newer node opens the database (raising its stamp) and accepts a job.
    const newer = SqliteQueue.open(
      loadConfig({
        env: {},
        overrides: { dataDir, dbPath: db, instance: TEST_INSTANCE, runtimes: TEST_RUNTIMES },
      }),
      { contract: newerContract() },
    );
    const [queued] = await newer.submit([
      {
        spec: { runtime: 'shell', script: { path: 'job.sh', content: 'echo hi' } },
        maxAttempts: 1,
      },
    ]);
    newer.close();

    for (const command of [['worker'], ['serve', '--port', '0']]) {
      const stale = await runCliProcess(
        [...command, '--config', configFile, '--data-dir', dataDir, '--db', db],
        { env: { RUNBOX_CONFIG: '' }, timeoutMs: 30_000 },
      );
      expect({ command, code: stale.code }).toEqual({ command, code: 78 });
      expect(stale.stderr).toMatch(
        /result contract runbox\.result 1\.99\.0.*this runbox speaks runbox\.result 1\.1\.0/,
      );
      expect(stale.stderr).not.toMatch(/listening on|worker pool running/);
    }
    // Nothing was claimed: the job waits, untouched, for a build that can run it.
    const file = new Database(db, { readonly: true });
    const row = file
      .prepare('SELECT status, attempts, lease_owner FROM jobs WHERE id = ?')
      .get(queued!.job.id);
    const workers = file.prepare('SELECT count(*) AS n FROM workers').get() as { n: number };
    file.close();
    expect(row).toEqual({ status: 'queued', attempts: 0, lease_owner: null });
    expect(workers.n).toBe(0);
    expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);
  });

  it('4. a runtime still pointing at the stale worker image fails its job before any container exists; the rebuilt one runs', async () => {
    const configFile = writeTestConfig(dataDir, {
      port: 0,
      runtimes: {
        ...TEST_RUNTIMES,
        stale: { image: OLD_LABEL, command: ['sh', '{script}'] },
        fresh: { image: FRESH, command: ['sh', '{script}'] },
      },
    });
    const server = await startServerProcess({ dataDir, configFile, workers: 1 });
    servers.push(server);
    const submit = async (runtime: string) => {
      const created = await fetch(new URL('/v1/jobs?wait=true&wait_seconds=60', server.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          runtime,
          script: { path: 'job.sh', content: 'echo ran' },
          max_attempts: 1,
        }),
      });
      return (await created.json()) as JobView;
    };
    const stale = await submit('stale');
    expect(stale.status).toBe('failed');
    expect(stale.error).toMatchObject({
      type: 'ImageContractMismatch',
      field: 'image',
      message: expect.stringMatching(
        new RegExp(`image ${OLD_LABEL} was built for contract runbox\\.result 0\\.9\\.0`),
      ),
    });
    expect(stale.result?.stdout ?? '').not.toContain('ran');

    const fresh = await submit('fresh');
    expect(fresh.status).toBe('succeeded');
  });
});
