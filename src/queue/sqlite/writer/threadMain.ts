import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CommitBatcher } from '../CommitBatcher.js';
import { configureConnection } from '../db.js';
import { finishAndClaimJobs } from '../finishAndClaimJobs.js';
import { serializeError, type WriterData, type WriterReply, type WriterTask } from './protocol.js';

/*
 * The writer thread's entry (bundled on its own: writerSource.ts). It owns a second
 * connection to the queue's file and records results and claims there, so that SQLite's
 * work on the pool's hot path runs on another core than the pool's JavaScript. Tasks
 * that arrive together share one commit (CommitBatcher, each in its own savepoint).
 * A `close` message commits what is pending and closes the connection; the thread then
 * ends on its own.
 */
const data = workerData as WriterData;
const port = parentPort!;

const addon = { exports: {} as object };
process.dlopen(addon, data.bindingPath);
const db = new Database(data.dbPath, {
  fileMustExist: true,
  timeout: data.busyTimeoutMs,
  // better-sqlite3 takes the loaded addon as well as a path; its types know only the path.
  nativeBinding: addon.exports as unknown as string,
});
configureConnection(db);
const batcher = new CommitBatcher(db, { windowMs: 0 });

function reply(message: WriterReply): void {
  port.postMessage(message);
}

port.on('message', (message: WriterTask | { close: true }) => {
  if ('close' in message) {
    batcher.close();
    db.close();
    // After the answers of the tasks just committed, which go out as their promises settle.
    setImmediate(() => port.close());
    return;
  }
  const randoms = message.randoms;
  let drawn = 0;
  batcher
    .run(
      (conn) =>
        finishAndClaimJobs(conn, message.items, message.claim, {
          now: message.now,
          leaseMs: data.leaseMs,
          retry: data.retry,
          contractVersion: data.contractVersion,
          random: () => randoms[drawn++] ?? Math.random(),
        }),
      { atOnce: true },
    )
    .then(
      (value) => reply({ id: message.id, value }),
      (error: unknown) => reply({ id: message.id, error: serializeError(error) }),
    );
});
reply({ ready: true });
