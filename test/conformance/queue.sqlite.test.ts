import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { queueConformance } from './queue.suite.js';

// Twice: as `runbox run` opens it, and with every finishAndClaim on the writer thread's
// own connection (a busy pool's process; everything else stays on the queue's).
for (const writerThread of [false, { startAtResults: 0, idleMs: 60_000 }]) {
  queueConformance(writerThread ? 'sqlite, writer thread' : 'sqlite', async (settings, options) => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-conformance-queue-'));
    const config = { ...settings, dbPath: join(dir, 'runbox.db') };
    const opened = [SqliteQueue.open(config, { ...options, writerThread })];
    return {
      backend: opened[0]!,
      async connectAgain() {
        const again = SqliteQueue.open(config, { ...options, writerThread });
        opened.push(again);
        return again;
      },
      async dispose() {
        for (const queue of opened) await queue.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}
