import { hostname } from 'node:os';
import { RunboxError } from '../../errors/index.js';
import { pidAlive } from '../../processAlive.js';
import { sql, type Db } from './db.js';

export interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  last_heartbeat_at: number;
}

/**
 * Refuses to upgrade a file (migrations, or a raised contract stamp) while a worker of
 * an older build still runs on it. Nothing tells that process the schema moved: it goes
 * on with the statements of its own schema, and on SQLite those can bypass what the new
 * one relies on (after migration 009 a job an 008 process finishes keeps its secret
 * values at rest and never gets its webhook delivery; after 007, a job a 006 process
 * submits is never flagged for either). The operator's usual way into this is the
 * shared default database: a new binary's `runbox run` beside the old `runbox serve`.
 *
 * A worker counts as running as the reaper judges it (not stopped, heard from within
 * workerDeadMs), except that one on this host whose process is gone (kill -9), or whose
 * pid is this process's (a previous incarnation in a container), is not: an upgrade
 * right after a crash goes ahead at once. Must run inside the migration's transaction,
 * so no worker registers between this look and the upgrade.
 */
export function refuseUpgradeUnderLiveWorker(
  db: Db,
  path: string,
  upgrade: string,
  workerDeadMs: number,
  now = Date.now(),
): void {
  const live = runningWorker(db, workerDeadMs, now);
  if (!live) return;
  const ago = Math.max(0, Math.round((now - live.last_heartbeat_at) / 1000));
  throw new RunboxError(
    'Conflict',
    `database ${path} is in use by an older runbox: worker ${live.id} (pid ${live.pid} on ` +
      `${live.host}, heard from ${ago} s ago) still runs on it, and this build would ${upgrade} ` +
      'under it, after which the jobs it ends could keep their secret values and miss their ' +
      'webhooks. Stop that runbox (its serve, worker or run) and start this one: it upgrades ' +
      'the file as it opens it. A runbox that was killed on another host counts as stopped ' +
      `once it has been silent for workerDeadMs (${workerDeadMs} ms).`,
    { field: 'schema_version' },
  );
}

/** The first worker still running on the file, as refuseUpgradeUnderLiveWorker judges it. */
export function runningWorker(
  db: Db,
  workerDeadMs: number,
  now = Date.now(),
): WorkerRow | undefined {
  const rows = sql(
    db,
    `SELECT id, host, pid, last_heartbeat_at FROM workers
     WHERE stopped_at IS NULL AND last_heartbeat_at > :since ORDER BY started_at`,
  ).all({ since: now - workerDeadMs }) as WorkerRow[];
  const host = hostname();
  return rows.find((w) => w.host !== host || (w.pid !== process.pid && pidAlive(w.pid)));
}
