import { RunboxError } from '../../errors/index.js';

// Socket errors of a database that is down, restarting or unreachable.
const SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// SQLSTATEs of a server going away or not yet taking sessions: admin_shutdown (a fast
// or immediate stop), crash_shutdown, cannot_connect_now (starting up, in recovery).
const SERVER_GOING_CODES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03']);

// pg's own errors for a connection lost under it carry no code, only these words.
const LOST_CONNECTION =
  /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Client was closed)/;

/**
 * Whether an error means the queue database did not answer (down, restarting, failing
 * over, unreachable) rather than refused the statement: such an operation may succeed
 * once the database is back, and the caller's error should say so, not "Internal".
 */
export function isConnectionFailure(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (SOCKET_CODES.has(code) || SERVER_GOING_CODES.has(code) || code.startsWith('08')) {
        return true;
      }
    }
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && LOST_CONNECTION.test(message)) return true;
  }
  return false;
}

/**
 * A connection failure as StorageUnavailable (HTTP 503, CLI exit 69) naming the database
 * and queue.url; any other error unchanged. `where` is the URL without its password.
 */
export function asQueueUnavailable(error: unknown, where: string): unknown {
  if (error instanceof RunboxError || !isConnectionFailure(error)) return error;
  const reason = (error as { message?: unknown }).message;
  return new RunboxError(
    'StorageUnavailable',
    `the queue database (${where}) does not answer (${String(reason)}): start ` +
      'PostgreSQL there, or correct queue.url (--queue, RUNBOX_QUEUE)',
    { field: 'queue.url', cause: error },
  );
}

/**
 * What opening the queue failed on, as the setting to change and how: a database that
 * does not exist, a user or password the server refuses, SSL the server does not speak.
 * These are the operator's to fix, not retried, so InvalidConfig (exit 78), not
 * "Internal". Anything else, as asQueueUnavailable.
 */
export function asOpenError(error: unknown, where: string): unknown {
  if (error instanceof RunboxError) return error;
  const code = (error as { code?: unknown }).code;
  const reason = String((error as { message?: unknown }).message);
  const refuse = (fix: string) =>
    new RunboxError('InvalidConfig', `queue.url: ${where} refused runbox (${reason}): ${fix}`, {
      field: 'queue.url',
      cause: error,
    });
  if (code === '3D000') {
    return refuse(
      'create the database (createdb, or CREATE DATABASE), or name an existing one in ' +
        'queue.url (--queue, RUNBOX_QUEUE)',
    );
  }
  if (code === '28P01' || code === '28000') {
    return refuse(
      'correct the user or password in queue.url (--queue, RUNBOX_QUEUE; keep the ' +
        "password in the environment or the config file), or the server's pg_hba.conf",
    );
  }
  if (code === '42501') {
    return refuse(
      'grant the user CREATE on the database (runbox makes its schema at first start), ' +
        'or have an owner create the schema and grant it to the user',
    );
  }
  if (/SSL/.test(reason)) {
    return refuse('drop sslmode from queue.url, or enable SSL on the server');
  }
  return asQueueUnavailable(error, where);
}
