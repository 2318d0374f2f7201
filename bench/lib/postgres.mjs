// A private PostgreSQL for one bench case: scripts/test-postgres in a folder of its own,
// on the first free port from 54329 up (never the tests' cluster), with PostgreSQL's
// durable defaults; stopped by its pid and removed when the case ends.
import { mkdtempSync, rmSync } from 'node:fs';
import pg from 'pg';
import { run } from './proc.mjs';

/** What a commit costs here: the settings printed beside every figure measured on it. */
const SHOWN = ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method'];

/**
 * Starts the cluster. `url(database)` names a database in it; `settings` is what the
 * server reports (SHOW), so a figure says what it ran on rather than what was asked.
 * Refuses to go on unless commits are durable (fsync and synchronous_commit on).
 */
export async function startPostgres(log) {
  // Under /var/tmp: the postgres user must reach it (test-postgres chowns the folder).
  const dir = mkdtempSync('/var/tmp/runbox-bench-pg-');
  const env = {
    ...process.env,
    RUNBOX_TEST_PG_DIR: dir,
    RUNBOX_TEST_PG_PORT: 'auto',
    RUNBOX_TEST_PG_DURABLE: '1',
  };
  const stop = async () => {
    await run('bash', ['scripts/test-postgres', 'stop'], { env, allowFailure: true });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { stdout } = await run('bash', ['scripts/test-postgres'], { env });
    const base = new URL(stdout.trim().split('\n').at(-1));
    const url = (database) => {
      const u = new URL(base);
      u.pathname = `/${database}`;
      return u.toString();
    };
    const admin = new pg.Client({ connectionString: url('postgres') });
    await admin.connect();
    const settings = {};
    try {
      for (const name of [...SHOWN, 'server_version']) {
        settings[name] = (await admin.query(`SHOW ${name}`)).rows[0][name];
      }
    } finally {
      await admin.end();
    }
    if (settings.fsync !== 'on' || settings.synchronous_commit !== 'on') {
      throw new Error(`the bench cluster is not durable: ${JSON.stringify(settings)}`);
    }
    log(`postgresql ${settings.server_version} started for the bench at ${base.host} (${dir})`);
    return {
      url,
      host: base.hostname,
      port: base.port,
      settings,
      /** The settings as one line, for a figure's settings column. */
      describe: () => SHOWN.map((name) => `${name}=${settings[name]}`).join(', '),
      /** Drops and creates a database, so each run starts from empty tables. */
      async freshDatabase(name) {
        const client = new pg.Client({ connectionString: url('postgres') });
        await client.connect();
        try {
          await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await client.query(`CREATE DATABASE ${name}`);
        } finally {
          await client.end();
        }
        return url(name);
      },
      async stop() {
        await stop();
        log('bench postgresql stopped');
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
