import type { BlobStoreConfig, QueueBackendConfig } from './backendConfig.js';
import type { Config } from './config.js';
import { RunboxError } from './errors/index.js';
import type { QueueBackend, QueueOpenOptions } from './queue/QueueBackend.js';
import type { BlobStore } from './storage/BlobStore.js';

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

/** The blob store config asks for: the file system under dataDir until `blobs` exists. */
export function blobStoreConfigOf(config: Pick<Config, 'dataDir'>): BlobStoreConfig {
  return { kind: 'fs', dataDir: config.dataDir };
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

/** Opens the blob store (fs: codec chosen, folders made, crashed puts' temp files swept). */
export async function createBlobStore(
  config: Pick<Config, 'dataDir' | 'zstd'>,
): Promise<BlobStore> {
  const chosen = blobStoreConfigOf(config);
  switch (chosen.kind) {
    case 'fs': {
      const { createFileBlobStore } = await import('./storage/fs/FileBlobStore.js');
      return createFileBlobStore({ ...config, dataDir: chosen.dataDir });
    }
    default:
      throw notBuiltIn('blobs', chosen.kind);
  }
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
