import m001 from './001_init.js';
import m002 from './002_webhooks_schedules.js';
import m003 from './003_blobs.js';
import m004 from './004_lighter_status_changes.js';
import m005 from './005_worker_lost.js';
import m006 from './006_released_attempts.js';

/**
 * Every PostgreSQL migration this build knows, in order (numbered apart from SQLite's:
 * the two schemas evolve separately). The schema version of a database is the number
 * of the last one applied; a database with a higher number was written by a newer
 * runbox and is refused (SchemaTooNew).
 */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  { version: 1, name: '001_init', sql: m001 },
  { version: 2, name: '002_webhooks_schedules', sql: m002 },
  { version: 3, name: '003_blobs', sql: m003 },
  { version: 4, name: '004_lighter_status_changes', sql: m004 },
  { version: 5, name: '005_worker_lost', sql: m005 },
  { version: 6, name: '006_released_attempts', sql: m006 },
];

export const PG_LATEST_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;
