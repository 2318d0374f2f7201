import type { WorkerRecord } from '../queue/types.js';
import type { WorkerView } from './schemas.js';

/** A worker row as GET /v1/workers and `runbox workers` (server or local database) show it. */
export function toWorkerView(w: WorkerRecord): WorkerView {
  return {
    id: w.id,
    host: w.host,
    pid: w.pid,
    version: w.version,
    contract_version: w.contract.version,
    address: w.address ?? null,
    queues: { ...w.queues },
    started_at: new Date(w.startedAt).toISOString(),
    last_heartbeat_at: new Date(w.lastHeartbeatAt).toISOString(),
    // A lost worker (its process found gone) has stoppedAt set but did not stop.
    state: w.lost ? 'dead' : w.stoppedAt !== null ? 'stopped' : w.alive ? 'alive' : 'dead',
  };
}
