import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { runCliProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * A data dir runbox cannot write (a read-only mount, a path that is a file) is a
 * configuration error naming dataDir and the fix, for run, serve and doctor alike. It
 * was an Internal error (exit 70) quoting EROFS from a chmod, and doctor itself crashed
 * ("unable to open database file") instead of failing its database check.
 */
describe('a data dir runbox cannot write', () => {
  const sandbox = useProcessSandbox('datadir-ro');

  it('run and serve exit 78 naming dataDir, status, ls and a --db there naming dbPath, doctor fails its checks; nothing is left', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1024 } });
    const dataDir = join(sandbox.dataDir, 'mounted');
    mkdirSync(dataDir);
    const job = join(sandbox.dataDir, 'job.sh');
    writeFileSync(job, 'echo hi\n');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dataDir]);
    try {
      const local = ['--config', configFile, '--data-dir', dataDir];
      const first = await runCliProcess(['run', job, ...local, '--json']);
      expect(first.code, first.stderr).toBe(0);
      // A second database under the mount whose blobs live in a writable data dir beside it.
      const elsewhere = join(sandbox.dataDir, 'elsewhere');
      const apart = ['--config', configFile, '--data-dir', elsewhere];
      const otherDb = ['--db', join(dataDir, 'other.db')];
      const second = await runCliProcess(['run', job, ...apart, ...otherDb]);
      expect(second.code, second.stderr).toBe(0);
      execFileSync('mount', ['-o', 'remount,ro', dataDir]);
      const before = readdirSync(dataDir).sort();

      const run = await runCliProcess(['run', job, ...local, '--json']);
      expect(run.code, run.stderr).toBe(78);
      expect(JSON.parse(run.stdout)).toMatchObject({
        error: { type: 'InvalidConfig', field: 'dataDir' },
      });
      const serve = await runCliProcess(['serve', '--port', '0', ...local], { timeoutMs: 20000 });
      expect(serve.code, serve.stderr).toBe(78);
      for (const refused of [run.stdout, serve.stderr]) {
        expect(refused).toMatch(/read-only file system.*point --data-dir, RUNBOX_DATA_DIR/);
      }
      const doctor = await runCliProcess(['doctor', ...local]);
      expect(doctor.code, doctor.stderr).toBe(1);
      expect(doctor.stdout).toMatch(/data directory +FAIL/);
      expect(doctor.stdout).toMatch(/database +FAIL/);
      expect(readdirSync(dataDir).sort()).toEqual(before);

      // Reading `run`'s jobs back opens the database too, which writes to it; so does a
      // --db under the mount beside a writable data dir.
      const id = (JSON.parse(first.stdout) as { id: string }).id;
      const status = await runCliProcess(['status', id, '--json', ...local]);
      expect(status.code, status.stderr).toBe(78);
      expect(JSON.parse(status.stdout)).toMatchObject({
        error: { type: 'InvalidConfig', field: 'dbPath' },
      });
      const listed = await runCliProcess(['ls', ...local]);
      const runDb = await runCliProcess(['run', job, ...apart, ...otherDb]);
      for (const refused of [listed, runDb]) {
        expect(refused.code, refused.stderr).toBe(78);
        expect(refused.stderr).toMatch(
          /dbPath: cannot write to database .*read-only file system.*point --db, RUNBOX_DB/,
        );
      }
      // The mount's own database keeps its blobs in the mount: beside another data dir it
      // is refused before it is opened, naming the data dir it needs.
      const split = await runCliProcess([
        'run',
        job,
        '--config',
        configFile,
        '--data-dir',
        join(sandbox.dataDir, 'third'),
        '--db',
        join(dataDir, 'runbox.db'),
      ]);
      expect(split.code, split.stderr).toBe(78);
      expect(split.stderr).toContain(`give it --data-dir ${dataDir}`);
      expect(readdirSync(dataDir).sort()).toEqual(before);

      const aFile = await runCliProcess(['run', job, '--config', configFile, '--data-dir', job]);
      expect(aFile.code).toBe(78);
      expect(aFile.stderr).toContain(`dataDir: cannot write to ${job} (not a directory)`);
    } finally {
      execFileSync('umount', [dataDir]);
    }
  });

  it('on a full disk, run and ls exit 74 naming dbPath, not 70 "disk I/O error"', async () => {
    // A tiny floor, so the database's own open meets the full disk first.
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1024 } });
    const disk = join(sandbox.dataDir, 'small');
    mkdirSync(disk);
    const job = join(sandbox.dataDir, 'job.sh');
    writeFileSync(job, 'echo hi\n');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]);
    try {
      const local = ['--config', configFile, '--data-dir', join(disk, 'data')];
      const first = await runCliProcess(['run', job, ...local]);
      expect(first.code, first.stderr).toBe(0);
      // What is left is too little for SQLite's -shm file, which each open creates anew.
      expect(() => writeFileSync(join(disk, 'fill'), Buffer.alloc(4 << 20))).toThrow(/ENOSPC/);
      const run = await runCliProcess(['run', job, ...local, '--json']);
      expect(run.code, run.stderr).toBe(74);
      expect(JSON.parse(run.stdout)).toMatchObject({
        error: { type: 'InsufficientStorage', field: 'dbPath' },
      });
      const listed = await runCliProcess(['ls', ...local]);
      expect(listed.code, listed.stderr).toBe(74);
      expect(listed.stderr).toMatch(/no room on the disk of .*free some space/);
    } finally {
      execFileSync('umount', [disk]);
    }
  });
});
