import Database from 'better-sqlite3';
import { CURRENT_CONTRACT } from '../../src/contract/contract.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/queue/sqlite/migrations/index.js';

/** The schema version the build before this one left its files at. */
export const PREVIOUS_SCHEMA = LATEST_SCHEMA_VERSION - 1;

/** Writes `path` as the previous schema's build leaves it, stamped with this contract. */
export function writePreviousSchemaFile(path: string): string {
  const db = new Database(path);
  db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
  for (const m of MIGRATIONS.filter((m) => m.version <= PREVIOUS_SCHEMA)) db.exec(m.sql);
  const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
  meta.run('schema_version', String(PREVIOUS_SCHEMA));
  meta.run('contract_name', CURRENT_CONTRACT.name);
  meta.run('contract_version', CURRENT_CONTRACT.version);
  meta.run('contract_fingerprint', CURRENT_CONTRACT.fingerprint);
  db.close();
  return path;
}

/** A worker row of an older build on that file (its pid is what the upgrade guard checks). */
export function registerOlderWorker(
  path: string,
  row: { id: string; host: string; pid: number; heartbeatAgoMs: number; stopped?: boolean },
): void {
  const db = new Database(path);
  const now = Date.now();
  db.prepare(
    `INSERT INTO workers (id, host, pid, version, contract_name, contract_version,
                          contract_fingerprint, started_at, last_heartbeat_at, stopped_at)
     VALUES (?, ?, ?, '0.1.0', ?, ?, ?, ?, ?, ?)`,
  ).run(
    row.id,
    row.host,
    row.pid,
    CURRENT_CONTRACT.name,
    CURRENT_CONTRACT.version,
    CURRENT_CONTRACT.fingerprint,
    now - 60_000,
    now - row.heartbeatAgoMs,
    row.stopped ? now : null,
  );
  db.close();
}
