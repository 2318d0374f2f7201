import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION } from '../../src/queue/sqlite/migrations/index.js';
import {
  PREVIOUS_SCHEMA,
  registerOlderWorker,
  writePreviousSchemaFile,
} from '../helpers/previousSchema.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { runCliProcess, writeTestConfig } from '../helpers/serverProcess.js';

// An operator who installs a new runbox beside a running older `runbox serve` on the same
// data dir: the new build must not upgrade the file under it, and doctor must say so
// before anything is started, rather than call the database OK.

/** runbox.db as the previous schema's serve leaves it while it runs (its worker row). */
function previousSchemaDataDir(dataDir: string, workerPid: number): string {
  const path = writePreviousSchemaFile(join(dataDir, 'runbox.db'));
  registerOlderWorker(path, {
    id: 'old-serve-w1',
    host: hostname(),
    pid: workerPid,
    heartbeatAgoMs: 0,
  });
  return path;
}

function schemaVersion(path: string): string {
  const db = new Database(path, { readonly: true });
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as {
    value: string;
  };
  db.close();
  return row.value;
}

describe('a newer build beside an older runbox still running on the data dir', () => {
  const sandbox = useProcessSandbox('upgrade-in-use');

  it('doctor warns naming the worker, run refuses (75) before any container, and both go ahead once it is gone', async () => {
    const older = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const db = previousSchemaDataDir(sandbox.dataDir, older.pid!);
      const config = writeTestConfig(sandbox.dataDir);
      const script = join(sandbox.dataDir, 'job.sh');
      writeFileSync(script, 'echo upgraded\n');
      const env = { RUNBOX_SERVER: '', RUNBOX_CONFIG: '', CI: '' };
      const local = ['--config', config, '--data-dir', sandbox.dataDir];

      const doctor = await runCliProcess(['doctor', '--json', ...local], { env });
      const checks = (JSON.parse(doctor.stdout) as { checks: Array<Record<string, string>> })
        .checks;
      const database = checks.find((c) => c.name === 'database');
      expect(database).toMatchObject({
        state: 'warn',
        detail: expect.stringContaining(
          `refuses to while worker old-serve-w1 (pid ${older.pid} on ${hostname()})`,
        ) as unknown,
        fix: expect.stringContaining('stop that runbox') as unknown,
      });

      const run = await runCliProcess(['run', script, ...local], { env });
      expect(run.stderr).toContain(
        `Conflict: database ${db} is in use by an older runbox: worker old-serve-w1`,
      );
      expect(run.code).toBe(75);
      expect(schemaVersion(db)).toBe(String(PREVIOUS_SCHEMA));

      older.kill('SIGKILL');
      await once(older, 'exit');
      const after = await runCliProcess(['doctor', '--json', ...local], { env });
      expect(
        (JSON.parse(after.stdout) as { checks: Array<Record<string, string>> }).checks.find(
          (c) => c.name === 'database',
        ),
      ).toMatchObject({ state: 'ok' });
      const upgraded = await runCliProcess(['run', script, ...local], { env });
      expect({ code: upgraded.code, stdout: upgraded.stdout }).toEqual({
        code: 0,
        stdout: 'upgraded\n',
      });
      expect(schemaVersion(db)).toBe(String(LATEST_SCHEMA_VERSION));
    } finally {
      if (older.exitCode === null && older.signalCode === null) older.kill('SIGKILL');
    }
  }, 60_000);
});
