import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config.js';

/** The runtime names of the embedded defaults, pointed at the locally built images. */
export const TEST_RUNTIMES = {
  'python:3.11': { image: 'runbox-test/python:latest', command: ['python3', '{script}'] },
  'node:20': { image: 'runbox-test/node:latest', command: ['node', '{script}'] },
  shell: { image: 'runbox-test/shell:latest', command: ['sh', '{script}'] },
};

/**
 * Test servers allow any image, network and pull policy, as runbox did before operator
 * allow-lists: tests of other behaviour name images and networks freely. Tests of the
 * allow-lists themselves (ceilings.test.ts) override `allow`.
 */
export const TEST_ALLOW = {
  images: ['*'],
  networks: ['none', 'bridge'] as Array<'none' | 'bridge'>,
  pullPolicies: ['if-not-present', 'always', 'never'] as Array<
    'if-not-present' | 'always' | 'never'
  >,
};

/**
 * Instance label for this test process, so parallel runs never touch each other's
 * containers. The pid alone is not enough: pids wrap (pid_max is 32768 here), and a
 * later process given the same pid would count an aborted run's containers as its own.
 */
export const TEST_INSTANCE = `test-${process.pid}-${randomBytes(3).toString('hex')}`;

/**
 * Labels for an executor a test builds without a queue (a runbox process takes the
 * database's id; tests that hold a queue pass `queue.databaseId`).
 */
export const TEST_IDENTITY = { instance: TEST_INSTANCE, database: TEST_INSTANCE };

/** A config over a fresh temp data dir; call cleanup() in afterAll/afterEach. */
export function testConfig(overrides: ConfigOverrides = {}): {
  config: Readonly<Config>;
  cleanup: () => void;
} {
  const dataDir = mkdtempSync(join(tmpdir(), 'runbox-test-'));
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      instance: TEST_INSTANCE,
      runtimes: TEST_RUNTIMES,
      defaults: { pullPolicy: 'never' },
      allow: TEST_ALLOW,
      ...overrides,
    },
  });
  return { config, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}
