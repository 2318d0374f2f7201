import pg from 'pg';
import { RunboxError } from '../../errors/index.js';
import { redactUrl } from '../../queueUrl.js';
import { bindNamed, compileNamed } from './named.js';
import { asQueueUnavailable } from './unavailable.js';

/** What every PostgreSQL queue operation takes: the pool, or a client inside a transaction. */
export type PgExecutor = pg.Pool | pg.PoolClient;

// timestamptz and timestamp come back as epoch milliseconds, as the SQLite queue gives
// them: JobRecord's times are numbers, and a Date per column per row is waste. bigint
// (count(*), epoch arithmetic) comes back as a number: no count here nears 2^53.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 1184 || oid === 1114) return (value: string) => parseTimestamp(value);
    if (oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

/**
 * PostgreSQL's text form of timestamptz with the session in UTC
 * ("2026-11-30 03:56:36.689992+00"), to epoch milliseconds (microseconds truncated).
 */
export function parseTimestamp(value: string): number {
  // The form every session here gets (UTC, four-digit year), read by position: a regular
  // expression and Date.parse per value were a tenth of the node's CPU at 24 slots (two
  // timestamps per claimed job). Anything else goes the general way below.
  if (value.length >= 22 && value.endsWith('+00') && value[4] === '-' && value[10] === ' ') {
    const year = +value.slice(0, 4);
    const ms = Date.UTC(
      year,
      +value.slice(5, 7) - 1,
      +value.slice(8, 10),
      +value.slice(11, 13),
      +value.slice(14, 16),
      +value.slice(17, 19),
      value[19] === '.' ? +value.slice(20, Math.min(23, value.length - 3)).padEnd(3, '0') : 0,
    );
    // Date.UTC reads years 0-99 as 1900-1999.
    if (year >= 100 && !Number.isNaN(ms) && (value.length === 22 || value[19] === '.')) return ms;
  }
  if (value === 'infinity') return Number.POSITIVE_INFINITY;
  if (value === '-infinity') return Number.NEGATIVE_INFINITY;
  const iso = value.replace(' ', 'T').replace(/(\.\d{3})\d*/, '$1');
  const withZone = /[+-]\d\d$/.test(iso)
    ? `${iso}:00`
    : /[+-]\d\d:\d\d$/.test(iso)
      ? iso
      : `${iso}Z`;
  return Date.parse(withZone);
}

export interface PoolOptions {
  /** Connections per process. @defaultValue 10 */
  max?: number;
  /**
   * The schema holding runbox's tables: every session's search_path, so the SQL names
   * tables unqualified and two installations can share one database in two schemas.
   * @defaultValue 'runbox'
   */
  schema?: string;
  /** Shown in pg_stat_activity, so an operator can tell runbox's sessions apart. @defaultValue 'runbox' */
  applicationName?: string;
}

/** A schema name runbox accepts: a plain lower-case identifier, never quoted. */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new RunboxError(
      'InvalidSpec',
      `queue.schema: "${schema}" must be a plain lower-case PostgreSQL identifier ` +
        '(letters, digits, _; not starting with a digit), e.g. "runbox"',
      { field: 'queue.schema' },
    );
  }
  return schema;
}

export function createPool(url: string, options: PoolOptions = {}): pg.Pool {
  const schema = checkSchemaName(options.schema ?? 'runbox');
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'runbox',
    types,
    // Sessions in UTC so parseTimestamp reads one format; tables from runbox's schema
    // (pg_catalog, holding now() and gen_random_uuid(), is always searched first).
    options: `-c TimeZone=UTC -c search_path=${schema}`,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client's connection dropping (server restart, failover) is reported here;
  // without a listener it would crash the process. The next query gets a new connection.
  pool.on('error', () => {});
  databases.set(pool, redactUrl(url));
  return pool;
}

/** Each pool's URL without its password, for the errors of a database that is down. */
const databases = new WeakMap<PgExecutor, string>();

/**
 * A connection failure as StorageUnavailable naming the database (see unavailable.ts).
 * A client's errors pass unchanged: transaction(), which lent it, types them.
 */
function typed(db: PgExecutor, error: unknown): unknown {
  const where = databases.get(db);
  return where === undefined ? error : asQueueUnavailable(error, where);
}

/**
 * Runs one statement with named parameters (see named.ts); the rows it returned.
 * `prepared` names a server-side prepared statement (per connection, parsed and planned
 * once) for the hot path's statements, whose parse and plan cost the database more CPU
 * than running them; the name must be unique to the text.
 */
export async function query<Row = Record<string, unknown>>(
  db: PgExecutor,
  sql: string,
  params: Readonly<Record<string, unknown>> = {},
  prepared?: string,
): Promise<Row[]> {
  const compiled = compileNamed(sql);
  const values = bindNamed(compiled, params);
  try {
    const result = await db.query(
      prepared === undefined
        ? { text: compiled.text, values }
        : { name: prepared, text: compiled.text, values },
    );
    return result.rows as Row[];
  } catch (error) {
    throw typed(db, error);
  }
}

/** The number of rows a statement touched, for statements without RETURNING. */
export async function execute(
  db: PgExecutor,
  sql: string,
  params: Readonly<Record<string, unknown>> = {},
): Promise<number> {
  const compiled = compileNamed(sql);
  try {
    const result = await db.query({ text: compiled.text, values: bindNamed(compiled, params) });
    return result.rowCount ?? 0;
  } catch (error) {
    throw typed(db, error);
  }
}

// Deadlock and serialization failure: the whole transaction may simply run again.
export const RETRYABLE: ReadonlySet<string> = new Set(['40P01', '40001']);

/**
 * Runs fn in one transaction on one pooled client: COMMIT when it resolves, ROLLBACK
 * when it throws. Every state change of the queue is one of these. fn may run again on
 * a deadlock (two transactions touching the same jobs in another order), so it must do
 * nothing but database work.
 */
export async function transaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw typed(pool, error);
    }
    // pg-pool takes its error listener off a client while it is lent: a connection
    // dropped under a transaction (a server restart or failover under load) emitted an
    // error nobody listened to, and the process died. The statement in flight, or the
    // next, fails on its own; the client is then dropped, not pooled again.
    let broken = false;
    const lost = () => {
      broken = true;
    };
    client.on('error', lost);
    try {
      await client.query('BEGIN');
      const value = await fn(client);
      await client.query('COMMIT');
      return value;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      const code = (error as { code?: unknown }).code;
      if (attempt < 5 && typeof code === 'string' && RETRYABLE.has(code)) continue;
      throw typed(pool, error);
    } finally {
      client.removeListener('error', lost);
      client.release(broken);
    }
  }
}
