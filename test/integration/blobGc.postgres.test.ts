import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import { freshDatabase, sqlOn, type TestDatabase } from '../helpers/postgres.js';
import { freshBucket, listKeys, testS3, testS3Client } from '../helpers/s3Server.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';
import { http, shellJob, submit, waitFinal } from './outputsKit.js';

/**
 * Issue 15, gc of a shared bucket by the PostgreSQL blobs ledger, driven from outside:
 * two `runbox serve` nodes on one PostgreSQL database and one bucket. Retention deletes
 * the old jobs (made old in the database, so the test need not wait an hour), and gc
 * removes from the bucket exactly the blob no remaining job refers to, keeping one an
 * old job shared with a new job that ran on the other node.
 */

const writer = (content: string) =>
  shellJob(`printf '%s' "$CONTENT" > "/outputs/sortie ✓.txt"`, { env: { CONTENT: content } });

describe('S3 gc across two nodes by the PostgreSQL blobs ledger', () => {
  let client: S3Client;
  let bucket: string;
  let removeBucket: () => Promise<void>;
  let db: TestDatabase;
  const dirs: string[] = [];
  const nodes: RunboxProcess[] = [];

  beforeAll(async () => {
    client = testS3Client();
    ({ bucket, remove: removeBucket } = await freshBucket(client));
    db = await freshDatabase('runbox_blobgc');
    const { endpoint, credentials } = testS3();
    const blobsUrl = `s3://${bucket}/gc?endpoint=${encodeURIComponent(endpoint)}`;
    for (const name of ['a', 'b']) {
      const dir = mkdtempSync(join(tmpdir(), `runbox-blobgc-${name}-`));
      dirs.push(dir);
      nodes.push(
        await startServerProcess({
          dataDir: dir,
          // Jobs are kept an hour; blobs unreferenced for a second go; sweeps twice a second.
          configFile: writeTestConfig(dir, {
            jobRetentionMs: 3600_000,
            blobGraceMs: 1000,
            sweepIntervalMs: 500,
          }),
          workers: 1,
          env: {
            RUNBOX_S3_ACCESS_KEY_ID: credentials.accessKeyId,
            RUNBOX_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          },
          extraArgs: ['--blobs', blobsUrl, '--queue', db.url],
        }),
      );
    }
  });

  afterEach(() => expectNoLeftoverContainers(TEST_INSTANCE));

  afterAll(async () => {
    for (const node of nodes) {
      node.kill('SIGTERM');
      await node.exited;
    }
    await removeBucket?.();
    await db?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('removes the blob only deleted jobs referred to, keeps blobs live jobs refer to on either node', async () => {
    const [a, b] = nodes as [RunboxProcess, RunboxProcess];
    const unique = `${Date.now()}-${Math.random()}`;
    const shared = `shared by an old job on B and a new one on A ✓ ${unique}`;
    const ids = {
      old: await submit(b.url, writer(`only the old job, ü ${unique}`)),
      oldShared: await submit(b.url, writer(shared)),
      fresh: await submit(a.url, writer(`only the new job ${unique}`)),
      freshShared: await submit(a.url, writer(shared)),
    };
    const blob: Record<string, string> = {};
    for (const [name, id] of Object.entries(ids)) {
      const job = await waitFinal(name.startsWith('old') ? b.url : a.url, id);
      expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
      blob[name] = job.result!.outputs[0]!.sha256!;
    }
    expect(blob.oldShared).toBe(blob.freshShared);
    const key = (sha: string) => `gc/blobs/${sha}`;
    expect(await listKeys(client, bucket)).toEqual(
      expect.arrayContaining([blob.old, blob.oldShared, blob.fresh].map((s) => key(s!))),
    );

    // The old jobs finished two hours ago, by the database's clock.
    await sqlOn(
      db.url,
      "UPDATE runbox.jobs SET finished_at = now() - interval '2 hours' WHERE id = ANY($1)",
      [[ids.old, ids.oldShared]],
    );
    const deadline = Date.now() + 60_000;
    while ((await listKeys(client, bucket)).includes(key(blob.old!))) {
      if (Date.now() > deadline) throw new Error('gc never removed the old blob');
      await new Promise((r) => setTimeout(r, 250));
    }

    for (const node of nodes) {
      expect((await http(`${node.url}/v1/jobs/${ids.old}`)).status).toBe(404);
      expect((await http(`${node.url}/v1/jobs/${ids.oldShared}`)).status).toBe(404);
      // Either node serves the new jobs' outputs, the shared blob included, from the bucket.
      for (const [id, content] of [
        [ids.freshShared, shared],
        [ids.fresh, `only the new job ${unique}`],
      ] as const) {
        const out = await http(
          `${node.url}/v1/jobs/${id}/outputs/${encodeURIComponent('sortie ✓.txt')}`,
        );
        expect(out.status).toBe(200);
        expect(out.body.toString()).toBe(content);
      }
    }
    const keys = await listKeys(client, bucket);
    expect(keys).toContain(key(blob.fresh!));
    expect(keys).toContain(key(blob.freshShared!));
    expect(keys).not.toContain(key(blob.old!));
    // The ledger forgot the deleted blob and keeps the live ones, none condemned.
    const rows = await sqlOn<{ sha256: string; condemned_at: unknown }>(
      db.url,
      'SELECT sha256, condemned_at FROM runbox.blobs',
    );
    const bySha = new Map(rows.map((r) => [r.sha256, r]));
    expect(bySha.has(blob.old!)).toBe(false);
    expect(bySha.get(blob.fresh!)?.condemned_at).toBeNull();
    expect(bySha.get(blob.freshShared!)?.condemned_at).toBeNull();
  });
});
