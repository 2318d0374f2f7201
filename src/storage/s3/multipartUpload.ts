import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isPreconditionFailed, isRetryable } from './s3Errors.js';

/**
 * When an object goes up in parts. A single PUT takes at most 5 GiB; above some tens of
 * MiB parts are also faster (several in flight) and a failed request resends one part,
 * not the blob.
 */
export interface MultipartSettings {
  /** Objects of more bytes than this go up in parts. @defaultValue 64 MiB */
  thresholdBytes: number;
  /**
   * Bytes per part (the last may be shorter). S3 wants at least 5 MiB but for the last
   * part and at most 10,000 parts: a blob that would need more gets bigger parts.
   * @defaultValue 16 MiB
   */
  partBytes: number;
  /** Parts in flight at once. Memory stays bounded: a part is streamed from the file. @defaultValue 4 */
  concurrency: number;
}

export const DEFAULT_MULTIPART: MultipartSettings = {
  thresholdBytes: 64 * 1024 * 1024,
  partBytes: 16 * 1024 * 1024,
  concurrency: 4,
};

const MAX_PARTS = 10_000;
const PART_ATTEMPTS = 3;

export interface MultipartObject {
  client: S3Client;
  bucket: string;
  key: string;
  /** The file holding the object's first fileBytes bytes. */
  path: string;
  fileBytes: number;
  /** Bytes after the file's (the seek table). */
  tail: Buffer;
  contentType: string;
  metadata: Record<string, string>;
  /** Complete with If-None-Match: * (the server refuses to replace an existing key). */
  ifNoneMatch: boolean;
}

/** 'stored': the object is ours now; 'exists': the key was taken (If-None-Match refused). */
export type MultipartOutcome = 'stored' | 'exists';

/**
 * Uploads file + tail as one object in parts: CreateMultipartUpload, UploadPart for each
 * byte range (each read from the file when it is sent, so memory holds no more than the
 * streams' buffers of `concurrency` parts; a part is retried with a fresh read), then
 * CompleteMultipartUpload, which is when the object appears, whole (S3 never shows a
 * partial one). On any failure the upload is aborted, so no parts are left billed in
 * the bucket, and the failure is thrown.
 */
export async function multipartUpload(
  object: MultipartObject,
  settings: MultipartSettings,
): Promise<MultipartOutcome> {
  const total = object.fileBytes + object.tail.length;
  const partBytes = Math.max(settings.partBytes, Math.ceil(total / MAX_PARTS));
  const count = Math.max(1, Math.ceil(total / partBytes));
  const { client, bucket, key } = object;
  const created = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      ContentType: object.contentType,
      Metadata: object.metadata,
    }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`S3 answered no UploadId for ${key}`);
  try {
    const parts: CompletedPart[] = new Array<CompletedPart>(count);
    let next = 0;
    // The first failure is the one to report: the other lanes then fail as aborted.
    let firstError: { error: unknown } | null = null;
    const failed = new AbortController();
    const lane = async () => {
      while (next < count && !failed.signal.aborted) {
        const index = next++;
        const start = index * partBytes;
        const end = Math.min(total, start + partBytes);
        parts[index] = {
          PartNumber: index + 1,
          ETag: await uploadPart(object, uploadId, index + 1, start, end, failed.signal),
        };
      }
    };
    const lanes = Array.from({ length: Math.min(settings.concurrency, count) }, () =>
      lane().catch((error: unknown) => {
        firstError ??= { error };
        failed.abort();
      }),
    );
    await Promise.all(lanes);
    if (firstError) throw (firstError as { error: unknown }).error;
    try {
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          ...(object.ifNoneMatch && { IfNoneMatch: '*' }),
        }),
      );
    } catch (error) {
      // Someone stored the key first: same name, same content. Our parts go.
      if (object.ifNoneMatch && isPreconditionFailed(error)) {
        await abort(client, bucket, key, uploadId);
        return 'exists';
      }
      throw error;
    }
    return 'stored';
  } catch (error) {
    await abort(client, bucket, key, uploadId);
    throw error;
  }
}

async function uploadPart(
  object: MultipartObject,
  uploadId: string,
  partNumber: number,
  start: number,
  end: number,
  signal: AbortSignal,
): Promise<string> {
  for (let attempt = 1; ; attempt += 1) {
    const body = rangeBody(object.path, object.fileBytes, object.tail, start, end);
    try {
      const answer = await object.client.send(
        new UploadPartCommand({
          Bucket: object.bucket,
          Key: object.key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: end - start,
        }),
        { abortSignal: signal },
      );
      if (!answer.ETag)
        throw new Error(`S3 answered no ETag for part ${partNumber} of ${object.key}`);
      return answer.ETag;
    } catch (error) {
      if (signal.aborted || attempt >= PART_ATTEMPTS || !isRetryable(error)) throw error;
      await sleep(200 * attempt);
    } finally {
      body.destroy();
    }
  }
}

/** Bytes [start, end) of file (fileBytes long) followed by tail, read as it is sent. */
function rangeBody(
  path: string,
  fileBytes: number,
  tail: Buffer,
  start: number,
  end: number,
): Readable {
  return Readable.from(
    (async function* () {
      if (start < fileBytes) {
        const file = await open(path, 'r');
        try {
          yield* file.createReadStream({
            start,
            end: Math.min(end, fileBytes) - 1,
            autoClose: false,
            highWaterMark: 256 * 1024,
          });
        } finally {
          await file.close();
        }
      }
      if (end > fileBytes) yield tail.subarray(Math.max(0, start - fileBytes), end - fileBytes);
    })(),
    { objectMode: false },
  );
}

/**
 * Drops the upload's parts. Best effort: the caller throws its own failure; a bucket
 * lifecycle rule (AbortIncompleteMultipartUpload) is the backstop for an abort that
 * itself fails (a server that lacks it, a network down).
 */
async function abort(client: S3Client, bucket: string, key: string, uploadId: string) {
  try {
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
    );
  } catch {
    // See above: the original failure is what the caller needs to see.
  }
}
