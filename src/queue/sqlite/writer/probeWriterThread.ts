import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { betterSqliteBindingPath } from '../../../native/addons.js';
import { WriterThread } from './WriterThread.js';

/**
 * Starts a writer thread on an empty scratch database and stops it again, for `runbox
 * doctor`: what a busy pool would start (the thread's script, better-sqlite3's addon
 * loaded in a thread; inside the binary, the extracted one). Resolves with the time it
 * took to start; rejects with why it cannot.
 */
export async function probeWriterThread(timeoutMs = 10_000): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'runbox-writer-probe-'));
  let thread: WriterThread | undefined;
  try {
    const dbPath = join(dir, 'probe.db');
    // An empty file is an empty database to SQLite; the thread opens only what exists.
    writeFileSync(dbPath, '');
    let failure: Error | undefined;
    const started = performance.now();
    thread = new WriterThread(
      {
        dbPath,
        bindingPath: betterSqliteBindingPath(),
        busyTimeoutMs: 1000,
        leaseMs: 1000,
        retry: { baseMs: 1000, capMs: 1000 },
        contractVersion: 'probe',
      },
      (error) => (failure = error),
    );
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      thread.ready,
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    if (!ok) throw failure ?? new Error(`it did not start within ${timeoutMs} ms`);
    return performance.now() - started;
  } finally {
    if (thread?.usable) await thread.close();
    else thread?.terminate();
    rmSync(dir, { recursive: true, force: true });
  }
}
