import { checkCompatibility } from '../../contract/compatibility.js';
import type { ContractDescriptor } from '../../contract/contract.js';
import { RunboxError } from '../../errors/index.js';
import { immediate, sql, type Db } from './db.js';
import type { WorkerInfo, WorkerRecord } from '../types.js';
import { workerFromRow, type WorkerRow } from '../rows.js';

export type { WorkerInfo, WorkerRecord };

const UPSERT = `
INSERT INTO workers (id, host, pid, version, contract_name, contract_version,
                     contract_fingerprint, queues, started_at, last_heartbeat_at, stopped_at)
VALUES (:id, :host, :pid, :version, :contractName, :contractVersion,
        :contractFingerprint, :queues, :now, :now, NULL)
ON CONFLICT (id) DO UPDATE SET
  host = excluded.host, pid = excluded.pid, version = excluded.version,
  contract_name = excluded.contract_name, contract_version = excluded.contract_version,
  contract_fingerprint = excluded.contract_fingerprint, queues = excluded.queues,
  started_at = excluded.started_at,
  last_heartbeat_at = excluded.last_heartbeat_at, stopped_at = NULL, lost = 0`;

/**
 * The worker handshake (issue 5, "where it is checked" 2): a worker whose contract this
 * build cannot read is refused with ContractMismatch before any row is written, so it
 * never appears alive and never claims. `reader` is the contract of the database side.
 */
export function registerWorker(
  db: Db,
  worker: WorkerInfo,
  reader: ContractDescriptor,
  now: number,
): void {
  const report = checkCompatibility(worker.contract, reader);
  if (!report.compatible) {
    throw new RunboxError(
      'ContractMismatch',
      `worker ${worker.id} speaks result contract ${worker.contract.name} ${worker.contract.version}, ` +
        `this runbox reads ${reader.name} ${reader.version}: ${report.reasons.join('; ')}. ` +
        'Run workers built from the same runbox version as the server.',
      { field: 'contract' },
    );
  }
  immediate(db, () =>
    sql(db, UPSERT).run({
      id: worker.id,
      host: worker.host,
      pid: worker.pid,
      version: worker.version,
      contractName: worker.contract.name,
      contractVersion: worker.contract.version,
      contractFingerprint: worker.contract.fingerprint,
      queues: JSON.stringify(worker.queues ?? {}),
      now,
    }),
  );
}

/** False when the worker is unknown or stopped (it should stop claiming). */
export function heartbeatWorker(db: Db, workerId: string, now: number): boolean {
  const info = sql(
    db,
    'UPDATE workers SET last_heartbeat_at = :now WHERE id = :id AND stopped_at IS NULL',
  ).run({ id: workerId, now });
  return info.changes > 0;
}

export function markWorkerLost(db: Db, workerId: string, now: number): void {
  sql(
    db,
    'UPDATE workers SET stopped_at = :now, lost = 1 WHERE id = :id AND stopped_at IS NULL',
  ).run({ id: workerId, now });
}

export function stopWorker(db: Db, workerId: string, now: number): void {
  sql(db, 'UPDATE workers SET stopped_at = :now WHERE id = :id AND stopped_at IS NULL').run({
    id: workerId,
    now,
  });
}

/** The queues column is JSON text here (json, parsed by the driver, on PostgreSQL). */
type SqliteWorkerRow = WorkerRow & { queues: string };

function toRecord(row: SqliteWorkerRow, now: number, deadMs: number): WorkerRecord {
  return workerFromRow(
    row,
    row.stopped_at === null && now - row.last_heartbeat_at < deadMs,
    JSON.parse(row.queues) as Record<string, number>,
  );
}

/** Every registered worker, newest first, each judged alive or dead as of now. */
export function listWorkers(db: Db, now: number, deadMs: number): WorkerRecord[] {
  const rows = sql(
    db,
    'SELECT * FROM workers ORDER BY started_at DESC, id',
  ).all() as SqliteWorkerRow[];
  return rows.map((row) => toRecord(row, now, deadMs));
}

export function getWorker(
  db: Db,
  workerId: string,
  now: number,
  deadMs: number,
): WorkerRecord | null {
  const row = sql(db, 'SELECT * FROM workers WHERE id = :id').get({ id: workerId }) as
    SqliteWorkerRow | undefined;
  return row ? toRecord(row, now, deadMs) : null;
}

/**
 * Deletes workers stopped, or silent, for longer than retentionMs. Their jobs were
 * requeued long before (lease expiry is far shorter than any sane retention).
 */
export function deleteDeadWorkers(db: Db, now: number, retentionMs: number): number {
  const cutoff = now - retentionMs;
  return sql(db, 'DELETE FROM workers WHERE coalesce(stopped_at, last_heartbeat_at) < :cutoff').run(
    { cutoff },
  ).changes;
}
