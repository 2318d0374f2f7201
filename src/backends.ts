import { resolve } from 'node:path';
import type { BlobStoreConfig, QueueBackendConfig } from './backendConfig.js';
import type { Config } from './config.js';
import { RunboxError } from './errors/index.js';
import type { QueueBackend, QueueOpenOptions } from './queue/QueueBackend.js';
import type { ScheduleStore } from './schedules/ScheduleStore.js';
import type { BlobStore } from './storage/BlobStore.js';
import type { BlobLedger } from './storage/s3/BlobLedger.js';
import type { WebhookStore } from './webhooks/WebhookStore.js';

/*
 * The one place that knows which backends exist: runbox.ts, the gc command and the CLI's
 * local fallback call only these. A second backend is one more case here (a dynamic
 * import, so its client library loads only when it is used) and one more member of the
 * unions in backendConfig.ts.
 */

/**
 * The queue backend config asks for: its `queue` key (--queue, RUNBOX_QUEUE, the file),
 * else SQLite at dbPath.
 */
export function queueConfigOf(config: Pick<Config, 'dbPath' | 'queue'>): QueueBackendConfig {
  return config.queue ?? { kind: 'sqlite', path: config.dbPath };
}

/**
 * Where the queue's database is, as a data dir's blob folder records its owner: a
 * SQLite file's absolute path, or a PostgreSQL server, database and schema (no
 * credentials).
 */
export function queueLocation(config: Pick<Config, 'dbPath' | 'queue'>): string {
  const chosen = queueConfigOf(config);
  if (chosen.kind === 'sqlite') return resolve(chosen.path);
  const url = new URL(chosen.url);
  url.username = '';
  url.password = '';
  url.search = '';
  return `${url.toString()}${chosen.schema !== undefined ? `#${chosen.schema}` : ''}`;
}

/**
 * Before a process that may remove blobs opens its database: refuses a data dir whose
 * blobs another database that is still there owns (storage/fs/blobDirOwner.ts), so a
 * refused command leaves no new database file behind.
 */
export async function checkBlobDir(config: Readonly<Config>): Promise<void> {
  const chosen = blobStoreConfigOf(config);
  if (chosen.kind !== 'fs') return;
  const { checkBlobDirOwner } = await import('./storage/fs/blobDirOwner.js');
  checkBlobDirOwner(chosen.dataDir, { location: queueLocation(config) });
}

/** The blob store config asks for: config.blobs, else the file system under dataDir. */
export function blobStoreConfigOf(config: Pick<Config, 'dataDir' | 'blobs'>): BlobStoreConfig {
  return config.blobs ?? { kind: 'fs', dataDir: config.dataDir };
}

/** Opens the queue (migrations, contract stamp: throws SchemaTooNew / ContractMismatch). */
export async function createQueue(
  config: Readonly<Config>,
  options: QueueOpenOptions = {},
): Promise<QueueBackend> {
  const chosen = queueConfigOf(config);
  switch (chosen.kind) {
    case 'sqlite': {
      const { SqliteQueue } = await import('./queue/sqlite/SqliteQueue.js');
      return SqliteQueue.open({ ...config, dbPath: chosen.path }, options);
    }
    case 'postgres': {
      const { PostgresQueue } = await import('./queue/postgres/PostgresQueue.js');
      return PostgresQueue.open(chosen.url, config, {
        ...options,
        ...(chosen.schema !== undefined ? { schema: chosen.schema } : {}),
        ...(chosen.poolSize !== undefined ? { poolSize: chosen.poolSize } : {}),
      });
    }
    default:
      // Every kind the config schema admits is handled above; a config built in code
      // around the schema still gets a typed refusal.
      throw notBuiltIn('queue', (chosen as { kind: string }).kind);
  }
}

/**
 * Opens the blob store (fs: codec chosen, folders made, crashed puts' temp files swept;
 * s3: the bucket proven writable, conditional writes probed, the local cache made).
 */
export async function createBlobStore(
  config: Pick<Config, 'dataDir' | 'zstd' | 'blobs'>,
  options: {
    /**
     * The blobs table of the queue database (createBlobLedger). Without it an S3
     * store's removeIfIdle deletes nothing: no other rule is safe across nodes (see
     * storage/s3/BlobLedger.ts).
     */
    ledger?: BlobLedger;
    /**
     * The queue database (its id and queueLocation): a process that may remove blobs
     * (serve, worker, run, gc) gives it, and an fs store then refuses a data dir whose
     * blobs another database owns (storage/fs/blobDirOwner.ts).
     */
    owner?: { id: string; location: string };
  } = {},
): Promise<BlobStore> {
  const chosen = blobStoreConfigOf(config);
  switch (chosen.kind) {
    case 'fs': {
      if (options.owner !== undefined) {
        const { claimBlobDir } = await import('./storage/fs/blobDirOwner.js');
        claimBlobDir(chosen.dataDir, options.owner);
      }
      const { createFileBlobStore } = await import('./storage/fs/FileBlobStore.js');
      // Packs for small batched blobs: one file and one fsync per job's batch of them.
      return createFileBlobStore({ ...config, dataDir: chosen.dataDir }, { packSmallBlobs: true });
    }
    case 's3': {
      const { createS3BlobStore } = await import('./storage/s3/createS3BlobStore.js');
      return createS3BlobStore(
        {
          blobs: chosen,
          ...(chosen.credentials && { credentials: chosen.credentials }),
          ...(chosen.cacheMaxBytes !== undefined && { cacheMaxBytes: chosen.cacheMaxBytes }),
          ...(options.ledger && { ledger: options.ledger }),
        },
        config,
      );
    }
    default:
      throw notBuiltIn('blobs', (chosen as { kind: string }).kind);
  }
}

/** Where webhook deliveries and schedules are kept: beside the jobs, in the queue's database. */
export interface HookStores {
  webhooks: WebhookStore;
  schedules: ScheduleStore;
}

/**
 * The webhook and schedule stores of the queue's own database, so a delivery row can be
 * written in the transaction that ends its job. Null for a backend that has none yet.
 */
export async function createHookStores(queue: QueueBackend): Promise<HookStores | null> {
  const [{ SqliteQueue }, { SqliteWebhookStore }, { SqliteScheduleStore }] = await Promise.all([
    import('./queue/sqlite/SqliteQueue.js'),
    import('./webhooks/sqlite/SqliteWebhookStore.js'),
    import('./schedules/sqlite/SqliteScheduleStore.js'),
  ]);
  if (queue instanceof SqliteQueue) {
    return {
      webhooks: new SqliteWebhookStore(queue.db),
      schedules: new SqliteScheduleStore(queue.db),
    };
  }
  if (queue.kind === 'postgres') {
    const [{ PostgresQueue }, { PgWebhookStore }, { PgScheduleStore }] = await Promise.all([
      import('./queue/postgres/PostgresQueue.js'),
      import('./webhooks/postgres/PgWebhookStore.js'),
      import('./schedules/postgres/PgScheduleStore.js'),
    ]);
    if (queue instanceof PostgresQueue) {
      return {
        webhooks: new PgWebhookStore(queue.pool),
        schedules: new PgScheduleStore(queue.pool),
      };
    }
  }
  return null;
}

/**
 * The blobs table of the queue's database, which a shared blob store's gc goes by (never
 * by object times): SQLite's (migration 005) or PostgreSQL's (migration 003), the same
 * contract (test/conformance/blobLedger.suite.ts). Null for a backend that has none: its
 * S3 gc then deletes nothing.
 */
export async function createBlobLedger(queue: QueueBackend): Promise<BlobLedger | null> {
  if (queue.kind === 'postgres') {
    const [{ PostgresQueue }, { PgBlobLedger }] = await Promise.all([
      import('./queue/postgres/PostgresQueue.js'),
      import('./queue/postgres/blobLedger/PgBlobLedger.js'),
    ]);
    return queue instanceof PostgresQueue ? new PgBlobLedger(queue.pool) : null;
  }
  const [{ SqliteQueue }, { SqliteBlobLedger }] = await Promise.all([
    import('./queue/sqlite/SqliteQueue.js'),
    import('./queue/sqlite/blobLedger/SqliteBlobLedger.js'),
  ]);
  return queue instanceof SqliteQueue ? new SqliteBlobLedger(queue.db) : null;
}

function notBuiltIn(field: string, kind: string): RunboxError {
  return new RunboxError(
    'InvalidConfig',
    `${field}: kind "${kind}" is not built into this runbox`,
    {
      field,
    },
  );
}
