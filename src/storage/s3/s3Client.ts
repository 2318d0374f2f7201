import { randomUUID } from 'node:crypto';
import {
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { isPreconditionFailed } from './s3Errors.js';

export interface S3Endpoint {
  /** e.g. http://127.0.0.1:9000; unset for AWS itself. */
  endpoint?: string;
  /** @defaultValue 'us-east-1' (self-hosted servers ignore it, but the signature needs one) */
  region?: string;
  /**
   * Path-style URLs (http://host/bucket/key) instead of virtual hosts
   * (http://bucket.host/key). Self-hosted servers need it. @defaultValue true with an endpoint
   */
  forcePathStyle?: boolean;
  /** Unset: the SDK's own chain (env, shared files, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * An S3 client for runbox's blobs. Checksums are sent only where the API requires them:
 * the SDK's default since 2025 (CRC32 trailers in aws-chunked bodies) is refused or
 * misread by many S3-compatible servers, and runbox checks every blob by its sha256.
 */
export function createS3Client(options: S3Endpoint): S3Client {
  const config: S3ClientConfig = {
    region: options.region ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    ...(options.credentials && { credentials: options.credentials }),
  };
  return new S3Client(config);
}

/**
 * Whether the server refuses `PUT` with `If-None-Match: *` on an existing key (412), by
 * trying it on a probe key under the prefix: stores that ignore the header (s3rver,
 * older MinIO and Ceph) overwrite instead, and runbox then asks HEAD before each upload.
 * The probe key is deleted; it never looks like a blob (not 64 hex digits).
 */
export async function probeConditionalPut(
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<boolean> {
  const key = `${prefix}probe-${randomUUID()}`;
  const put = () =>
    client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'probe', IfNoneMatch: '*' }),
    );
  try {
    await put();
    try {
      await put();
      return false;
    } catch (error) {
      if (isPreconditionFailed(error)) return true;
      // 501 NotImplemented and the like: the header is known and refused.
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if (status !== undefined && status >= 400 && status < 500 && status !== 403) return false;
      if (status === 501) return false;
      throw error;
    }
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
  }
}
