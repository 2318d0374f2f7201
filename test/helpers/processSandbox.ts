import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { expectNoLeftoverContainers } from './leftovers.js';
import type { RunboxProcess } from './serverProcess.js';
import { TEST_INSTANCE } from './testConfig.js';

export interface ProcessSandbox {
  /** A fresh data directory for each test. */
  readonly dataDir: string;
  /** Processes the test started; killed (even if paused) after it. */
  readonly processes: RunboxProcess[];
}

/**
 * For tests that run real runbox processes: a fresh data directory per test, and
 * after each one every process killed, the test failed if it left a labelled
 * container, and the directory removed.
 */
export function useProcessSandbox(name: string): ProcessSandbox {
  const state = { dataDir: '', processes: [] as RunboxProcess[] };
  beforeEach(() => {
    state.dataDir = mkdtempSync(join(tmpdir(), `runbox-${name}-`));
  });
  afterEach(async () => {
    for (const p of state.processes.splice(0)) {
      p.child.kill('SIGCONT');
      p.kill('SIGKILL');
      await p.exited;
    }
    await expectNoLeftoverContainers(TEST_INSTANCE);
    rmSync(state.dataDir, { recursive: true, force: true });
  });
  return state;
}
