import { RunboxError, type ErrorType } from '../../../errors/index.js';
import type { RetrySettings } from '../../retryPolicy.js';
import type { ClaimedJob, ClaimRequest, FinishItem, FinishOutcome } from '../../types.js';

/*
 * What the queue (WriterThread.ts) and its writer thread (threadMain.ts) say to each
 * other. Plain data only: messages are structured clones.
 */

/** What the thread is started with. */
export interface WriterData {
  dbPath: string;
  /** better-sqlite3's .node file, loaded in the thread with process.dlopen. */
  bindingPath: string;
  busyTimeoutMs: number;
  leaseMs: number;
  retry: RetrySettings;
  contractVersion: string;
}

/**
 * One finish-and-claim. `now` and the random draws come from the queue's side, whose
 * clock and jitter source (tests move and fix them) the thread does not have: one draw
 * per failed result, the most a retry decision takes.
 */
export interface WriterTask {
  id: number;
  items: readonly FinishItem[];
  claim: ClaimRequest;
  now: number;
  randoms: number[];
}

export type WriterReply =
  | { ready: true }
  | { id: number; value: { outcomes: FinishOutcome[]; claimed: ClaimedJob[] } }
  | { id: number; error: SerializedError };

/** An error as it crosses the thread: what callers match on (type, code) survives. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  type?: ErrorType;
  field?: string | null;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof RunboxError) {
    return { name: error.name, message: error.message, type: error.type, field: error.field };
  }
  const e = error as { name?: unknown; message?: unknown; code?: unknown } | null;
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(error),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
  };
}

export function deserializeError(error: SerializedError): Error {
  if (error.type !== undefined) {
    return new RunboxError(error.type, error.message, { field: error.field ?? null });
  }
  const revived = new Error(error.message) as Error & { code?: string };
  revived.name = error.name;
  if (error.code !== undefined) revived.code = error.code;
  return revived;
}
