import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runningLogsOf } from '../../src/executor/runningLogs.js';

describe('runningLogsOf', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-running-logs-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  function folder(name: string, stdout?: string, mtimeSeconds?: number): string {
    const dir = join(dataDir, 'scratch', name);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'stdout.head');
    if (stdout !== undefined) {
      writeFileSync(path, stdout);
      if (mtimeSeconds !== undefined) utimesSync(path, mtimeSeconds, mtimeSeconds);
    }
    return path;
  }

  it("follows the fresh run's file of an attempt never re-attached", async () => {
    const fresh = folder('JOB1-1-0000000a', 'hello\n');
    folder('JOB1-2-0000000b', 'other attempt\n');
    expect(await runningLogsOf(dataDir).find('JOB1', 1, 'stdout')).toBe(fresh);
  });

  it("follows a re-attached attempt's replay, not the fresh run's file the stored log is not made from", async () => {
    // A stranger's `logs -f` of a job re-attached after kill -9 printed the fresh run's
    // bytes (a newline after a 20,000-byte line), then the stored log from the same
    // offset: a log differing from `runbox logs` in 4 bytes. The stored log is the
    // replay, whose engine copy drops that newline.
    folder('JOB1-1-0000000a', `${'L'.repeat(20000)}\ntail`);
    const logs = runningLogsOf(dataDir);
    const replay = folder('reattach-JOB1-1-0000000c');
    expect(await logs.find('JOB1', 1, 'stdout')).toBeNull();
    writeFileSync(replay, 'L'.repeat(20000));
    expect(await logs.find('JOB1', 1, 'stdout')).toBe(replay);
  });

  it('follows the newest re-attach of an attempt re-attached twice', async () => {
    folder('JOB1-1-0000000a', 'fresh');
    folder('reattach-JOB1-1-0000000c', 'first replay', 1_000_000);
    const newest = folder('reattach-JOB1-1-0000000b', 'second replay', 2_000_000);
    expect(await runningLogsOf(dataDir).find('JOB1', 1, 'stdout')).toBe(newest);
  });
});
