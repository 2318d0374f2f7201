import { randomBytes } from 'node:crypto';
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CURRENT_CONTRACT, type ContractDescriptor } from '../../contract/contract.js';
import { RunboxError } from '../../errors/index.js';
import { betterSqliteBinding } from '../../native/addons.js';
import { PRIVATE_DIR_MODE, securePrivateDatabase } from '../../storage/fs/privateFiles.js';
import {
  checkAndStampContract,
  readContractStamp,
  stampWouldRise,
  readMeta,
  writeMeta,
  type ContractStamp,
} from './contractStamp.js';
import { immediate, type Db } from './db.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations/index.js';
import { refuseUpgradeUnderLiveWorker, runningWorker, type WorkerRow } from './upgradeGuard.js';

export interface OpenDatabaseOptions {
  /**
   * The result contract this build reads and writes. Only tests pass another one, to
   * play a different build. @defaultValue CURRENT_CONTRACT
   */
  contract?: ContractDescriptor;
  /** Milliseconds a writer waits for the lock before SQLITE_BUSY. @defaultValue 5000 */
  busyTimeoutMs?: number;
  /**
   * How long a worker without a heartbeat still counts as running, so its build's file
   * is not upgraded under it (upgradeGuard.ts). @defaultValue 30000 (config workerDeadMs)
   */
  workerDeadMs?: number;
}

export interface OpenedDatabase {
  db: Db;
  /** Migration versions this call applied (empty when the file was up to date). */
  applied: number[];
  /** This database's own random id (migration 002): the label its containers carry. */
  databaseId: string;
}

/**
 * Opens (creating if needed) the queue database and brings it to this build's schema.
 *
 * Durability: WAL with synchronous=FULL. With WAL, NORMAL is safe against a process
 * crash but can lose the last commits on power loss; FULL fsyncs the WAL on every
 * commit, so "acknowledged" means "on disk". The commit batcher is what pays for it.
 *
 * Refuses (and leaves the file untouched) when the schema is newer than this build
 * knows (SchemaTooNew), the contract stamp is incompatible (ContractMismatch), or the
 * file needs an upgrade while a worker of an older build runs on it (Conflict).
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): OpenedDatabase {
  const contract = options.contract ?? CURRENT_CONTRACT;
  let db: Db;
  try {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
      securePrivateDatabase(path);
    }
    const binding = betterSqliteBinding();
    db = new Database(path, binding === undefined ? {} : { nativeBinding: binding });
  } catch (error) {
    throw openFailure(path, error);
  }
  try {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    // busy_timeout first: switching to WAL needs a lock another opener may hold.
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Two processes opening a fresh file at once can still get SQLITE_BUSY here: the
    // switch to WAL does not always wait in the busy handler (seen in the chaos suite).
    const applied = retryWhileBusy(busyTimeoutMs, () => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      // Deleted and rewritten content (a finished job's scrubbed secret values) is
      // overwritten with zeros rather than left in free space of the file.
      db.pragma('secure_delete = ON');
      // Savepoint journals (the commit batcher runs each operation of a batch in one)
      // and transient indexes in memory: as temporary files, every page a batched
      // operation wrote was first copied out through write() to a file nobody reads
      // unless it fails; measured, that doubled the CPU of recording a result. A
      // savepoint journal holds at most the pages of one batch.
      db.pragma('temp_store = MEMORY');
      return migrate(db, contract, path, options.workerDeadMs ?? 30_000);
    });
    return { db, applied, databaseId: readMeta(db, 'database_id')! };
  } catch (error) {
    db.close();
    throw openFailure(path, error);
  }
}

const UNWRITABLE_CODES = new Set([
  'EROFS',
  'EACCES',
  'EPERM',
  'ENOTDIR',
  'EISDIR',
  'SQLITE_CANTOPEN',
  'SQLITE_READONLY',
  'SQLITE_READONLY_DIRECTORY',
]);

// SQLITE_IOERR_SHMSIZE: no room to create the -shm file, which every open of a WAL file
// needs when no other connection has it open.
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', 'SQLITE_IOERR_SHMSIZE']);

/**
 * A database file runbox cannot write, as the typed error naming dbPath and the fix.
 * Every command that opens the file writes to it (WAL, migrations, its identity), `ls`
 * and `status` reading `runbox run`'s jobs included; on a read-only mount or another
 * user's folder they ended Internal (exit 70) quoting EROFS from an open() or SQLite's
 * "unable to open database file", and on a full disk quoting "disk I/O error".
 * Anything else passes through as it was.
 */
function openFailure(path: string, error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return error;
  const reason = (error as Error).message;
  if (DISK_FULL_CODES.has(code)) {
    return new RunboxError(
      'InsufficientStorage',
      `dbPath: no room on the disk of ${dirname(path)} to open database ${path} (${reason}); ` +
        'free some space on that disk',
      { field: 'dbPath', cause: error },
    );
  }
  if (!UNWRITABLE_CODES.has(code)) return error;
  return new RunboxError(
    'InvalidConfig',
    `dbPath: cannot write to database ${path} (${reason}); runbox writes its database even ` +
      'to read jobs from it: point --db, RUNBOX_DB or dbPath in the config file (or ' +
      '--data-dir) at a file in a folder this user can write',
    { field: 'dbPath', cause: error },
  );
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

/** Runs fn again (it must be idempotent) while SQLite answers busy, up to timeoutMs. */
function retryWhileBusy<T>(timeoutMs: number, fn: () => T): T {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      return fn();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      // Opening is synchronous by design (nothing else runs yet); a short blocking wait.
      Atomics.wait(pause, 0, 0, delay);
    }
  }
}

/**
 * Applies pending migrations and checks the contract stamp in one BEGIN IMMEDIATE
 * transaction. Two processes opening a fresh file at once serialise on the write lock;
 * the second re-reads the version inside its transaction and finds nothing to do, so
 * each migration runs exactly once. Any refusal rolls everything back.
 */
export function migrate(
  db: Db,
  contract: ContractDescriptor,
  path: string,
  workerDeadMs: number,
): number[] {
  return immediate(db, () => {
    db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
    const current = Number(readMeta(db, 'schema_version') ?? 0);
    if (current > LATEST_SCHEMA_VERSION) {
      throw new RunboxError(
        'SchemaTooNew',
        `database ${path} has schema version ${current}, newer than this runbox's schema version ` +
          `${LATEST_SCHEMA_VERSION}: a newer runbox wrote it, and this one could corrupt it. ` +
          'Use a newer runbox, or another database file (--db PATH).',
        { field: 'schema_version' },
      );
    }
    // A fresh file (version 0) has no workers table yet, and nobody on it to protect.
    if (current > 0 && current < LATEST_SCHEMA_VERSION) {
      refuseUpgradeUnderLiveWorker(
        db,
        path,
        `upgrade it from schema version ${current} to ${LATEST_SCHEMA_VERSION}`,
        workerDeadMs,
      );
    } else if (current > 0 && stampWouldRise(db, contract)) {
      refuseUpgradeUnderLiveWorker(
        db,
        path,
        `raise its result contract stamp to ${contract.version}`,
        workerDeadMs,
      );
    }
    checkAndStampContract(db, contract, path);
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      writeMeta(db, 'schema_version', String(migration.version));
      applied.push(migration.version);
    }
    if (path !== ':memory:') ownIdentity(db, realpathSync(path));
    return applied;
  });
}

/**
 * A copy of the file is a database of its own. Its id (migration 002) is the label its
 * containers carry, and a runbox removes the containers of its database that no live job
 * holds: a copy (`cp -a` of a data dir, a backup started beside the original, `--db
 * copy.db`) kept the original's id, so its start removed the original's running
 * containers and their jobs ran again. The file records where it lives; opened
 * elsewhere while that file is still there as another file, it takes a new id. Moved,
 * or restored over the original, it keeps its id and records its new home.
 */
function ownIdentity(db: Db, here: string): void {
  const home = readMeta(db, 'database_home');
  if (home === here) return;
  if (home !== null && isAnotherFile(home, here)) {
    writeMeta(db, 'database_id', randomBytes(8).toString('hex'));
  }
  writeMeta(db, 'database_home', here);
}

/** Whether `home` still exists as a file other than `here` (a bind mount is the same). */
function isAnotherFile(home: string, here: string): boolean {
  try {
    const a = statSync(home);
    const b = statSync(here);
    return a.dev !== b.dev || a.ino !== b.ino;
  } catch {
    return false;
  }
}

export interface DatabaseInfo {
  schemaVersion: number;
  latestSchemaVersion: number;
  contract: ContractStamp | null;
  /** SQLite: a worker still running on a file this build would upgrade (it refuses then). */
  upgradeBlockedBy?: Pick<WorkerRow, 'id' | 'pid' | 'host'>;
}

/** What `runbox doctor` shows: read without migrating, stamping or refusing. */
export function readDatabaseInfo(db: Db, workerDeadMs = 30_000): DatabaseInfo {
  const hasMeta = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
    .get();
  if (!hasMeta)
    return { schemaVersion: 0, latestSchemaVersion: LATEST_SCHEMA_VERSION, contract: null };
  const schemaVersion = Number(readMeta(db, 'schema_version') ?? 0);
  const blocker =
    schemaVersion > 0 && schemaVersion < LATEST_SCHEMA_VERSION
      ? runningWorker(db, workerDeadMs)
      : undefined;
  return {
    schemaVersion,
    latestSchemaVersion: LATEST_SCHEMA_VERSION,
    contract: readContractStamp(db),
    ...(blocker
      ? { upgradeBlockedBy: { id: blocker.id, pid: blocker.pid, host: blocker.host } }
      : {}),
  };
}

/** Opens a database file read-only for inspection; null when it does not exist. */
export function inspectDatabase(path: string, workerDeadMs?: number): DatabaseInfo | null {
  const binding = betterSqliteBinding();
  let db: Db;
  try {
    db = new Database(path, {
      readonly: true,
      fileMustExist: true,
      ...(binding === undefined ? {} : { nativeBinding: binding }),
    });
  } catch {
    return null;
  }
  try {
    return readDatabaseInfo(db, workerDeadMs);
  } finally {
    db.close();
  }
}
