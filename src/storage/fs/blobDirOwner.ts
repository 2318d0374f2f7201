import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RunboxError } from '../../errors/index.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './privateFiles.js';

/** Beside blobs/ (never inside it, where every file is taken for a blob). */
export const BLOB_OWNER_FILE = 'blobs.database';

/**
 * Ties the data dir's blob folder to one database. The fs store's gc (`runbox gc`, the
 * retention sweep) removes every blob its own database does not refer to, so two
 * databases on one data dir (`--db` elsewhere, same `dataDir`) deleted each other's logs
 * and outputs once past the grace period: seen from outside as `runbox outputs` answering
 * NotFound for a job that had succeeded. The first database to open the folder owns it;
 * any other is refused before it can sweep, naming the fix.
 */
export function claimBlobDir(dataDir: string, databaseId: string): void {
  const file = join(dataDir, BLOB_OWNER_FILE);
  mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    const fd = openSync(file, 'wx', PRIVATE_FILE_MODE);
    try {
      writeSync(fd, `${databaseId}\n`);
    } finally {
      closeSync(fd);
    }
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const owner = readFileSync(file, 'utf8').trim();
  // Empty: a process died between creating and writing the file; take it over.
  if (owner === '') {
    claimEmpty(file, databaseId);
    return;
  }
  if (owner !== databaseId) {
    throw new RunboxError(
      'InvalidConfig',
      `the data dir ${dataDir} holds the blobs of another runbox database (${owner}); this ` +
        `database (${databaseId}) would delete them in its gc: give it its own data dir ` +
        '(--data-dir, RUNBOX_DATA_DIR or dataDir in the config file), or, if that database ' +
        `is gone for good (a removed runbox.db), delete ${file}: this one then owns the ` +
        'folder and its gc removes the blobs nothing refers to any more',
      { field: 'dataDir' },
    );
  }
}

function claimEmpty(file: string, databaseId: string): void {
  const fd = openSync(file, 'w', PRIVATE_FILE_MODE);
  try {
    writeSync(fd, `${databaseId}\n`);
  } finally {
    closeSync(fd);
  }
}
