import { join } from 'node:path';
import type { BlobStoreConfig } from '../../backendConfig.js';
import type { Config } from '../../config.js';
import { createFileBlobStore } from '../fs/FileBlobStore.js';
import type { ZstdOptions } from '../zstd/selectCodec.js';
import type { BlobLedger } from './BlobLedger.js';
import { S3BlobStore } from './S3BlobStore.js';
import { createS3Client, createS3ReadClient, probeConditionalPut } from './s3Client.js';

export interface S3StoreSettings {
  blobs: Extract<BlobStoreConfig, { kind: 's3' }>;
  /** From config.ts (RUNBOX_S3_ACCESS_KEY_ID / _SECRET_ACCESS_KEY or the file); unset: the SDK's chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** @defaultValue 1 GiB */
  cacheMaxBytes?: number;
  ledger?: BlobLedger;
}

/**
 * The S3 store a process uses: client, a probe of the server's conditional writes (one
 * PUT pair on a probe key at start; it also proves the bucket is writable with these
 * credentials, so a wrong setting fails at start and not at a job's first output), and
 * the local cache under dataDir/s3-cache.
 */
export async function createS3BlobStore(
  settings: S3StoreSettings,
  config: Pick<Config, 'dataDir'> & { zstd: ZstdOptions },
): Promise<S3BlobStore> {
  const { blobs } = settings;
  const endpoint = {
    ...(blobs.endpoint !== undefined && { endpoint: blobs.endpoint }),
    ...(blobs.region !== undefined && { region: blobs.region }),
    ...(blobs.forcePathStyle !== undefined && { forcePathStyle: blobs.forcePathStyle }),
    ...(settings.credentials && { credentials: settings.credentials }),
  };
  const client = createS3Client(endpoint);
  const readClient = createS3ReadClient(endpoint);
  const prefix = `${blobs.prefix ?? ''}blobs/`;
  try {
    const conditionalPut = await probeConditionalPut(client, blobs.bucket, prefix);
    const cache = await createFileBlobStore({
      dataDir: join(config.dataDir, 's3-cache'),
      zstd: config.zstd,
    });
    return new S3BlobStore({
      client,
      readClient,
      bucket: blobs.bucket,
      prefix,
      cache,
      frameBytes: config.zstd.frameBytes,
      conditionalPut,
      ...(settings.cacheMaxBytes !== undefined && { cacheMaxBytes: settings.cacheMaxBytes }),
      ...(settings.ledger && { ledger: settings.ledger }),
      ...(blobs.multipart && { multipart: blobs.multipart }),
      ...(blobs.endpoint !== undefined && { endpoint: blobs.endpoint }),
    });
  } catch (error) {
    client.destroy();
    readClient.destroy();
    throw error;
  }
}
