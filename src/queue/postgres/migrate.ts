import type pg from 'pg';
import { checkCompatibility } from '../../contract/compatibility.js';
import type { ContractDescriptor } from '../../contract/contract.js';
import { RunboxError } from '../../errors/index.js';
import { checkSchemaName, execute, query, transaction, type PgExecutor } from './db.js';
import { PG_LATEST_SCHEMA_VERSION, PG_MIGRATIONS } from './migrations/index.js';

/**
 * The advisory lock key migrations and the contract stamp are taken under (an arbitrary
 * constant, 'rbx_migr' in ASCII): every node opening the database queues behind it, so
 * each migration runs exactly once however many nodes start at once. One key for every
 * schema: installations in two schemas only wait for each other's start.
 */
export const MIGRATION_LOCK = 0x7262785f6d696772n;

/** The channel a raised contract stamp is announced on (see notifications.ts). */
export const CONTRACT_CHANNEL = 'runbox_contract';

/** The contract a database is stamped with (meta keys contract_name/_version/_fingerprint). */
export type ContractStamp = Pick<ContractDescriptor, 'name' | 'version' | 'fingerprint'>;

export interface MigrateOutcome {
  /** Migration versions this call applied (empty when the database was up to date). */
  applied: number[];
  databaseId: string;
  /** The stamp's generation after this call: claims carry it (see claimJobs.ts). */
  stampGeneration: number;
}

async function readMeta(db: PgExecutor, key: string): Promise<string | null> {
  const rows = await query<{ value: string }>(db, 'SELECT value FROM meta WHERE key = :key', {
    key,
  });
  return rows[0]?.value ?? null;
}

async function writeMeta(db: PgExecutor, key: string, value: string): Promise<void> {
  await execute(
    db,
    `INSERT INTO meta (key, value) VALUES (:key, :value)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    { key, value },
  );
}

export async function readContractStamp(db: PgExecutor): Promise<ContractStamp | null> {
  const rows = await query<{ key: string; value: string }>(
    db,
    `SELECT key, value FROM meta
     WHERE key IN ('contract_name', 'contract_version', 'contract_fingerprint')`,
  );
  const get = (key: string) => rows.find((r) => r.key === key)?.value;
  const [name, version, fingerprint] = [
    get('contract_name'),
    get('contract_version'),
    get('contract_fingerprint'),
  ];
  if (name === undefined || version === undefined || fingerprint === undefined) return null;
  return { name, version, fingerprint };
}

function semver(version: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}

function olderThan(a: string, b: string): boolean {
  const [x, y] = [semver(a), semver(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! < y[i]!;
  return false;
}

/** The refusal a node gets when the database's stamp is not one it can read (exit 78). */
export function contractRefusal(
  stamp: ContractStamp,
  contract: ContractDescriptor,
  where: string,
): RunboxError | null {
  const report = checkCompatibility(stamp, contract);
  if (report.compatible) return null;
  return new RunboxError(
    'ContractMismatch',
    `queue database ${where} is stamped with result contract ${stamp.name} ${stamp.version} ` +
      `(sha256:${stamp.fingerprint.slice(0, 12)}), this runbox speaks ${contract.name} ${contract.version} ` +
      `(sha256:${contract.fingerprint.slice(0, 12)}): ${report.reasons.join('; ')}. ` +
      'Run every node with the runbox build that stamped it (or a newer compatible one).',
    { field: 'contract_version' },
  );
}

/** Where a URL points, for messages: never its password. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'postgres://?';
  }
}

/**
 * Brings the database to this build's schema and checks (and raises) the contract stamp,
 * all in one transaction under pg_advisory_xact_lock: a node starting beside others waits
 * its turn, then re-reads the version and finds nothing to do. Any refusal (SchemaTooNew,
 * ContractMismatch) rolls everything back, so a refused node has written nothing and,
 * having no queue, never claims.
 *
 * Raising the stamp (this build's contract is a newer compatible version) bumps
 * `contract_generation` and NOTIFYs: older nodes' claims carry the generation they
 * checked, so from this commit on they claim nothing, and on the notification (or their
 * next poll) they re-check and stop.
 */
export async function migrate(
  pool: pg.Pool,
  contract: ContractDescriptor,
  url: string,
  schema = 'runbox',
): Promise<MigrateOutcome> {
  checkSchemaName(schema);
  return transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    // The session's search_path names this schema; it exists from here on.
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`SET LOCAL search_path TO ${schema}`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL)',
    );
    const where = describeUrl(url);
    const current = Number((await readMeta(client, 'schema_version')) ?? 0);
    if (current > PG_LATEST_SCHEMA_VERSION) {
      throw new RunboxError(
        'SchemaTooNew',
        `queue database ${where} has schema version ${current}, newer than this runbox's ` +
          `PostgreSQL schema version ${PG_LATEST_SCHEMA_VERSION}: a newer runbox wrote it, and ` +
          'this one could corrupt it. Run the newer runbox on every node.',
        { field: 'schema_version' },
      );
    }
    const stamp = await readContractStamp(client);
    if (stamp) {
      const refusal = contractRefusal(stamp, contract, where);
      if (refusal) throw refusal;
    }
    if (!stamp || olderThan(stamp.version, contract.version)) {
      await writeMeta(client, 'contract_name', contract.name);
      await writeMeta(client, 'contract_version', contract.version);
      await writeMeta(client, 'contract_fingerprint', contract.fingerprint);
      const generation = Number((await readMeta(client, 'contract_generation')) ?? 0) + 1;
      await writeMeta(client, 'contract_generation', String(generation));
      // Delivered at COMMIT, and only if it commits.
      await client.query('SELECT pg_notify($1, $2)', [CONTRACT_CHANNEL, contract.version]);
    }
    const applied: number[] = [];
    for (const migration of PG_MIGRATIONS) {
      if (migration.version <= current) continue;
      await client.query(migration.sql);
      await writeMeta(client, 'schema_version', String(migration.version));
      applied.push(migration.version);
    }
    return {
      applied,
      databaseId: (await readMeta(client, 'database_id'))!,
      stampGeneration: Number(await readMeta(client, 'contract_generation')),
    };
  });
}

/** The stamp as it is now, with its generation (a node re-checks it on notification). */
export async function readStamp(
  db: PgExecutor,
): Promise<{ stamp: ContractStamp | null; generation: number }> {
  const stamp = await readContractStamp(db);
  return { stamp, generation: Number((await readMeta(db, 'contract_generation')) ?? 0) };
}
