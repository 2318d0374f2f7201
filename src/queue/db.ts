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
 * does, without honouring busy_timeout). When already inside a transaction (the commit
 * batcher's), better-sqlite3 makes this a savepoint instead, so a failing operation
 * rolls back alone. fn must be synchronous: nothing awaits inside a transaction.
 */
export function immediate<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
}
