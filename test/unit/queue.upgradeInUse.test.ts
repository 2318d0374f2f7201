import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CURRENT_CONTRACT } from '../../src/contract/contract.js';
import { RunboxError } from '../../src/errors/index.js';
import { LATEST_SCHEMA_VERSION } from '../../src/queue/sqlite/migrations/index.js';
import { openDatabase } from '../../src/queue/sqlite/openDatabase.js';
import {
  PREVIOUS_SCHEMA,
  registerOlderWorker,
  writePreviousSchemaFile,
} from '../helpers/previousSchema.js';

// An older runbox still running on a file this build upgrades goes on with its own
// schema's statements: after migration 009 a job an 008 `runbox serve` finishes keeps its
// secret values at rest and never gets its webhook (seen with the real 456eab0 build
// beside a new `runbox run` on the shared default database). So the upgrade waits until
// no worker of that file runs.

const dir = mkdtempSync(join(tmpdir(), 'runbox-upgrade-in-use-'));
let counter = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
});

/** A live process standing in for the older runbox (its pid is what the row names). */
function olderRunboxProcess(): ChildProcess {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

/** A file as the previous schema's build leaves it, stamped with this contract. */
function previousSchemaFile(): string {
  return writePreviousSchemaFile(join(dir, `q${++counter}.db`));
}

function schemaVersion(path: string): number {
  const db = new Database(path, { readonly: true });
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as {
    value: string;
  };
  db.close();
  return Number(row.value);
}

function refusal(fn: () => unknown): RunboxError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RunboxError);
    return error as RunboxError;
  }
  throw new Error('expected a refusal, the file was opened');
}

describe('upgrading a SQLite file an older runbox still runs on', () => {
  it('refuses while a worker of the older build runs on this host, naming it and the fix, and leaves the file alone', () => {
    const path = previousSchemaFile();
    const older = olderRunboxProcess();
    registerOlderWorker(path, {
      id: 'vm-old-1',
      host: hostname(),
      pid: older.pid!,
      heartbeatAgoMs: 1000,
    });

    const error = refusal(() => openDatabase(path));
    expect(error.type).toBe('Conflict');
    expect(error.field).toBe('schema_version');
    expect(error.message).toContain(`worker vm-old-1 (pid ${older.pid} on ${hostname()}`);
    expect(error.message).toContain(
      `upgrade it from schema version ${PREVIOUS_SCHEMA} to ${LATEST_SCHEMA_VERSION}`,
    );
    expect(error.message).toContain('Stop that runbox');
    expect(schemaVersion(path)).toBe(PREVIOUS_SCHEMA);
  });

  it('upgrades at once when that process is gone, though its heartbeat is fresh (kill -9)', async () => {
    const path = previousSchemaFile();
    const older = olderRunboxProcess();
    registerOlderWorker(path, {
      id: 'vm-old-2',
      host: hostname(),
      pid: older.pid!,
      heartbeatAgoMs: 0,
    });
    older.kill('SIGKILL');
    await once(older, 'exit');

    const { db, applied } = openDatabase(path);
    db.close();
    expect(applied).toEqual([LATEST_SCHEMA_VERSION]);
  });

  it('refuses for a worker on another host until it has been silent for workerDeadMs', () => {
    const path = previousSchemaFile();
    registerOlderWorker(path, {
      id: 'elsewhere-1',
      host: 'other-host',
      pid: 1,
      heartbeatAgoMs: 2000,
    });
    expect(refusal(() => openDatabase(path, { workerDeadMs: 30_000 })).type).toBe('Conflict');

    const { db, applied } = openDatabase(path, { workerDeadMs: 1000 });
    db.close();
    expect(applied).toEqual([LATEST_SCHEMA_VERSION]);
  });

  it('upgrades beside stopped workers and a previous incarnation of this very pid', () => {
    const path = previousSchemaFile();
    const older = olderRunboxProcess();
    registerOlderWorker(path, {
      id: 'vm-stopped',
      host: hostname(),
      pid: older.pid!,
      heartbeatAgoMs: 0,
      stopped: true,
    });
    registerOlderWorker(path, {
      id: 'vm-me',
      host: hostname(),
      pid: process.pid,
      heartbeatAgoMs: 0,
    });

    const { db, applied } = openDatabase(path);
    db.close();
    expect(applied).toEqual([LATEST_SCHEMA_VERSION]);
  });

  it('refuses to raise the contract stamp under a live worker of the older contract', () => {
    const path = previousSchemaFile();
    openDatabase(path).db.close();
    const older = olderRunboxProcess();
    registerOlderWorker(path, {
      id: 'vm-old-3',
      host: hostname(),
      pid: older.pid!,
      heartbeatAgoMs: 0,
    });
    const [major, minor] = CURRENT_CONTRACT.version.split('.').map(Number);
    const newer = {
      ...CURRENT_CONTRACT,
      version: `${major}.${minor! + 1}.0`,
      fingerprint: 'e'.repeat(64),
    };

    const error = refusal(() => openDatabase(path, { contract: newer }));
    expect(error.type).toBe('Conflict');
    expect(error.message).toContain(`raise its result contract stamp to ${newer.version}`);
    // This build's own contract changes nothing in the file: it opens beside that worker.
    expect(() => openDatabase(path).db.close()).not.toThrow();
  });
});
