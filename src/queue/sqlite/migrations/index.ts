import m001 from './001_init.js';
import m002 from './002_isolation.js';
import m003 from './003_request_hash_and_secret_scrub.js';
import m004 from './004_webhooks_schedules.js';
import m005 from './005_blobs.js';
import m006 from './006_named_queues.js';
import m007 from './007_lighter_status_changes.js';
import m008 from './008_webhook_delivery_ids.js';
import m009 from './009_final_work_when_named.js';
import m010 from './010_scrub_final_secrets.js';
import m011 from './011_job_inputs_apart.js';
import m012 from './012_worker_lost.js';
import m013 from './013_released_attempts.js';

/**
 * Every migration this build knows, in order. The schema version of a database is the
 * number of the last one applied; a database with a higher number was written by a
 * newer runbox and is refused.
 *
 * Why TS modules and not .sql files: the shipped single executable must never read SQL
 * from disk, and a TS module is bundled by esbuild, loaded by tsx and vitest, and type
 * checked with no loader, generator or drift test in between. Each file holds only a
 * plain SQL string. A unit test checks that every file in this folder is listed here
 * with the number its name carries.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: '001_init', sql: m001 },
  { version: 2, name: '002_isolation', sql: m002 },
  { version: 3, name: '003_request_hash_and_secret_scrub', sql: m003 },
  { version: 4, name: '004_webhooks_schedules', sql: m004 },
  { version: 5, name: '005_blobs', sql: m005 },
  { version: 6, name: '006_named_queues', sql: m006 },
  { version: 7, name: '007_lighter_status_changes', sql: m007 },
  { version: 8, name: '008_webhook_delivery_ids', sql: m008 },
  { version: 9, name: '009_final_work_when_named', sql: m009 },
  { version: 10, name: '010_scrub_final_secrets', sql: m010 },
  { version: 11, name: '011_job_inputs_apart', sql: m011 },
  { version: 12, name: '012_worker_lost', sql: m012 },
  { version: 13, name: '013_released_attempts', sql: m013 },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
