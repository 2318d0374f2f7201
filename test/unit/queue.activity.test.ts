import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { activityView } from '../../src/api/activityView.js';
import { cancelJob } from '../../src/queue/sqlite/cancelJob.js';
import { claimJobs } from '../../src/queue/sqlite/claimJobs.js';
import { enqueueJobs } from '../../src/queue/sqlite/enqueueJobs.js';
import { finishJobs } from '../../src/queue/sqlite/finishJobs.js';
import { openDatabase } from '../../src/queue/sqlite/openDatabase.js';
import { readActivity } from '../../src/queue/sqlite/readActivity.js';
import { validResult } from '../helpers/results.js';

const dir = mkdtempSync(join(tmpdir(), 'runbox-activity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MIN = 60_000;
// Far in the future of any other test's clock: ids made here keep their own time.
const T0 = Date.UTC(2031, 0, 1, 12, 0, 0);
const item = { spec: { runtime: 'shell', command: ['true'] }, maxAttempts: 1 };

describe('queue activity over the last hour', () => {
  it('counts submitted, dequeued and finished jobs per minute and walks the depth back', () => {
    const { db } = openDatabase(join(dir, 'a.db'));
    try {
      // 70 minutes ago, outside the window, last in line: queued throughout.
      enqueueJobs(db, [{ ...item, priority: 10 }], T0 - 70 * MIN);
      // 30 minutes ago: three submitted; two claimed 10 minutes ago, one cancelled while queued.
      const recent = enqueueJobs(db, [item, item, item], T0 - 30 * MIN).map((o) => o.job.id);
      const claimed = claimJobs(db, {
        workerId: 'w',
        limit: 2,
        leaseMs: 3_600_000,
        now: T0 - 10 * MIN,
      });
      expect(claimed.map((j) => j.id).sort()).toEqual(recent.slice(0, 2).sort());
      const leftover = recent[2]!;
      cancelJob(db, leftover, T0 - 5 * MIN);
      // One finishes 2 minutes ago; the other still runs.
      const [done] = claimed;
      finishJobs(db, [{ id: done!.id, token: done!.token, result: validResult() }], {
        now: T0 - 2 * MIN,
        retry: { baseMs: 1, capMs: 1 },
        contractVersion: '1.0.0',
        random: () => 0.5,
      });

      const buckets = readActivity(db, { now: T0 + 30_000 });
      expect(buckets).toHaveLength(60);
      expect(buckets[59]!.start).toBe(T0);
      const at = (minutesAgo: number) => buckets[59 - minutesAgo]!;
      expect(at(30)).toMatchObject({ submitted: 3, dequeued: 0 });
      expect(at(10)).toMatchObject({ dequeued: 2 });
      expect(at(5)).toMatchObject({ dequeued: 1, cancelled: 1 });
      expect(at(2)).toMatchObject({ succeeded: 1 });
      expect(buckets.reduce((n, b) => n + b.submitted, 0)).toBe(3);
      // Depth: 1 (the old job) before, 4 after the three arrive, 2 after the claims, 1 now.
      expect(at(31).queued).toBe(1);
      expect(at(30).queued).toBe(4);
      expect(at(10).queued).toBe(2);
      expect(at(5).queued).toBe(1);
      expect(at(0).queued).toBe(1);

      const view = activityView(buckets);
      expect(view.bucket_seconds).toBe(60);
      expect(view.buckets[59]!.start).toBe(new Date(T0).toISOString());
    } finally {
      db.close();
    }
  });

  it('answers sixty empty buckets for an empty queue', () => {
    const { db } = openDatabase(join(dir, 'b.db'));
    try {
      const buckets = readActivity(db, { now: T0 });
      expect(buckets).toHaveLength(60);
      expect(buckets.every((b) => b.submitted + b.dequeued + b.queued === 0)).toBe(true);
    } finally {
      db.close();
    }
  });
});
