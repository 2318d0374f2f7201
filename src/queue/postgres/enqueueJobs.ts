import { RunboxError } from '../../errors/index.js';
import { newJobId } from '../ids.js';
import type { EnqueueItem, EnqueueOutcome, JobRecord } from '../types.js';
import { query, type PgExecutor } from './db.js';
import { queuedJob } from '../rows.js';
import { JOB_COLUMNS, rowToJob, type PgJobRow } from './rows.js';

/** The channel new (or requeued) jobs are announced on; the payload is the queue's name. */
export const JOBS_CHANNEL = 'runbox_jobs';

const DB_NOW = 'SELECT (extract(epoch FROM now()) * 1000)::bigint AS now';

// One statement for the whole batch. A due time the client gave (run_at) is an absolute
// time it chose; a job without one is due at the database's now().
const insert = (onConflict: string) => `
INSERT INTO jobs AS j (id, queue, spec, status, priority, max_attempts,
                   retry_on_exit_codes, run_at, idempotency_key, reserved_for, request_hash,
                   created_at, updated_at)
SELECT i.id, i.queue, i.spec::json, 'queued', i.priority, i.max_attempts,
       ARRAY(SELECT json_array_elements_text(i.retry::json)::integer),
       coalesce(to_timestamp(i.run_at / 1000.0), now()), i.key, i.reserved_for, i.request_hash,
       now(), now()
FROM unnest(:ids::text[], :queues::text[], :specs::text[], :priorities::integer[],
            :maxAttempts::integer[], :retry::text[], :runAts::bigint[], :keys::text[],
            :reservedFor::text[], :requestHashes::text[])
     WITH ORDINALITY AS i(id, queue, spec, priority, max_attempts, retry, run_at, key,
                          reserved_for, request_hash, n)
ORDER BY i.n
${onConflict}
RETURNING j.id, j.run_at, j.created_at`;

/**
 * What the INSERT decides: the rest of a new job's record is the item as sent (the
 * columns hold exactly the text and values bound above). Returning every column cost
 * the node the driver's parse of 21 columns a row (the spec's JSON, three timestamps,
 * an integer array) and the server their output, for values it already had.
 */
interface InsertedRow {
  id: string;
  run_at: number;
  created_at: number;
}

// ON CONFLICT only when some item has a key: it makes every row a speculative insertion
// (a lock token, and a WAL record to confirm each row) that a batch without keys cannot need.
const INSERT_KEYED = insert('ON CONFLICT (idempotency_key) DO NOTHING');
const INSERT = insert('');

const BY_KEYS = `
SELECT ${JOB_COLUMNS}, j.request_hash FROM jobs j WHERE j.idempotency_key = ANY(:keys::text[])`;

/**
 * Enqueues all items in one transaction (the caller's): all are stored or none. Ids are
 * ULIDs timed by the database's clock, so ids sort by submission across nodes whose
 * clocks disagree. An idempotency key that already names a job returns that job with
 * created=false when the request hashes match (or either has none), and refuses the
 * whole call with Conflict when they differ, as the SQLite queue does. Two nodes
 * inserting one key at once: ON CONFLICT waits for the other's commit, then this
 * transaction reads its row.
 */
export async function enqueueJobs(
  db: PgExecutor,
  items: readonly EnqueueItem[],
  queueOf: (item: EnqueueItem) => string = () => 'default',
): Promise<EnqueueOutcome[]> {
  if (items.length === 0) return [];
  const [{ now }] = (await query<{ now: number }>(db, DB_NOW)) as [{ now: number }];
  const ids = items.map(() => newJobId(now));
  const keyed = items.some((item) => item.idempotencyKey != null);
  const specs = items.map((item) => JSON.stringify(item.spec));
  const retries = items.map((item) => JSON.stringify(item.retryOnExitCodes ?? []));
  const inserted = await query<InsertedRow>(db, keyed ? INSERT_KEYED : INSERT, {
    ids,
    queues: items.map(queueOf),
    specs,
    priorities: items.map((item) => item.priority ?? 0),
    maxAttempts: items.map((item) => item.maxAttempts),
    retry: retries,
    runAts: items.map((item) => (item.runAt === undefined ? null : Math.round(item.runAt))),
    keys: items.map((item) => item.idempotencyKey ?? null),
    reservedFor: items.map((item) => item.reservedFor ?? null),
    requestHashes: items.map((item) => item.requestHash ?? null),
  });
  const index = new Map(ids.map((id, i) => [id, i]));
  const byId = new Map<string, JobRecord>();
  for (const row of inserted) {
    const i = index.get(row.id)!;
    const item = items[i]!;
    byId.set(
      row.id,
      queuedJob({
        id: row.id,
        queue: queueOf(item),
        // As read back: the json column keeps the text sent, the array its integers.
        spec: JSON.parse(specs[i]!),
        priority: item.priority ?? 0,
        maxAttempts: item.maxAttempts,
        retryOnExitCodes: JSON.parse(retries[i]!) as number[],
        runAt: row.run_at,
        idempotencyKey: item.idempotencyKey ?? null,
        createdAt: row.created_at,
      }),
    );
  }
  const missingKeys = items
    .filter((item, i) => !byId.has(ids[i]!) && item.idempotencyKey != null)
    .map((item) => item.idempotencyKey!);
  const existing =
    missingKeys.length === 0
      ? []
      : await query<PgJobRow & { request_hash: string | null }>(db, BY_KEYS, { keys: missingKeys });
  const byKey = new Map(
    existing.map((row) => [row.idempotency_key!, { job: rowToJob(row), hash: row.request_hash }]),
  );
  const queues = new Set<string>();
  const outcomes = items.map((item, i): EnqueueOutcome => {
    const job = byId.get(ids[i]!);
    if (job) {
      if (item.reservedFor == null) queues.add(job.queue);
      return { job, created: true };
    }
    const key = item.idempotencyKey!;
    let other = byKey.get(key);
    if (!other) {
      // Not inserted and no row by its key: a job earlier in this same batch took the key.
      const first = items.findIndex((it) => it.idempotencyKey === key);
      other = { job: byId.get(ids[first]!)!, hash: items[first]!.requestHash ?? null };
    }
    if (other.hash && item.requestHash && other.hash !== item.requestHash) {
      throw new RunboxError(
        'Conflict',
        `idempotency_key "${key}" already names job ${other.job.id}, submitted with a different ` +
          'body; send the same body to get that job, or use a new key for a new job',
        { field: 'idempotency_key' },
      );
    }
    return { job: { ...other.job }, created: false };
  });
  // Delivered at COMMIT, and only if it commits: a waiting worker claims at once.
  for (const queue of queues) {
    await query(db, 'SELECT pg_notify(:channel, :queue)', { channel: JOBS_CHANNEL, queue });
  }
  return outcomes;
}
