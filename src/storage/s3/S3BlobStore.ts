import { createHash } from 'node:crypto';
import { mkdir, open, rename, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { RunboxError } from '../../errors/index.js';
import { redactUrl } from '../../queueUrl.js';
import { isQueueUnavailable } from '../../queue/queueUnavailable.js';
import type {
  BlobBatch,
  BlobEntry,
  BlobStore,
  ByteRange,
  PutOptions,
  StoredBlob,
} from '../BlobStore.js';
import { checkRange, decodeFrom } from '../framedBlob.js';
import { checkSha256 } from '../fs/blobPaths.js';
import type { FileBlobStore } from '../fs/FileBlobStore.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../fs/privateFiles.js';
import { tempFileName } from '../fs/tempFiles.js';
import { FrameDecompressor } from '../zstd/FrameDecompressor.js';
import { readFrameIndex } from '../zstd/readFrameIndex.js';
import type { BlobLedger } from './BlobLedger.js';
import { DEFAULT_MULTIPART, multipartUpload, type MultipartSettings } from './multipartUpload.js';
import { notFound, retryStale, staleRead } from './readErrors.js';
import { S3BlobBatch, type CallStop } from './S3BlobBatch.js';
import {
  httpStatus,
  isNotFoundError,
  isPreconditionFailed,
  isRetryable,
  isUnanswered,
  s3Reason,
} from './s3Errors.js';
import {
  decodeSeekTable,
  encodeSeekTable,
  framesForRange,
  seekTableBytes,
  type SeekEntry,
} from './seekTable.js';

export interface S3BlobStoreOptions {
  client: S3Client;
  /**
   * The client for GETs, whose bodies stream at the pace of whoever reads them
   * (createS3ReadClient: a limit on the wait for the answer, none on a silent body).
   * @defaultValue client
   */
  readClient?: S3Client;
  bucket: string;
  /** Prepended to the sha256 to make the key. @defaultValue 'blobs/' */
  prefix?: string;
  /**
   * Local store used to compress and hash before an upload and as the read cache
   * (its blobs are the same frames as the objects, without the seek table).
   */
  cache: FileBlobStore;
  /** Input bytes per frame of the cache's writes (config.zstd.frameBytes). */
  frameBytes: number;
  /** The cache is trimmed, oldest read or write first, past this. @defaultValue 1 GiB */
  cacheMaxBytes?: number;
  /**
   * The server refuses a PUT with `If-None-Match: *` when the key exists (AWS S3 since
   * 2024, MinIO, R2). Without it a put asks HEAD first; see probeConditionalPut().
   */
  conditionalPut: boolean;
  /** Database rows that keep gc from deleting a blob a node is storing (see BlobLedger). */
  ledger?: BlobLedger;
  /**
   * gc deletes a condemned blob's object only within deleteWithinMs of condemning it
   * (puts of it wait that out), and gives one DELETE at most requestTimeoutMs.
   * @defaultValue { deleteWithinMs: 60_000, requestTimeoutMs: 10_000 }
   */
  gc?: { deleteWithinMs: number; requestTimeoutMs: number };
  /** When and how an object goes up in parts (see multipartUpload.ts). */
  multipart?: Partial<MultipartSettings>;
  /** Where the bucket is served (blobs.endpoint), named in errors; unset: AWS's own. */
  endpoint?: string;
  /**
   * How long storing a blob waits out an S3 that does not answer (or answers 5xx/429)
   * before it fails. A job's logs and outputs are already in the local cache by then, so
   * an S3 down for a few minutes delays the job's result instead of failing it and
   * spending its attempts in seconds. @defaultValue 5 minutes
   */
  unansweredPatienceMs?: number;
}

/** Object metadata (x-amz-meta-*): uncompressed size and frame count, so stat is one HEAD. */
const META_SIZE = 'runbox-size';
const META_FRAMES = 'runbox-frames';
const UPLOAD_ATTEMPTS = 3;
const UNANSWERED_PATIENCE_MS = 5 * 60_000;
/** Longest pause between two tries of an S3 that does not answer. */
const UNANSWERED_RETRY_CAP_MS = 5000;

interface ObjectFacts {
  size: number;
  /** Bytes of the object: what StoredBlob.compressedSize and openCompressed mean here. */
  objectBytes: number;
  /** Bytes of the zstd frames: the object less its seek table. */
  framesBytes: number;
  frames: number;
  etag: string | undefined;
}

/**
 * Content-addressed blobs in an S3 bucket, under `<prefix><sha256>`. Each object is the
 * blob's zstd frames, exactly as FileBlobStore writes them, followed by a seek table
 * (see seekTable.ts) so a ranged read fetches only the frames it needs.
 *
 * Invariants:
 * - A key only ever holds a complete blob whose uncompressed sha256 is its name: the
 *   blob is compressed and hashed into the local cache first and uploaded in one PUT
 *   (or, past multipart.thresholdBytes, in parts that S3 shows only when the upload is
 *   completed), which S3 makes visible whole and durable on its acknowledgement.
 * - A blob put in a batch is uploaded only by the batch's commit().
 * - Stored blobs are never re-uploaded: a conditional PUT, or a HEAD first where the
 *   server cannot refuse an existing key.
 * - Gc never uses object times: see BlobLedger.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  readonly bucket: string;
  readonly prefix: string;
  readonly cache: FileBlobStore;
  readonly conditionalPut: boolean;
  private readonly client: S3Client;
  private readonly readClient: S3Client;
  private readonly cacheMaxBytes: number;
  private readonly frameBytes: number;
  private readonly ledger: BlobLedger | undefined;
  private readonly gc: { deleteWithinMs: number; requestTimeoutMs: number };
  private readonly multipart: MultipartSettings;
  /** Blobs of open batches: the cache must keep them until they are uploaded. */
  private readonly pinned = new Map<string, number>();
  private cacheBytes: number | null = null;
  private trimming: Promise<void> | null = null;
  private readonly endpoint: string | undefined;
  private readonly unansweredPatienceMs: number;

  constructor(options: S3BlobStoreOptions) {
    this.client = options.client;
    this.readClient = options.readClient ?? options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? 'blobs/';
    this.cache = options.cache;
    this.cacheMaxBytes = options.cacheMaxBytes ?? 1024 * 1024 * 1024;
    this.frameBytes = options.frameBytes;
    this.conditionalPut = options.conditionalPut;
    this.ledger = options.ledger;
    this.gc = options.gc ?? { deleteWithinMs: 60_000, requestTimeoutMs: 10_000 };
    this.multipart = { ...DEFAULT_MULTIPART, ...options.multipart };
    this.endpoint = options.endpoint;
    this.unansweredPatienceMs = options.unansweredPatienceMs ?? UNANSWERED_PATIENCE_MS;
  }

  /** The bucket as an operator would look for it: bucket, prefix and endpoint. */
  private where(): string {
    const at =
      this.endpoint === undefined ? 'AWS S3' : `blobs.endpoint ${redactUrl(this.endpoint)}`;
    return `bucket ${this.bucket} (prefix ${this.prefix}) at ${at}`;
  }

  /**
   * S3 refusing the bucket itself (gone, or keys it no longer takes), as an error naming
   * the setting and the fix, as the start's probe does; the SDK's own message ("The
   * specified bucket does not exist") named neither the bucket nor what to do. The
   * attempt still fails Internal and is retried: the bucket may be put back.
   */
  private refused(what: string, error: unknown): unknown {
    const status = httpStatus(error);
    const name = (error as { name?: unknown } | null)?.name;
    const fix =
      name === 'NoSuchBucket'
        ? { field: 'blobs.bucket', hint: 'create the bucket, or correct blobs.bucket' }
        : status === 403
          ? {
              field: 'blobs.credentials',
              hint:
                'check RUNBOX_S3_ACCESS_KEY_ID / RUNBOX_S3_SECRET_ACCESS_KEY ' +
                '(blobs.credentials) and the bucket policy',
            }
          : null;
    if (fix === null) return error;
    return new RunboxError(
      'Internal',
      `${what}: the blob store (${this.where()}) refused it (HTTP ${String(status)} ` +
        `${String(name)}: ${(error as Error).message}): ${fix.hint}`,
      { field: fix.field, cause: error },
    );
  }

  /**
   * Runs a write-path call again while S3 does not answer, for up to
   * unansweredPatienceMs, or until `stop` aborts (the job was cancelled: stop waiting);
   * then fails naming the store and what to check. The call gets the signal too: a
   * request S3 leaves hanging (up to the client's idle limit, times the SDK's attempts)
   * ends at the cancel, not minutes after it. A call begun after the run stopped gets one
   * try (S3BlobBatch.stop).
   */
  private async patiently<T>(
    what: string,
    call: (signal?: AbortSignal) => Promise<T>,
    stop?: CallStop,
  ): Promise<T> {
    const signal = stop?.signal;
    const deadline = Date.now() + this.unansweredPatienceMs;
    for (let delay = 250; ; delay = Math.min(delay * 2, UNANSWERED_RETRY_CAP_MS)) {
      try {
        return await call(signal);
      } catch (error) {
        // The blobs ledger lives in the queue database: a PostgreSQL restart under a
        // job's upload is waited out like S3's, not a failed attempt that runs it again.
        const ledgerDown = isQueueUnavailable(error);
        const unanswered = ledgerDown || isUnanswered(error);
        if (signal?.aborted || (stop?.once && unanswered)) {
          throw this.stoppedWaiting(what, error, stop?.reason());
        }
        if (!unanswered) throw this.refused(what, error);
        if (ledgerDown && Date.now() + delay > deadline) {
          throw new RunboxError(
            'Internal',
            `${what}: ${(error as Error).message} (waited ` +
              `${Math.round(this.unansweredPatienceMs / 1000)} s)`,
            { field: 'queue.url', cause: error },
          );
        }
        if (Date.now() + delay > deadline) {
          throw new RunboxError(
            'Internal',
            `${what}: the blob store (${this.where()}) did not answer for ` +
              `${Math.round(this.unansweredPatienceMs / 1000)} s (${s3Reason(error)}); ` +
              'check that it is up and reachable from this node',
            { field: 'blobs.endpoint', cause: error },
          );
        }
        const stopped = await sleep(delay, false, signal && { signal }).catch(() => true);
        if (stopped) throw this.stoppedWaiting(what, error, stop?.reason());
      }
    }
  }

  private stoppedWaiting(what: string, error: unknown, reason: unknown): RunboxError {
    // A cancelled job ends Cancelled, as when its container is killed.
    return new RunboxError(
      reason === 'cancel' ? 'Cancelled' : 'Internal',
      `${what}: stopped waiting for the blob store (${this.where()}, ` +
        `${s3Reason(error)}): the run was stopped (${String(reason ?? 'aborted')})`,
      { field: 'blobs.endpoint', cause: error },
    );
  }

  /** A read S3 did not answer, as a typed 503 naming the store, not the SDK's error. */
  private unavailable(sha256: string, error: unknown): unknown {
    if (!isUnanswered(error)) return error;
    return new RunboxError(
      'StorageUnavailable',
      `cannot read blob ${sha256}: the blob store (${this.where()}) does not answer ` +
        `(${s3Reason(error)}); try again once it is back`,
      { field: 'blobs.endpoint', cause: error },
    );
  }

  key(sha256: string): string {
    checkSha256(sha256);
    return this.prefix + sha256;
  }

  async put(source: Readable | Buffer, options: PutOptions = {}): Promise<StoredBlob> {
    const batch = options.batch ? this.ownBatch(options.batch) : null;
    const stored = await this.cache.put(source, {
      ...(options.maxBytes !== undefined && { maxBytes: options.maxBytes }),
      ...(batch && { batch: batch.local }),
      ...(options.sha256 !== undefined && { sha256: options.sha256 }),
    });
    if (batch) {
      batch.add(stored.sha256);
      // The object this put will name: the one already stored, or ours at commit.
      const existing = await this.patiently(
        `storing blob ${stored.sha256}`,
        (signal) => this.head(stored.sha256, signal),
        batch.stop(),
      );
      return { ...stored, compressedSize: existing?.objectBytes ?? this.objectBytesOf(stored) };
    }
    this.pin(stored.sha256);
    let objectBytes: number;
    try {
      objectBytes = await this.upload(stored.sha256);
    } finally {
      this.unpin(stored.sha256);
    }
    await this.noteCached(stored.compressedSize);
    return { ...stored, compressedSize: objectBytes };
  }

  /** Bytes of the object a put of `stored` (the cache's frames) uploads. */
  private objectBytesOf(stored: StoredBlob): number {
    const frames = Math.max(1, Math.ceil(stored.size / this.frameBytes));
    return stored.compressedSize + seekTableBytes(frames);
  }

  beginBatch(signal?: AbortSignal): BlobBatch {
    return new S3BlobBatch(this, this.cache.beginBatch(), signal);
  }

  private ownBatch(batch: BlobBatch): S3BlobBatch {
    if (!(batch instanceof S3BlobBatch) || batch.store !== this) {
      throw new RunboxError('Internal', 'a blob batch was used with a store it was not begun on');
    }
    return batch;
  }

  /** @internal for S3BlobBatch */
  pin(sha256: string): void {
    this.pinned.set(sha256, (this.pinned.get(sha256) ?? 0) + 1);
  }

  /** @internal for S3BlobBatch */
  unpin(sha256: string): void {
    const count = (this.pinned.get(sha256) ?? 1) - 1;
    if (count > 0) this.pinned.set(sha256, count);
    else this.pinned.delete(sha256);
  }

  /**
   * Makes sure the bucket holds the blob the cache holds under sha256: touches its ledger
   * row first (gc then leaves the object alone), then uploads it unless it is there.
   * @internal for S3BlobBatch
   */
  async upload(sha256: string, stop?: CallStop): Promise<number> {
    return this.patiently(
      `uploading blob ${sha256}`,
      (signal) => this.uploadOnce(sha256, signal),
      stop,
    );
  }

  private async uploadOnce(sha256: string, signal?: AbortSignal): Promise<number> {
    const waitMs = (await this.ledger?.touch([sha256]))?.get(sha256) ?? 0;
    // A gc is deleting this object: whatever HEAD says now may be gone in a moment.
    const mustWrite = waitMs > 0;
    if (mustWrite) {
      await sleep(waitMs);
    } else if (!this.conditionalPut) {
      const existing = await this.head(sha256, signal);
      if (existing) return existing.objectBytes;
    }
    const path = this.cache.paths.blob(sha256);
    const file = await open(path, 'r');
    let framesBytes: number;
    let entries: SeekEntry[];
    try {
      framesBytes = (await file.stat()).size;
      entries = [];
      for await (const frame of readFrameIndex(file, framesBytes)) {
        if (frame.skippable || frame.contentSize === null) {
          throw new RunboxError('Internal', `blob ${sha256} in the cache has a foreign frame`);
        }
        entries.push({ compressedBytes: frame.compressedBytes, contentSize: frame.contentSize });
      }
    } finally {
      await file.close();
    }
    const table = encodeSeekTable(entries);
    const size = entries.reduce((sum, e) => sum + e.contentSize, 0);
    const metadata = { [META_SIZE]: String(size), [META_FRAMES]: String(entries.length) };
    if (framesBytes + table.length > this.multipart.thresholdBytes) {
      const outcome = await multipartUpload(
        {
          client: this.client,
          bucket: this.bucket,
          key: this.key(sha256),
          path,
          fileBytes: framesBytes,
          tail: table,
          contentType: 'application/zstd',
          metadata,
          ifNoneMatch: this.conditionalPut && !mustWrite,
        },
        this.multipart,
      );
      // 'exists': someone stored it first, as a refused conditional PUT below.
      if (outcome === 'exists') return (await this.headOrThrow(sha256)).objectBytes;
      return framesBytes + table.length;
    }
    const openBody = () =>
      Readable.from(
        (async function* () {
          const data = await open(path, 'r');
          try {
            yield* data.createReadStream({ autoClose: false, highWaterMark: 256 * 1024 });
          } finally {
            await data.close();
          }
          yield table;
        })(),
        { objectMode: false },
      );
    // Retried here with a fresh body: the SDK cannot replay a stream it has consumed.
    for (let attempt = 1; ; attempt += 1) {
      const body = openBody();
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key(sha256),
            Body: body,
            ContentLength: framesBytes + table.length,
            ContentType: 'application/zstd',
            Metadata: metadata,
            ...(this.conditionalPut && !mustWrite && { IfNoneMatch: '*' }),
          }),
          signal && { abortSignal: signal },
        );
        return framesBytes + table.length;
      } catch (error) {
        // Someone stored it first: same name, same content (maybe other frames).
        if (isPreconditionFailed(error)) return (await this.headOrThrow(sha256)).objectBytes;
        if (attempt >= UPLOAD_ATTEMPTS || !isRetryable(error)) throw error;
        await sleep(200 * attempt);
      } finally {
        body.destroy();
      }
    }
  }

  /**
   * Facts from a HEAD, or null if the object is missing. Read again once when the seek
   * table's GET finds another upload of the blob: two nodes storing the same bytes at once
   * (the conformance suite's two puts saw it on s3rver, which shows an object before its
   * metadata), where the put that lost the race failed Internal.
   */
  private head(sha256: string, signal?: AbortSignal): Promise<ObjectFacts | null> {
    return retryStale(() => this.headOnce(sha256, signal));
  }

  private async headOnce(sha256: string, signal?: AbortSignal): Promise<ObjectFacts | null> {
    let response;
    try {
      response = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(sha256) }),
        signal && { abortSignal: signal },
      );
    } catch (error) {
      if (isNotFoundError(error)) return null;
      throw error;
    }
    const objectBytes = response.ContentLength ?? 0;
    const size = Number(response.Metadata?.[META_SIZE]);
    const frames = Number(response.Metadata?.[META_FRAMES]);
    if (Number.isSafeInteger(size) && Number.isSafeInteger(frames) && frames > 0) {
      return {
        size,
        objectBytes,
        frames,
        framesBytes: objectBytes - seekTableBytes(frames),
        etag: response.ETag,
      };
    }
    // A server (or a copy) that lost the metadata: the seek table has the same facts.
    const entries = await this.readSeekTable(sha256, objectBytes, response.ETag);
    return {
      size: entries.reduce((sum, e) => sum + e.contentSize, 0),
      objectBytes,
      frames: entries.length,
      framesBytes: objectBytes - seekTableBytes(entries.length),
      etag: response.ETag,
    };
  }

  private async headOrThrow(sha256: string): Promise<ObjectFacts> {
    const facts = await this.head(sha256);
    if (!facts) throw notFound(sha256);
    return facts;
  }

  /**
   * The seek table at the end of an object of `objectBytes`. Only explicit ranges are
   * sent: some servers (s3rver) answer a suffix range `bytes=-N` from the start.
   */
  private async readSeekTable(
    sha256: string,
    objectBytes: number,
    etag: string | undefined,
    frames?: number,
  ): Promise<SeekEntry[]> {
    const footerBytes = 9;
    let tableBytes = frames !== undefined ? seekTableBytes(frames) : null;
    if (tableBytes === null) {
      const footer = await this.getRange(sha256, objectBytes - footerBytes, objectBytes - 1, etag);
      tableBytes = seekTableBytes(footer.readUInt32LE(0));
    }
    if (tableBytes > objectBytes) {
      throw new RunboxError('Internal', `blob ${sha256} is shorter than its seek table`);
    }
    const table = await this.getRange(sha256, objectBytes - tableBytes, objectBytes - 1, etag);
    return decodeSeekTable(table);
  }

  private async getRange(
    sha256: string,
    start: number,
    end: number,
    etag: string | undefined,
  ): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.getStream(sha256, start, end, etag)) {
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  /**
   * The object's bytes [start, end] as a stream. With an etag, a response for another
   * upload of the blob (the same content, maybe other frames) is refused as stale: both
   * by If-Match, and by comparing the answer's ETag for servers that ignore If-Match.
   */
  private async getStream(
    sha256: string,
    start: number,
    end: number,
    etag: string | undefined,
  ): Promise<Readable> {
    let response;
    try {
      response = await this.readClient.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key(sha256),
          Range: `bytes=${start}-${end}`,
          ...(etag !== undefined && { IfMatch: etag }),
        }),
      );
    } catch (error) {
      if (isNotFoundError(error)) throw notFound(sha256, error);
      // 416: the range computed from the HEAD no longer fits the object.
      if (isPreconditionFailed(error) || httpStatus(error) === 416) throw staleRead(sha256, error);
      throw error;
    }
    const body = response.Body as Readable | undefined;
    if (!body) throw new RunboxError('Internal', `S3 answered no body for blob ${sha256}`);
    if (etag !== undefined && response.ETag !== undefined && response.ETag !== etag) {
      body.destroy();
      throw staleRead(sha256);
    }
    const expected = end - start + 1;
    const length = response.ContentLength;
    if (length !== undefined && length !== expected) {
      body.destroy();
      throw new RunboxError(
        'Internal',
        `S3 answered ${length} bytes for a range of ${expected} of blob ${sha256}`,
      );
    }
    return body;
  }

  compressor(): Transform {
    return this.cache.compressor();
  }

  async stat(sha256: string): Promise<StoredBlob | null> {
    const facts = await this.head(sha256).catch((error: unknown) => {
      throw this.unavailable(sha256, error);
    });
    return facts && { sha256, size: facts.size, compressedSize: facts.objectBytes };
  }

  async openCompressed(sha256: string): Promise<Readable> {
    checkSha256(sha256);
    return retryStale(() => this.openCompressedOnce(sha256)).catch((error: unknown) => {
      throw this.unavailable(sha256, error);
    });
  }

  /**
   * Always from the bucket: the object is what compressedSize counts (a Content-Length
   * may have been sent from it), and the cache may hold the same content in other
   * frames (a node that uploaded it with another frameBytes).
   */
  private async openCompressedOnce(sha256: string): Promise<Readable> {
    const facts = await this.headOrThrow(sha256);
    return await this.getStream(sha256, 0, facts.objectBytes - 1, facts.etag);
  }

  /**
   * Decompressed bytes, from the cache when it has the blob, else from the bucket: a
   * whole small blob is cached first; a range fetches the seek table and then only the
   * frames that hold it, so resuming a download near the end of a large blob moves
   * about one frame, not the blob.
   */
  async openDecompressed(sha256: string, range?: ByteRange): Promise<Readable> {
    checkSha256(sha256);
    if (range) checkRange(range);
    return retryStale(() => this.openDecompressedOnce(sha256, range)).catch((error: unknown) => {
      throw this.unavailable(sha256, error);
    });
  }

  private async openDecompressedOnce(sha256: string, range?: ByteRange): Promise<Readable> {
    if (await this.cached(sha256)) return await this.cache.openDecompressed(sha256, range);
    const facts = await this.headOrThrow(sha256);
    if (!range && (await this.fillCache(sha256, facts))) {
      return await this.cache.openDecompressed(sha256);
    }
    let from = 0;
    let to = facts.framesBytes - 1;
    let firstByte = 0;
    if (range) {
      const entries = await this.readSeekTable(
        sha256,
        facts.framesBytes + seekTableBytes(facts.frames),
        facts.etag,
        facts.frames,
      );
      const span = framesForRange(entries, range.start, range.end);
      if (!span) return Readable.from([]); // starts at or past the end
      ({ from, to, firstByte } = span);
    }
    const raw = await this.getStream(sha256, from, to, facts.etag);
    return Readable.from(decodeFrom(raw, this.cache.codec, firstByte, range), {
      objectMode: false,
    });
  }

  private async cached(sha256: string): Promise<boolean> {
    const path = this.cache.paths.blob(sha256);
    const now = new Date();
    // Marks the read for the trim's oldest-first order; fails if not cached.
    return utimes(path, now, now).then(
      () => true,
      () => false,
    );
  }

  /**
   * Downloads a whole blob into the cache when it is small next to the cache (an eighth
   * of it at most), checking its sha256 on the way; true if it is cached now. Bigger
   * blobs are streamed from the bucket each time rather than evicting the cache.
   */
  private async fillCache(sha256: string, facts: ObjectFacts): Promise<boolean> {
    if (facts.framesBytes > this.cacheMaxBytes / 8) return false;
    const temp = join(this.cache.paths.tmp, tempFileName());
    const hash = createHash('sha256');
    try {
      const raw = await this.getStream(sha256, 0, facts.framesBytes - 1, facts.etag);
      await mkdir(this.cache.paths.tmp, { recursive: true, mode: PRIVATE_DIR_MODE });
      const file = await open(temp, 'wx', PRIVATE_FILE_MODE);
      const out = file.createWriteStream();
      const decoder = new FrameDecompressor({ codec: this.cache.codec });
      const tee = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          decoder.write(chunk);
          done(null, chunk);
        },
        flush(done) {
          decoder.end();
          done();
        },
      });
      decoder.on('data', (chunk: Buffer) => hash.update(chunk));
      const decoded = new Promise<void>((resolve, reject) => {
        decoder.once('end', resolve);
        decoder.once('error', reject);
      });
      await Promise.all([pipeline(raw, tee, out), decoded]);
      if (hash.digest('hex') !== sha256) {
        throw new RunboxError('Internal', `blob ${sha256} in the bucket does not hash to its name`);
      }
      const final = this.cache.paths.blob(sha256);
      await mkdir(dirname(final), { recursive: true, mode: PRIVATE_DIR_MODE });
      // No fsync: a cache entry lost in a crash is fetched again.
      await rename(temp, final);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await this.noteCached(facts.framesBytes);
    return true;
  }

  /** Counts bytes added to the cache and trims it when over its bound. */
  private async noteCached(bytes: number): Promise<void> {
    if (this.cacheBytes === null) this.cacheBytes = (await this.cache.usage()).compressedBytes;
    else this.cacheBytes += bytes;
    if (this.cacheBytes <= this.cacheMaxBytes) return;
    this.trimming ??= this.trimCache().finally(() => {
      this.trimming = null;
    });
    await this.trimming;
  }

  /** Removes the least recently used cached blobs until the cache is at 3/4 of its bound. */
  async trimCache(): Promise<void> {
    const entries = [];
    let total = 0;
    for await (const entry of this.cache.list()) {
      entries.push(entry);
      total += entry.compressedSize;
    }
    entries.sort((a, b) => a.writtenAt - b.writtenAt);
    const target = (this.cacheMaxBytes * 3) / 4;
    for (const entry of entries) {
      if (total <= target) break;
      if (this.pinned.has(entry.sha256)) continue;
      await this.cache.remove(entry.sha256);
      total -= entry.compressedSize;
    }
    this.cacheBytes = total;
  }

  /** Deletes the object and the cached copy; a missing blob is not an error. */
  async remove(sha256: string, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(sha256) }),
      signal && { abortSignal: signal },
    );
    await this.cache.remove(sha256);
  }

  /**
   * Every blob object under the prefix, in key order (other keys are skipped). writtenAt
   * is the object's LastModified: never later than the blob's last use (a put that finds
   * it stored does not rewrite it), so a gc that skips recent entries by it skips too
   * little, never too much; removeIfIdle decides by the database's rows.
   */
  async *list(): AsyncGenerator<BlobEntry> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix,
          ...(token !== undefined && { ContinuationToken: token }),
        }),
      );
      for (const object of page.Contents ?? []) {
        const sha256 = object.Key?.slice(this.prefix.length) ?? '';
        if (!/^[0-9a-f]{64}$/.test(sha256)) continue;
        yield {
          sha256,
          compressedSize: object.Size ?? 0,
          writtenAt: object.LastModified?.getTime() ?? 0,
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /**
   * gc's delete, decided by the ledger (the database's clock and rows), never by object
   * times: the blob is condemned only if no job refers to it and no node stored it within
   * graceMs, and its object is deleted only before the condemnation's deadline, which
   * every put of the blob meanwhile waits out (see BlobLedger). Without a ledger nothing
   * is deleted: no other rule is safe across nodes.
   */
  async removeIfIdle(sha256: string, graceMs: number): Promise<number> {
    checkSha256(sha256);
    if (!this.ledger) return 0;
    const started = performance.now();
    const condemned = await this.ledger.condemn({
      graceMs,
      deleteWithinMs: this.gc.deleteWithinMs,
      limit: 1,
      only: [sha256],
    });
    if (condemned.length === 0) return 0;
    const facts = await this.head(sha256);
    if (performance.now() - started + this.gc.requestTimeoutMs >= this.gc.deleteWithinMs) {
      return 0; // too late to start the DELETE; a later run retries
    }
    await this.remove(sha256, AbortSignal.timeout(this.gc.requestTimeoutMs));
    await this.ledger.forget([sha256]);
    return facts?.objectBytes ?? 0;
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.readClient.destroy();
  }
}
