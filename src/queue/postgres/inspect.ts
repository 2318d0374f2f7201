import pg from 'pg';
import { describeUrl, type ContractStamp } from './migrate.js';
import { PG_LATEST_SCHEMA_VERSION } from './migrations/index.js';

export interface PgDatabaseInfo {
  /** 0 when runbox's schema does not exist there yet (the first node creates it). */
  schemaVersion: number;
  latestSchemaVersion: number;
  contract: ContractStamp | null;
}

/**
 * What `runbox doctor` shows of a PostgreSQL queue: read without migrating, stamping or
 * taking a lock. Rejects when the server does not answer (the message names where,
 * never the password).
 */
export async function inspectPgDatabase(url: string, schema = 'runbox'): Promise<PgDatabaseInfo> {
  const client = new pg.Client({
    connectionString: url,
    application_name: 'runbox-doctor',
    connectionTimeoutMillis: 5000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`${describeUrl(url)} does not answer: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    const exists = await client.query(
      "SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'meta'",
      [schema],
    );
    if (exists.rowCount === 0) {
      return { schemaVersion: 0, latestSchemaVersion: PG_LATEST_SCHEMA_VERSION, contract: null };
    }
    // The schema name was checked by the config (a plain identifier): safe to splice.
    const rows = (
      await client.query<{ key: string; value: string }>(`SELECT key, value FROM ${schema}.meta`)
    ).rows;
    const get = (key: string) => rows.find((r) => r.key === key)?.value;
    const [name, version, fingerprint] = [
      get('contract_name'),
      get('contract_version'),
      get('contract_fingerprint'),
    ];
    return {
      schemaVersion: Number(get('schema_version') ?? 0),
      latestSchemaVersion: PG_LATEST_SCHEMA_VERSION,
      contract:
        name !== undefined && version !== undefined && fingerprint !== undefined
          ? { name, version, fingerprint }
          : null,
    };
  } finally {
    await client.end().catch(() => {});
  }
}
