import { existsSync, readFileSync } from 'node:fs';

/**
 * True when a live process of that pid exists on this host. Where /proc exists its
 * stat line decides: a zombie (Z, killed but not yet waited for by its parent) or a
 * dying task (X) answers kill(pid, 0) like a live one, yet holds no lease it can renew
 * and no container it can finish; taking it for alive kept its containers from being
 * adopted until its heartbeat aged out. Elsewhere kill(pid, 0) is all there is.
 *
 * A pid reused by another process still reads alive: the worker registry keeps the
 * row's registration time by the database's clock (another host's, with PostgreSQL),
 * not the process's start time in this host's boot ticks, so the two cannot be
 * compared safely; calling a live worker dead would run its jobs twice, while the
 * cost of the miss is only waiting for its heartbeat to age out (workerDeadMs).
 */
export function pidAlive(pid: number, procRoot = '/proc'): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  const state = procState(pid, procRoot);
  if (state !== undefined) return state !== null && !DEAD_STATES.has(state);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Z zombie, X dead (x on kernels before 3.x). */
const DEAD_STATES = new Set(['Z', 'X', 'x']);

/**
 * The state letter of /proc/<pid>/stat; null when /proc exists and the pid does not;
 * undefined when there is no /proc to ask (then kill(pid, 0) decides).
 */
function procState(pid: number, procRoot: string): string | null | undefined {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code === 'ENOENT' || code === 'ESRCH') && existsSync(`${procRoot}/self/stat`)) return null;
    return undefined;
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses; the state follows the last ')'.
  const close = stat.lastIndexOf(')');
  const state = close >= 0 ? stat.charAt(close + 2) : '';
  return state === '' ? undefined : state;
}
