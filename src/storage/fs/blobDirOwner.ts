import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { RunboxError } from '../../errors/index.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './privateFiles.js';

/** Beside blobs/ (never inside it, where every file is taken for a blob). */
export const BLOB_OWNER_FILE = 'blobs.database';

/** The database a data dir's blobs belong to: its id, and where it is (see queueLocation). */
export interface BlobDirOwner {
  id: string;
  location: string;
}

/*
 * Ties the data dir's blob folder to one database. The fs store's gc (`runbox gc`, the
 * retention sweep) removes every blob its own database does not refer to, so two
 * databases on one data dir (`--db` elsewhere, same `dataDir`) deleted each other's logs
 * and outputs once past the grace period: seen from outside as `runbox outputs` answering
 * NotFound for a job that had succeeded. The first database to open the folder owns it;
 * another is refused before it can sweep, naming the fix, while the owner is still there.
 *
 * A database made anew where the owner was (rm runbox.db to start afresh), or opened
 * after the owner's file is gone, takes the folder over: the old database's blobs then
 * belong to nobody, and the new one's gc removing them is what the user asked for.
 */

/** The owner's record, `id\nlocation\n`; null when there is none yet (or it is empty). */
function readOwner(file: string): BlobDirOwner | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const [id = '', location = ''] = text.split('\n');
  // Empty: a process died between creating and writing the file.
  return id === '' ? null : { id, location };
}

/** A recorded owner that still stands in the way of `me`, or null. */
function standingOwner(recorded: BlobDirOwner | null, me: { location: string }) {
  if (recorded === null || recorded.location === me.location) return null;
  // A database file that is gone owns nothing any more; a server (PostgreSQL) is taken
  // to be there.
  if (isAbsolute(recorded.location) && !existsSync(recorded.location)) return null;
  return recorded;
}

function refusal(dataDir: string, owner: BlobDirOwner, me: { location: string }): RunboxError {
  return new RunboxError(
    'InvalidConfig',
    `the data dir ${dataDir} holds the blobs of another runbox database (${owner.location}); ` +
      `this one (${me.location}) would delete them in its gc: give it its own data dir ` +
      '(--data-dir, RUNBOX_DATA_DIR or dataDir in the config file), or use that database ' +
      `(--db). If that database is gone for good, delete ${join(dataDir, BLOB_OWNER_FILE)}: ` +
      'this one then owns the folder and its gc removes the blobs nothing refers to any more',
    { field: 'dataDir' },
  );
}

/*
 * The other way round: one database with its blobs in two data dirs. `runbox worker --db
 * DIR/runbox.db` beside `serve --data-dir DIR` took the default data dir, so the jobs it
 * ran succeeded with logs and outputs that serve could not find (NotFound). A SQLite
 * database whose own folder's blobs it already owns keeps them there.
 */
function homeElsewhere(dataDir: string, me: { location: string }): RunboxError | null {
  if (!isAbsolute(me.location)) return null;
  const home = dirname(me.location);
  if (resolve(home) === resolve(dataDir)) return null;
  if (readOwner(join(home, BLOB_OWNER_FILE))?.location !== me.location) return null;
  return new RunboxError(
    'InvalidConfig',
    `the database ${me.location} keeps its logs and outputs in the data dir ${home}, but ` +
      `this process would keep them in ${dataDir}, where the others cannot find them: ` +
      `give it --data-dir ${home} (or RUNBOX_DATA_DIR, or dataDir in the config file)`,
    { field: 'dataDir' },
  );
}

/**
 * Refuses, before the database is opened (so a refused command creates no file), a
 * database whose data dir's blobs another database that is still there owns.
 */
export function checkBlobDirOwner(dataDir: string, me: { location: string }): void {
  const owner = standingOwner(readOwner(join(dataDir, BLOB_OWNER_FILE)), me);
  if (owner) throw refusal(dataDir, owner, me);
  const split = homeElsewhere(dataDir, me);
  if (split) throw split;
}

/** Records `me` as the owner of the data dir's blobs, or refuses (see checkBlobDirOwner). */
export function claimBlobDir(dataDir: string, me: BlobDirOwner): void {
  const file = join(dataDir, BLOB_OWNER_FILE);
  const split = homeElsewhere(dataDir, me);
  if (split) throw split;
  mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const record = `${me.id}\n${me.location}\n`;
  for (;;) {
    const recorded = readOwner(file);
    if (recorded?.id === me.id && recorded.location === me.location) return;
    const owner = standingOwner(recorded, me);
    if (owner) throw refusal(dataDir, owner, me);
    if (!existsSync(file)) {
      // The first claim is exclusive: of two databases opening a new data dir at once,
      // one owns it and the other reads that record on its next turn.
      try {
        writeFileSync(file, record, { flag: 'wx', mode: PRIVATE_FILE_MODE });
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        continue;
      }
    }
    // Taking over: written whole under another name and renamed over the old record.
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, record, { mode: PRIVATE_FILE_MODE });
    renameSync(temp, file);
    return;
  }
}
