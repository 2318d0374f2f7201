import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshBucket, listKeys, testS3, testS3Client } from '../helpers/s3Server.js';
import { runCliProcess, writeTestConfig } from '../helpers/serverProcess.js';

interface DoctorCheck {
  name: string;
  state: string;
  detail: string;
  fix?: string;
}

/**
 * `runbox doctor` with a fleet's blobs config: it passed a bucket that does not exist
 * (exit 0, no line about the store) while `serve` with the same config exits 78.
 */
describe('runbox doctor checks the S3 blob store', () => {
  let client: S3Client;
  let bucket: string;
  let removeBucket: () => Promise<void>;
  let dataDir: string;

  beforeAll(async () => {
    client = testS3Client();
    ({ bucket, remove: removeBucket } = await freshBucket(client));
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-doctor-s3-'));
  });

  afterAll(async () => {
    await removeBucket?.();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function doctor(bucketName: string, secret: string, keyId?: string) {
    const { endpoint, credentials } = testS3();
    const run = await runCliProcess(
      [
        'doctor',
        '--json',
        '--config',
        writeTestConfig(dataDir),
        '--data-dir',
        dataDir,
        '--blobs',
        `s3://${bucketName}/team/?endpoint=${encodeURIComponent(endpoint)}`,
      ],
      {
        env: {
          RUNBOX_S3_ACCESS_KEY_ID: keyId ?? credentials.accessKeyId,
          RUNBOX_S3_SECRET_ACCESS_KEY: secret,
        },
      },
    );
    const { checks } = JSON.parse(run.stdout) as { checks: DoctorCheck[] };
    return { code: run.code, store: checks.find((c) => c.name === 'blob store') };
  }

  it('passes a writable bucket and leaves nothing in it', async () => {
    const { code, store } = await doctor(bucket, testS3().credentials.secretAccessKey);
    expect(store, 'a blob store row').toBeDefined();
    expect(store!.state).toBe('ok');
    expect(store!.detail).toContain(`bucket ${bucket} (prefix team/blobs/)`);
    expect(code).toBe(0);
    expect(await listKeys(client, bucket)).toEqual([]);
  });

  it('fails a missing bucket and a wrong key, naming what to fix', async () => {
    const missing = await doctor(`${bucket}-missing`, testS3().credentials.secretAccessKey);
    expect(missing.code).toBe(1);
    expect(missing.store).toMatchObject({ state: 'fail' });
    expect(missing.store!.detail).toContain('NoSuchBucket');
    expect(missing.store!.detail).toContain('create the bucket first');
    const wrongKey = await doctor(bucket, testS3().credentials.secretAccessKey, 'NOT-A-KEY');
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.store).toMatchObject({ state: 'fail' });
    expect(wrongKey.store!.detail).toContain('RUNBOX_S3_ACCESS_KEY_ID');
  });
});
