import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteBlobLedger } from '../../src/queue/sqlite/blobLedger/SqliteBlobLedger.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { blobLedgerConformance } from './blobLedger.suite.js';

// A queue database file per harness (its real migrations); connectAgain() opens the file
// again, as another process on the machine would.
blobLedgerConformance('sqlite', async (settings) => {
  const dir = mkdtempSync(join(tmpdir(), 'runbox-conformance-ledger-'));
  const config = { ...settings, dbPath: join(dir, 'runbox.db') };
  const queue = SqliteQueue.open(config);
  const opened = [queue];
  return {
    queue,
    ledger: new SqliteBlobLedger(queue.db),
    async connectAgain() {
      const again = SqliteQueue.open(config);
      opened.push(again);
      return new SqliteBlobLedger(again.db);
    },
    async refer(jobId, sha256) {
      queue.db.prepare('INSERT INTO job_blobs (job_id, sha256) VALUES (?, ?)').run(jobId, sha256);
    },
    async age(sha256s, ms) {
      const stmt = queue.db.prepare(
        'UPDATE blobs SET last_referenced_at = last_referenced_at - ? WHERE sha256 = ?',
      );
      for (const sha256 of sha256s) stmt.run(ms, sha256);
    },
    async dispose() {
      for (const q of opened) await q.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
