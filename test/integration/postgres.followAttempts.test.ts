import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropCheckingLeftovers, freshDatabase, type TestDatabase } from '../helpers/postgres.js';
import { freshBucket, testS3, testS3Client } from '../helpers/s3Server.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { attemptMarks, follow, hostileBytes, quickScript, stallUntilAttempt } from './followKit.js';
import { sha256, shellJob, submit, waitFinal } from './outputsKit.js';

/**
 * `logs -f` against node A of a job node B runs, retried with no backoff: attempts 1 and
 * 2 fail once they have written, attempt 3 waits a second and succeeds. Every
 * attempt's bytes reach A's follower in order, each later one marked on stderr, also
 * when the follower was stopped while attempt 2 began and ended on B.
 */
describe('logs -f on one node of a job retried on another', () => {
  let db: TestDatabase;
  const dirs: string[] = [];
  let a: RunboxProcess;
  let b: RunboxProcess;
  let removeBucket: (() => Promise<void>) | undefined;
  const spec = { max_attempts: 3, retry_on_exit_codes: [3] };

  beforeAll(async () => {
    db = await freshDatabase('runbox_pgfollow');
    // One bucket for both nodes: A reads the stored logs of the attempts B ran.
    const s3 = testS3Client();
    const { bucket, remove } = await freshBucket(s3);
    removeBucket = remove;
    const { endpoint, credentials } = testS3();
    const blobs = `s3://${bucket}/follow?endpoint=${encodeURIComponent(endpoint)}`;
    const node = (workers: number) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'runbox-pg-follow-'));
      dirs.push(dataDir);
      return startServerProcess({
        dataDir,
        configFile: writeTestConfig(dataDir, { retry: { baseMs: 1, capMs: 1 } }),
        workers,
        env: {
          RUNBOX_QUEUE: db.url,
          RUNBOX_S3_ACCESS_KEY_ID: credentials.accessKeyId,
          RUNBOX_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        },
        extraArgs: ['--blobs', blobs],
      });
    };
    // A runs nothing (--workers 0): B runs every attempt, A's follower reads B's.
    a = await node(0);
    b = await node(1);
  });

  afterAll(async () => {
    for (const each of [a, b]) {
      if (!each) continue;
      each.kill('SIGTERM');
      await each.exited;
    }
    if (db) await dropCheckingLeftovers(db);
    await removeBucket?.();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  for (const stalled of [false, true]) {
    it(`prints every attempt B ran, in order, marked${stalled ? ', the follower stopped while attempt 2 went by' : ''}`, async () => {
      const attempts = [hostileBytes(), hostileBytes(), hostileBytes()];
      // Unstalled, attempts 1 and 2 each last a second: a job keeps only its last recorded
      // attempt's log (README), so two quick attempts could both end before a follower
      // slowed by a loaded machine looked, and attempt 1 was rightly marked with no bytes.
      const id = await submit(a.url, shellJob(quickScript(attempts, !stalled), spec));
      const follower = follow(a.url, id);
      if (stalled) {
        await stallUntilAttempt(
          follower,
          Buffer.concat(attempts[0]!).length,
          a.url,
          async () => id,
          3,
        );
      }

      expect(await follower.code, follower.stderr()).toBe(0);
      const job = await waitFinal(a.url, id);
      expect(job).toMatchObject({ status: 'succeeded', attempts: 3 });
      expect(sha256(follower.stdout())).toBe(sha256(Buffer.concat(attempts.flat())));
      expect(attemptMarks(follower.stderr())).toEqual(['attempt 2 begins', 'attempt 3 begins']);
    });
  }
});
