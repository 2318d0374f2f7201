import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Logger } from '../log.js';

/** How often refused connections are mentioned while a flood goes on. */
const WARN_EVERY_MS = 60_000;

/** The soft open-files limit of this process (Linux), or null when unknown or unlimited. */
export function openFilesLimit(
  read: () => string = () => readFileSync('/proc/self/limits', 'utf8'),
): number | null {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(read());
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The most client connections the API holds at once. 'auto' keeps half the process's
 * file descriptors for everything else: with none left, a client holding idle sockets
 * made every job fail (`connect EMFILE /var/run/docker.sock`, all attempts) while
 * /healthz said ok.
 */
export function connectionCap(setting: number | 'auto', limit = openFilesLimit()): number {
  if (setting !== 'auto') return setting;
  return limit === null ? 10_000 : Math.max(16, Math.floor(limit / 2));
}

/** Past `cap`, Node closes each new connection as it is accepted; said once a minute. */
export function capConnections(server: Server, cap: number, log: Logger, now = Date.now): void {
  server.maxConnections = cap;
  let refused = 0;
  let saidAt = -Infinity;
  server.on('drop', () => {
    refused++;
    if (now() - saidAt < WARN_EVERY_MS) return;
    saidAt = now();
    log.warn('client connections refused: the API holds limits.connections already', {
      limit: cap,
      refused,
    });
    refused = 0;
  });
}
