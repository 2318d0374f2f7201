import { randomUUID } from 'node:crypto';
import {
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { RunboxError } from '../../errors/index.js';
import { httpStatus, isPreconditionFailed } from './s3Errors.js';

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
  /**
   * How long a connection may take to open, and a request's socket may stay silent,
   * before the request fails as unanswered (and is retried like a refused one).
   * @defaultValue { connectMs: 5_000, idleMs: 30_000 }
   */
  timeouts?: { connectMs: number; idleMs: number };
}

/**
 * Without these the SDK waits forever on a server that accepts connections and never
 * answers (a hung or black-holed S3): seen on a fleet, a job's upload hung with its slot
 * held past the 5 minutes runbox promises, a cancel never ended it, and a read of an
 * output from another node never answered.
 */
const DEFAULT_TIMEOUTS = { connectMs: 5_000, idleMs: 30_000 };

function baseConfig(options: S3Endpoint): S3ClientConfig {
  return {
    region: options.region ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    // A copy: the SDK writes feature marks onto the credentials object, and config's
    // objects are frozen ("Cannot set properties of undefined (setting 'CREDENTIALS_CODE')").
    ...(options.credentials && { credentials: { ...options.credentials } }),
  };
}

/**
 * An S3 client for runbox's blobs. Checksums are sent only where the API requires them:
 * the SDK's default since 2025 (CRC32 trailers in aws-chunked bodies) is refused or
 * misread by many S3-compatible servers, and runbox checks every blob by its sha256.
 * A socket silent for idleMs fails its request: idle, not total, so a large part upload
 * keeps its socket busy however long it takes. Not for GETs: createS3ReadClient.
 */
export function createS3Client(options: S3Endpoint): S3Client {
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  return new S3Client({
    ...baseConfig(options),
    requestHandler: { connectionTimeout: timeouts.connectMs, socketTimeout: timeouts.idleMs },
  });
}

/**
 * The client for GETs: the answer must begin within idleMs, and then its body may pause
 * as long as its reader does. createS3Client's idle limit cut a download whose client
 * paused (backpressure) for 30 s: a 250 MB output arrived as 56 MB behind a 200.
 */
export function createS3ReadClient(options: S3Endpoint): S3Client {
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  return new S3Client({
    ...baseConfig(options),
    requestHandler: {
      connectionTimeout: timeouts.connectMs,
      // The SDK's handler clears it once the answer's headers arrive.
      requestTimeout: timeouts.idleMs,
      throwOnRequestTimeout: true,
    },
  });
}

/**
 * Whether the server refuses `PUT` with `If-None-Match: *` on an existing key (412), by
 * trying it on a probe key under the prefix: stores that ignore the header (s3rver,
 * older MinIO and Ceph) overwrite instead, and runbox then asks HEAD before each upload;
 * one that rejects the header outright (400/501) is treated the same. The probe also
 * proves at start that the bucket takes writes with these credentials. The probe key is
 * deleted; it never looks like a blob (not 64 hex digits).
 */
export async function probeConditionalPut(
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<boolean> {
  const key = `${prefix}probe-${randomUUID()}`;
  const put = (conditional: boolean) =>
    client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: 'probe',
        ...(conditional && { IfNoneMatch: '*' }),
      }),
    );
  const refusesHeader = (error: unknown) => {
    const status = httpStatus(error);
    return status === 400 || status === 501;
  };
  try {
    try {
      await put(true);
    } catch (error) {
      if (!refusesHeader(error)) throw unusable(bucket, error);
      await put(false).catch((again: unknown) => {
        throw unusable(bucket, again);
      });
      return false;
    }
    try {
      await put(true);
      return false; // overwritten: the header is ignored
    } catch (error) {
      if (isPreconditionFailed(error)) return true;
      if (refusesHeader(error)) return false;
      throw unusable(bucket, error);
    }
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
  }
}

function unusable(bucket: string, error: unknown): RunboxError {
  const status = httpStatus(error);
  const name = (error as { name?: string } | null)?.name ?? 'Error';
  const detail = status !== undefined ? `HTTP ${status} ${name}` : (error as Error).message;
  const hint =
    name === 'NoSuchBucket'
      ? 'create the bucket first'
      : status === 403
        ? 'check RUNBOX_S3_ACCESS_KEY_ID / RUNBOX_S3_SECRET_ACCESS_KEY and the bucket policy'
        : status === undefined
          ? 'check the endpoint (blobs.endpoint) answers'
          : 'check the blobs settings';
  return new RunboxError(
    'InvalidConfig',
    `blobs: cannot write to S3 bucket "${bucket}" (${detail}); ${hint}`,
    { field: 'blobs', cause: error },
  );
}
