import { PostgresQueue } from '../../src/queue/postgres/PostgresQueue.js';
import type { QueueBackend } from '../../src/queue/QueueBackend.js';
import { freshDatabase } from '../helpers/postgres.js';
import { queueConformance } from './queue.suite.js';

// The same suite as SQLite's, against the private test PostgreSQL (scripts/test-postgres):
// a fresh database per harness, each connectAgain() a second node's pool on it.
queueConformance('PostgreSQL queue', async (settings, options) => {
  const db = await freshDatabase('runbox_conf');
  const opened: QueueBackend[] = [];
  const open = async () => {
    const queue = await PostgresQueue.open(db.url, settings, options);
    opened.push(queue);
    return queue;
  };
  const backend = await open();
  return {
    backend,
    connectAgain: open,
    dispose: async () => {
      for (const queue of opened) await queue.close();
      await db.drop();
    },
  };
});
