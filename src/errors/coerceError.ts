import { RunboxError } from './RunboxError.js';

/** Turns anything thrown into an Error, so it can be logged and recorded alike. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(`Non-error thrown: ${JSON.stringify(thrown)}`);
  } catch {
    return new Error(`Non-error thrown: ${String(thrown)}`);
  }
}

/** The runbox view of any error: its own type, or Internal for the unexpected. */
export function toRunboxError(thrown: unknown): RunboxError {
  if (thrown instanceof RunboxError) return thrown;
  const error = coerceError(thrown);
  return new RunboxError('Internal', error.message, { cause: error });
}
