import { RunboxError } from '../../errors/index.js';

export function notFound(sha256: string, cause?: unknown): RunboxError {
  return new RunboxError('NotFound', `no blob ${sha256} in the store`, { field: 'sha256', cause });
}

/** Errors that say the object changed between the HEAD and a GET (see getStream). */
const staleErrors = new WeakSet<Error>();

export function staleRead(sha256: string, cause?: unknown): RunboxError {
  const error = new RunboxError(
    'Internal',
    `blob ${sha256} was stored again while it was being read; read it again`,
    { cause },
  );
  staleErrors.add(error);
  return error;
}

/**
 * Opens (or reads an object's facts) again once when the object changed under it: every
 * GET of an open happens before the stream is handed out, so no byte has been served yet.
 * Twice in a row is reported (something keeps rewriting the key).
 */
export async function retryStale<T>(open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    if (!(error instanceof Error) || !staleErrors.has(error)) throw error;
    return await open();
  }
}
