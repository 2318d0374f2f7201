import { RunboxError } from '../../errors/index.js';
import { immediate, sql, type Db } from './db.js';
import { newJobId } from '../ids.js';
import type { EnqueueItem, EnqueueOutcome } from '../types.js';
import { queuedJob } from '../rows.js';
import { specOf, splitInputs, storeInputs } from './jobInputs.js';
import { rowToJob, type JobRow } from './rows.js';

const INSERT = `
INSERT INTO jobs (id, queue, spec, status, priority, attempts, max_attempts, retry_on_exit_codes,
                  run_at, idempotency_key, reserved_for, request_hash, created_at, updated_at,
                  final_work, inputs_apart)
VALUES (:id, :queue, :spec, 'queued', :priority, 0, :maxAttempts, :retryOnExitCodes,
        :runAt, :idempotencyKey, :reservedFor, :requestHash, :now, :now,
        instr(:spec, '"secret_env"') > 0 OR instr(:spec, '"webhook_url"') > 0, :inputsApart)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id`;

const BY_KEY = 'SELECT * FROM jobs WHERE idempotency_key = :key';

/**
 * Enqueues all items in one transaction: all are stored or none. An idempotency key
 * that already names a job (in the database or earlier in this batch) returns that job
 * unchanged with created=false when the request hashes match (or either has none), and
 * refuses the whole call with Conflict when they differ: the same key for another body
 * is a client bug, and answering with the old job would hide it.
 */
export function enqueueJobs(db: Db, items: readonly EnqueueItem[], now: number): EnqueueOutcome[] {
  return immediate(db, () =>
    items.map((item) => {
      const key = item.idempotencyKey ?? null;
      const job = queuedJob({
        id: newJobId(now),
        queue: item.queue ?? 'default',
        spec: item.spec,
        priority: item.priority ?? 0,
        maxAttempts: item.maxAttempts,
        retryOnExitCodes: [...(item.retryOnExitCodes ?? [])],
        runAt: item.runAt ?? now,
        idempotencyKey: key,
        createdAt: now,
      });
      const stored = splitInputs(item.spec);
      const inserted = sql(db, INSERT).get({
        id: job.id,
        queue: job.queue,
        spec: stored.spec,
        inputsApart: stored.files === null ? 0 : 1,
        priority: job.priority,
        maxAttempts: job.maxAttempts,
        retryOnExitCodes: JSON.stringify(job.retryOnExitCodes),
        runAt: job.runAt,
        idempotencyKey: key,
        reservedFor: item.reservedFor ?? null,
        requestHash: item.requestHash ?? null,
        now,
      });
      if (inserted) {
        if (stored.files !== null) storeInputs(db, job.id, stored.files);
        return { job, created: true };
      }
      const existing = sql(db, BY_KEY).get({ key }) as JobRow & { request_hash: string | null };
      if (existing.request_hash && item.requestHash && existing.request_hash !== item.requestHash) {
        throw new RunboxError(
          'Conflict',
          `idempotency_key "${key}" already names job ${existing.id}, submitted with a different ` +
            'body; send the same body to get that job, or use a new key for a new job',
          { field: 'idempotency_key' },
        );
      }
      return { job: rowToJob(existing, specOf(db, existing)), created: false };
    }),
  );
}
