import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueBackend, QueueSettings } from '../../src/queue/QueueBackend.js';
import type { BlobLedger } from '../../src/storage/s3/BlobLedger.js';

/**
 * One suite for every blobs ledger (storage/s3/BlobLedger.ts states the contract: a put
 * touches before it looks for the object; gc condemns with a deadline every later put
 * waits out; forget keeps a row touched since). A backend's test file calls
 * blobLedgerConformance(name, makeLedger) with its real queue database (its migrations,
 * its clock: PostgreSQL's now()), as queue.suite.ts does for the queue.
 */
export interface LedgerHarness {
  queue: QueueBackend;
  ledger: BlobLedger;
  /** A second ledger on its own connection to the same database: another node. */
  connectAgain(): Promise<BlobLedger>;
  /** Records that job `jobId` (a job of `queue`) refers to the blob (a job_blobs row). */
  refer(jobId: string, sha256: string): Promise<void>;
  /** Moves the blobs' last_referenced_at back by ms: they look untouched for that long. */
  age(sha256s: readonly string[], ms: number): Promise<void>;
  /** Closes what it opened and drops what it created. */
  dispose(): Promise<void>;
}

export type MakeLedger = (settings: QueueSettings) => Promise<LedgerHarness>;

const SETTINGS: QueueSettings = {
  lease: { heartbeatMs: 5_000, expiryMs: 60_000 },
  retry: { baseMs: 1_000, capMs: 60_000 },
  commitWindowMs: 2,
  workerDeadMs: 60_000,
  workerRetentionMs: 24 * 3600 * 1000,
  jobRetentionMs: 7 * 24 * 3600 * 1000,
};

const HOUR = 3600_000;
const sha = () => randomBytes(32).toString('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function blobLedgerConformance(name: string, makeLedger: MakeLedger): void {
  describe(`blob ledger conformance: ${name}`, () => {
    const harnesses: LedgerHarness[] = [];
    afterEach(async () => {
      for (const h of harnesses.splice(0)) await h.dispose();
    });

    async function fresh(): Promise<LedgerHarness> {
      const h = await makeLedger(SETTINGS);
      harnesses.push(h);
      return h;
    }

    async function jobReferring(h: LedgerHarness, sha256: string): Promise<void> {
      const [outcome] = await h.queue.submit([
        { spec: { runtime: 'shell', command: ['true'] }, maxAttempts: 1 },
      ]);
      await h.refer(outcome!.job.id, sha256);
    }

    it('condemns only blobs no job refers to and nobody touched within the grace period', async () => {
      const h = await fresh();
      const [idle, used, recent] = [sha(), sha(), sha()];
      expect(await h.ledger.touch([idle, used, recent, idle])).toEqual(new Map());
      await jobReferring(h, used);
      await h.age([idle, used], 2 * HOUR);
      await h.age([recent], HOUR / 2);
      expect(await h.ledger.condemn({ graceMs: HOUR, deleteWithinMs: 60_000, limit: 10 })).toEqual([
        idle,
      ]);
      // Condemned already, its deadline ahead: not condemned twice.
      expect(await h.ledger.condemn({ graceMs: HOUR, deleteWithinMs: 60_000, limit: 10 })).toEqual(
        [],
      );
    });

    it('condemns at most limit blobs, oldest first, and only those asked about', async () => {
      const h = await fresh();
      const blobs = [sha(), sha(), sha(), sha()];
      await h.ledger.touch(blobs);
      for (const [i, blob] of blobs.entries()) await h.age([blob], (10 - i) * HOUR);
      const opts = { graceMs: HOUR, deleteWithinMs: 60_000 };
      expect(await h.ledger.condemn({ ...opts, limit: 1, only: [blobs[2]!, sha()] })).toEqual([
        blobs[2],
      ]);
      // Which blobs, not in which order the backend lists them.
      expect((await h.ledger.condemn({ ...opts, limit: 2 })).sort()).toEqual(
        [blobs[0]!, blobs[1]!].sort(),
      );
      expect(await h.ledger.condemn({ ...opts, limit: 2 })).toEqual([blobs[3]]);
    });

    it('makes a touch of a condemned blob wait for its deadline, and keeps its row through forget', async () => {
      const h = await fresh();
      const [kept, dropped] = [sha(), sha()];
      await h.ledger.touch([kept, dropped]);
      await h.age([kept, dropped], 2 * HOUR);
      const condemned = await h.ledger.condemn({
        graceMs: HOUR,
        deleteWithinMs: 30_000,
        limit: 10,
      });
      expect(condemned.sort()).toEqual([kept, dropped].sort());
      // Another node stores `kept` now: it must wait out gc's deadline, by the ledger's clock.
      const other = await h.connectAgain();
      const waits = await other.touch([kept]);
      expect(waits.get(kept)).toBeGreaterThan(25_000);
      expect(waits.get(kept)).toBeLessThanOrEqual(30_000);
      // gc deleted both objects; the touched row stays, the other goes.
      await h.ledger.forget([kept, dropped]);
      // A touch after forget starts a fresh row (no wait); the kept row still has its deadline.
      const after = await other.touch([kept, dropped]);
      expect(after.has(dropped)).toBe(false);
      expect(after.get(kept)).toBeGreaterThan(20_000);
      // Touched: no longer a candidate, whatever its deadline.
      expect(
        await h.ledger.condemn({
          graceMs: HOUR,
          deleteWithinMs: 1,
          limit: 10,
          only: [kept, dropped],
        }),
      ).toEqual([]);
    });

    it('makes a condemned blob whose deadline passed a candidate again', async () => {
      const h = await fresh();
      const blob = sha();
      await h.ledger.touch([blob]);
      await h.age([blob], 2 * HOUR);
      // The deadline must outlast the one query between the first two condemns, which can
      // take longer than 200 ms on a loaded 2-core machine (PostgreSQL especially).
      const opts = { graceMs: HOUR, limit: 10, deleteWithinMs: 1000 };
      expect(await h.ledger.condemn(opts)).toEqual([blob]);
      expect(await h.ledger.condemn(opts)).toEqual([]);
      await sleep(1200);
      // gc never got to it (a deferred deletion): a later run condemns it again.
      expect(await h.ledger.condemn(opts)).toEqual([blob]);
      // A touch after the deadline needs no wait.
      await sleep(1200);
      expect(await h.ledger.touch([blob])).toEqual(new Map());
    });

    it('forgets nothing it did not condemn, and takes empty lists', async () => {
      const h = await fresh();
      const blob = sha();
      await h.ledger.touch([blob]);
      await h.age([blob], 2 * HOUR);
      await h.ledger.forget([blob]);
      await h.ledger.forget([]);
      expect(await h.ledger.condemn({ graceMs: HOUR, deleteWithinMs: 60_000, limit: 10 })).toEqual([
        blob,
      ]);
    });

    it('never lets gc condemn a blob another node is touching without making that node wait (two connections racing)', async () => {
      const h = await fresh();
      const gc = h.ledger;
      const put = await h.connectAgain();
      const blobs = Array.from({ length: 40 }, sha);
      await gc.touch(blobs);
      await h.age(blobs, 2 * HOUR);
      let condemnedAndWaited = 0;
      let touchedFirst = 0;
      for (const blob of blobs) {
        const [condemned, waits] = await Promise.all([
          gc.condemn({ graceMs: HOUR, deleteWithinMs: 30_000, limit: 10, only: [blob] }),
          put.touch([blob]),
        ]);
        if (condemned.includes(blob)) {
          // gc went first: the put must wait out the deadline and upload again...
          expect(waits.get(blob), `blob ${blob}`).toBeGreaterThan(0);
          condemnedAndWaited += 1;
          // ...and gc's forget after its DELETE keeps the row the put needs.
          await gc.forget([blob]);
          expect((await put.touch([blob])).get(blob)).toBeGreaterThan(0);
        } else {
          // The put went first: the blob is fresh and needs no wait.
          expect(waits.has(blob), `blob ${blob}`).toBe(false);
          touchedFirst += 1;
        }
      }
      expect(condemnedAndWaited + touchedFirst).toBe(blobs.length);
    });
  });
}
