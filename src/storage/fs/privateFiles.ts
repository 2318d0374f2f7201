import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * The data dir holds job specs (secret values until a job is final), logs and outputs:
 * only its owner may read it. Folders are 0700 and files 0600, whatever the umask, and
 * ones an older runbox left wider are tightened at start.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Entries that mark a folder as runbox's own data dir (safe to tighten). */
const DATA_DIR_MARKERS = ['runbox.db', 'blobs', 'scratch'];

function ownedByMe(mode: { uid: number }): boolean {
  return process.geteuid === undefined || mode.uid === process.geteuid();
}

/**
 * Creates the folder 0700, or tightens an existing one to 0700 when it is ours: owned
 * by this user and empty or already holding runbox's files. A folder that is neither
 * (RUNBOX_DATA_DIR=/tmp, a home folder) is left as it is; its runbox entries are
 * private on their own.
 */
export function securePrivateDir(dir: string): void {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    // mkdir's mode is filtered by the umask; chmod is not.
    chmodSync(dir, PRIVATE_DIR_MODE);
    return;
  }
  const stat = statSync(dir);
  if (!stat.isDirectory() || !ownedByMe(stat) || (stat.mode & 0o777) === PRIVATE_DIR_MODE) return;
  const entries = readdirSync(dir);
  if (entries.length === 0 || entries.some((name) => DATA_DIR_MARKERS.includes(name))) {
    chmodSync(dir, PRIVATE_DIR_MODE);
  }
}

/**
 * The database file 0600 before SQLite opens it: SQLite gives its -wal and -shm files
 * the database file's mode, so creating it private first keeps all three private.
 * Existing ones are tightened.
 */
export function securePrivateDatabase(path: string): void {
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      chmodSync(file, PRIVATE_FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/** Tightens the data dir and the runbox folders inside it (blobs, scratch). */
export function securePrivateDataDir(dataDir: string): void {
  securePrivateDir(dataDir);
  for (const name of ['blobs', 'scratch']) {
    const dir = join(dataDir, name);
    if (existsSync(dir)) chmodSync(dir, PRIVATE_DIR_MODE);
  }
}
