import { checkCompatibility } from '../../contract/compatibility.js';
import type { ContractDescriptor } from '../../contract/contract.js';
import { RunboxError } from '../../errors/index.js';
import type { WorkerInfo, WorkerRecord } from '../types.js';
import { execute, query, type PgExecutor } from './db.js';
import { MS } from './rows.js';
import { workerFromRow, type WorkerRow } from '../rows.js';

const UPSERT = `
INSERT INTO workers AS w (id, host, pid, version, contract_name, contract_version,
                     contract_fingerprint, queues, address, started_at, last_heartbeat_at,
                     stopped_at)
VALUES (:id, :host, :pid, :version, :contractName, :contractVersion,
        :contractFingerprint, :queues::json, :address, now(), now(), NULL)
ON CONFLICT (id) DO UPDATE SET
  host = excluded.host, pid = excluded.pid, version = excluded.version,
  contract_name = excluded.contract_name, contract_version = excluded.contract_version,
  contract_fingerprint = excluded.contract_fingerprint, queues = excluded.queues,
  address = excluded.address, started_at = excluded.started_at,
  last_heartbeat_at = excluded.last_heartbeat_at, stopped_at = NULL, lost = false`;

/** What a node adds about itself to the registry (named queues, its API address). */
export interface WorkerPlacement {
  /** Queue name to slots. @defaultValue {} */
  queues?: Readonly<Record<string, number>>;
  /** Where its API answers, for other nodes. @defaultValue null */
  address?: string | null;
}

/**
 * The worker handshake: a worker whose contract this build cannot read is refused with
 * ContractMismatch before any row is written, so it never appears alive and never claims.
 */
export async function registerWorker(
  db: PgExecutor,
  worker: WorkerInfo,
  reader: ContractDescriptor,
  placement: WorkerPlacement = {},
): Promise<void> {
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
  await execute(db, UPSERT, {
    id: worker.id,
    host: worker.host,
    pid: worker.pid,
    version: worker.version,
    contractName: worker.contract.name,
    contractVersion: worker.contract.version,
    contractFingerprint: worker.contract.fingerprint,
    queues: JSON.stringify(placement.queues ?? worker.queues ?? {}),
    address: placement.address ?? worker.address ?? null,
  });
}

/** False when the worker is unknown or stopped (it should stop claiming). */
export async function heartbeatWorker(db: PgExecutor, workerId: string): Promise<boolean> {
  const changed = await execute(
    db,
    'UPDATE workers SET last_heartbeat_at = now() WHERE id = :id AND stopped_at IS NULL',
    { id: workerId },
  );
  return changed > 0;
}

export async function markWorkerLost(db: PgExecutor, workerId: string): Promise<void> {
  await execute(
    db,
    'UPDATE workers SET stopped_at = now(), lost = true WHERE id = :id AND stopped_at IS NULL',
    { id: workerId },
  );
}

export async function stopWorker(db: PgExecutor, workerId: string): Promise<void> {
  await execute(db, 'UPDATE workers SET stopped_at = now() WHERE id = :id AND stopped_at IS NULL', {
    id: workerId,
  });
}

interface PgWorkerRow extends WorkerRow {
  queues: Record<string, number>;
  address: string | null;
  alive: boolean;
}

// Alive is judged by the database's clock, the one every node shares.
const SELECT = `
SELECT w.*, (w.stopped_at IS NULL AND w.last_heartbeat_at > now() - :deadMs * ${MS}) AS alive
FROM workers w`;

export interface PgWorkerRecord extends WorkerRecord {
  queues: Record<string, number>;
  address: string | null;
}

function toRecord(row: PgWorkerRow): PgWorkerRecord {
  return { ...workerFromRow(row, row.alive, row.queues), address: row.address };
}

export async function listWorkers(db: PgExecutor, deadMs: number): Promise<PgWorkerRecord[]> {
  const rows = await query<PgWorkerRow>(db, `${SELECT} ORDER BY w.started_at DESC, w.id`, {
    deadMs,
  });
  return rows.map(toRecord);
}

export async function getWorker(
  db: PgExecutor,
  workerId: string,
  deadMs: number,
): Promise<PgWorkerRecord | null> {
  const [row] = await query<PgWorkerRow>(db, `${SELECT} WHERE w.id = :id`, {
    deadMs,
    id: workerId,
  });
  return row ? toRecord(row) : null;
}

/** Deletes workers stopped, or silent, for longer than retentionMs. */
export async function deleteDeadWorkers(db: PgExecutor, retentionMs: number): Promise<number> {
  return execute(
    db,
    `DELETE FROM workers
     WHERE coalesce(stopped_at, last_heartbeat_at) < now() - :retentionMs * ${MS}`,
    { retentionMs },
  );
}
