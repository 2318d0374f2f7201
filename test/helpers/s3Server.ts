import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/storage/s3/s3Client.js';
import { startServerProcess, writeTestConfig, type RunboxProcess } from './serverProcess.js';

export interface TestS3 {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

let found: TestS3 | null = null;

/**
 * The tests' S3-compatible server: the one RUNBOX_TEST_S3_ENDPOINT names (.ci/run starts
 * it), else the one scripts/test-s3 starts or reuses. A server that cannot be had fails
 * the test, in CI and elsewhere: S3 tests never skip.
 */
export function testS3(): TestS3 {
  if (found) return found;
  let env: Record<string, string | undefined> = process.env;
  if (!env.RUNBOX_TEST_S3_ENDPOINT) {
    const script = join(import.meta.dirname, '../../scripts/test-s3');
    let out: string;
    try {
      out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      throw new Error(
        `No S3 server for the tests: 'bash scripts/test-s3' failed (${(error as Error).message})`,
        { cause: error },
      );
    }
    env = Object.fromEntries(
      [...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.replace(/^'|'$/g, '')]),
    );
  }
  found = {
    endpoint: env.RUNBOX_TEST_S3_ENDPOINT!,
    credentials: {
      accessKeyId: env.RUNBOX_TEST_S3_ACCESS_KEY_ID ?? 'S3RVER',
      secretAccessKey: env.RUNBOX_TEST_S3_SECRET_ACCESS_KEY ?? 'S3RVER',
    },
  };
  return found;
}

export function testS3Client(): S3Client {
  const { endpoint, credentials } = testS3();
  return createS3Client({ endpoint, credentials });
}

/** A new empty bucket; remove() deletes its objects and itself. */
export async function freshBucket(
  client: S3Client,
): Promise<{ bucket: string; remove: () => Promise<void> }> {
  const bucket = `runbox-test-${randomUUID().slice(0, 18)}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    bucket,
    async remove() {
      for (const key of await listKeys(client, bucket)) {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      }
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    },
  };
}

export async function listKeys(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token !== undefined && { ContinuationToken: token }),
      }),
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

/**
 * Two `runbox serve` processes on one database and one bucket: A runs jobs (one slot),
 * B runs none and starts with an empty cache, so what B serves comes from the bucket.
 * Their data dirs are pushed onto `dirs` for the caller to remove.
 */
export async function startBucketPair(
  endpoint: string,
  bucket: string,
  prefix: string,
  dirs: string[],
): Promise<{ nodeA: RunboxProcess; nodeB: RunboxProcess }> {
  const { credentials } = testS3();
  const blobsUrl = `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}`;
  const env = {
    RUNBOX_S3_ACCESS_KEY_ID: credentials.accessKeyId,
    RUNBOX_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
  const dirA = mkdtempSync(join(tmpdir(), `runbox-${prefix}-A-`));
  const dirB = mkdtempSync(join(tmpdir(), `runbox-${prefix}-B-`));
  dirs.push(dirA, dirB);
  const nodeA = await startServerProcess({
    dataDir: dirA,
    configFile: writeTestConfig(dirA),
    workers: 1,
    env,
    extraArgs: ['--blobs', blobsUrl],
  });
  const nodeB = await startServerProcess({
    dataDir: dirB,
    configFile: writeTestConfig(dirB),
    workers: 0,
    env,
    extraArgs: ['--blobs', blobsUrl, '--db', join(dirA, 'runbox.db')],
  });
  return { nodeA, nodeB };
}
