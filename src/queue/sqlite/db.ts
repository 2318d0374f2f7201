import type Database from 'better-sqlite3';

/** The handle every queue operation takes. One per process (or per test connection). */
export type Db = Database.Database;

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * A prepared statement, prepared once per connection. Preparing costs about as much as
 * running a small statement, and the hot paths (claim, heartbeat, finish) run thousands
 * of times a second, so every operation goes through here.
 */
export function sql(db: Db, text: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) {
    cache = new Map();
    statements.set(db, cache);
  }
  let statement = cache.get(text);
  if (!statement) {
    statement = db.prepare(text);
    cache.set(text, statement);
  }
  return statement;
}

/**
 * Runs fn in a BEGIN IMMEDIATE transaction: the write lock is taken before the first
 * read, so a read-then-write never fails with SQLITE_BUSY_SNAPSHOT (a deferred upgrade
 * does, without honouring busy_timeout). fn must be synchronous: nothing awaits inside
 * a transaction.
 *
 * Inside an enclosing transaction (the commit batcher's), fn simply runs as part of it:
 * the batcher puts each operation in its own savepoint, so a failing operation still
 * rolls back alone. Hand-rolled rather than db.transaction(fn): that builds a wrapper
 * per call, which showed up as a fifth of the CPU time at 20k jobs/s.
 */
export function immediate<T>(db: Db, fn: () => T): T {
  if (db.inTransaction) return fn();
  sql(db, 'BEGIN IMMEDIATE').run();
  try {
    const value = fn();
    sql(db, 'COMMIT').run();
    return value;
  } catch (error) {
    // COMMIT itself can fail (SQLITE_BUSY, disk full) and leave the transaction open.
    if (db.inTransaction) sql(db, 'ROLLBACK').run();
    throw error;
  }
}

/**
 * Runs fn in a savepoint of the enclosing transaction: if it throws, only its own
 * writes are undone and the error propagates.
 */
export function savepoint<T>(db: Db, fn: () => T): T {
  sql(db, 'SAVEPOINT op').run();
  try {
    const value = fn();
    sql(db, 'RELEASE op').run();
    return value;
  } catch (error) {
    if (db.inTransaction) {
      sql(db, 'ROLLBACK TO op').run();
      sql(db, 'RELEASE op').run();
    }
    throw error;
  }
}
