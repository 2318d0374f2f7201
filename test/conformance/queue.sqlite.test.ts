import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { queueConformance } from './queue.suite.js';

queueConformance('sqlite', async (settings, options) => {
  const dir = mkdtempSync(join(tmpdir(), 'runbox-conformance-queue-'));
  const config = { ...settings, dbPath: join(dir, 'runbox.db') };
  const opened = [SqliteQueue.open(config, options)];
  return {
    backend: opened[0]!,
    async connectAgain() {
      const again = SqliteQueue.open(config, options);
      opened.push(again);
      return again;
    },
    async dispose() {
      for (const queue of opened) await queue.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
