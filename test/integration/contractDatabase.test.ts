import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import type { Config } from '../../src/config.js';
import {
  CURRENT_CONTRACT,
  fingerprintOf,
  type ContractDescriptor,
} from '../../src/contract/contract.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { contractFixture } from '../helpers/contractImage.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import {
  runCliProcess,
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE, testConfig } from '../helpers/testConfig.js';

/** A later build of the same major that added one optional field (a minor bump). */
function minorBumpedContract(): ContractDescriptor {
  const schema = structuredClone(CURRENT_CONTRACT.schema) as {
    properties: Record<string, unknown>;
  };
  schema.properties.queue_wait_seconds = { type: 'number' };
  return { ...CURRENT_CONTRACT, version: '1.2.0', fingerprint: fingerprintOf(schema), schema };
}

function stampOf(dbPath: string): Record<string, string> {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db
      .prepare("SELECT key, value FROM meta WHERE key LIKE 'contract_%'")
      .all() as Array<{
      key: string;
      value: string;
    }>;
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  } finally {
    db.close();
  }
}

describe('a database stamped with a result contract', () => {
  let config: Readonly<Config>;
  let cleanup: () => void;
  let configFile: string;
  let server: RunboxProcess | null = null;

  /** Opens (creating) the database as a build speaking `contract` would, then closes it. */
  function stampWith(contract: ContractDescriptor): void {
    SqliteQueue.open(config, { contract }).close();
  }
  const cli = (...args: string[]) =>
    runCliProcess([...args, '--config', configFile, '--data-dir', config.dataDir], {
      env: { RUNBOX_CONFIG: '' },
      timeoutMs: 20_000,
    });

  beforeEach(() => {
    ({ config, cleanup } = testConfig());
    configFile = writeTestConfig(config.dataDir, { port: 0 });
  });
  afterEach(async () => {
    if (server) {
      server.kill();
      await server.exited;
      server = null;
    }
    await expectNoLeftoverContainers(TEST_INSTANCE);
    cleanup();
  });

  it.each([
    ['an older major (legacy flat metrics)', 'legacy-flat-metrics.json', /major version differs/],
    [
      'the same version with another fingerprint',
      'same-version-different-fingerprint.json',
      /same version 1\.1\.0 but a different fingerprint/,
    ],
  ])(
    'by %s is refused by runbox serve: exit 78 naming both versions and what to do',
    async (_, fixture, reason) => {
      const other = contractFixture(fixture);
      stampWith(other);
      const { code, stderr } = await cli('serve', '--port', '0');
      expect(code).toBe(78);
      expect(stderr).toContain(
        `runbox: ContractMismatch: database ${config.dbPath} was written with result contract runbox.result ${other.version}`,
      );
      expect(stderr).toContain(`this runbox speaks runbox.result ${CURRENT_CONTRACT.version}`);
      expect(stderr).toMatch(reason);
      expect(stderr).toMatch(
        /Open it with the runbox build that wrote it.*new database file \(--db PATH\)/,
      );
      expect(stderr).not.toMatch(/listening on/);
      // Refusing leaves the file as the other build left it.
      expect(stampOf(config.dbPath)).toEqual({
        contract_name: other.name,
        contract_version: other.version,
        contract_fingerprint: other.fingerprint,
      });
    },
  );

  it('runbox worker refuses it too, and runbox doctor marks the database fail with a fix', async () => {
    stampWith(contractFixture('legacy-3-field.json'));
    const worker = await cli('worker');
    expect(worker.code).toBe(78);
    expect(worker.stderr).toMatch(/result contract runbox\.result 0\.3\.0.*runbox\.result 1\.1\.0/);

    const doctor = await cli('doctor', '--json');
    expect(doctor.code).toBe(1);
    const { checks } = JSON.parse(doctor.stdout) as {
      checks: Array<{ name: string; state: string; detail: string; fix?: string }>;
    };
    expect(checks.find((c) => c.name === 'database')).toMatchObject({
      state: 'fail',
      detail: expect.stringMatching(/contract 0\.3\.0: major version differs/),
      fix: expect.stringMatching(/runbox build that wrote it/),
    });
  });

  it('written by this build opens, and the jobs in it run', async () => {
    const queue = SqliteQueue.open(config);
    const [queued] = await queue.submit([
      {
        spec: { runtime: 'shell', script: { path: 'job.sh', content: 'echo kept' } },
        maxAttempts: 1,
      },
    ]);
    queue.close();

    server = await startServerProcess({ dataDir: config.dataDir, configFile, workers: 1 });
    const response = await fetch(
      new URL(`/v1/jobs/${queued!.job.id}?wait=true&wait_seconds=30`, server.url),
    );
    const job = (await response.json()) as JobView;
    expect(job.status).toBe('succeeded');
    expect(job.contract_version).toBe(CURRENT_CONTRACT.version);
  });

  it('written by an older minor opens in a newer build, which raises the stamp; this older build then refuses it', async () => {
    stampWith(CURRENT_CONTRACT);
    const newer = minorBumpedContract();
    stampWith(newer); // a 1.2 build opens a 1.1 database: compatible
    expect(stampOf(config.dbPath).contract_version).toBe('1.2.0');

    // It may now hold results this 1.1 build cannot read.
    const { code, stderr } = await cli('serve', '--port', '0');
    expect(code).toBe(78);
    expect(stderr).toMatch(
      /result contract runbox\.result 1\.2\.0.*this runbox speaks runbox\.result 1\.1\.0/,
    );
    expect(stderr).toMatch(/the other is newer \(1\.2\.0 > 1\.1\.0\)/);
  });
});
