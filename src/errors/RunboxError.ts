/**
 * Every error runbox raises on purpose. `type` is stable (clients and tests match on
 * it); `message` is for people and says what to do; `field` names the input at fault.
 * The CLI maps `type` to an exit code and the API to a status code (see codes.ts), so
 * no caller decides those by hand.
 */
export type ErrorType =
  // Job outcomes (they appear in a job's result.error.type)
  | 'NonZeroExit'
  | 'Timeout'
  | 'OOMKilled'
  | 'ImageUnavailable'
  | 'ImageContractMismatch'
  | 'InvalidSpec'
  | 'ContractViolation'
  | 'OutputLimitExceeded'
  | 'WorkerLost'
  | 'Cancelled'
  | 'EngineUnavailable'
  | 'Internal'
  // Operational errors (requests, startup, configuration)
  | 'ContractMismatch'
  | 'SchemaTooNew'
  | 'InvalidConfig'
  | 'NotFound'
  // A route that exists, asked with a method it does not take (405, with Allow)
  | 'MethodNotAllowed'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MisdirectedRequest'
  | 'Conflict'
  | 'PayloadTooLarge'
  | 'InsufficientStorage'
  | 'StaleAttempt'
  | 'ServerUnavailable'
  // Too many failed logins from one address: wait Retry-After seconds
  | 'TooManyRequests'
  // Another node holding a job (its live log) does not answer
  | 'NodeUnreachable'
  // The shared blob store (S3) does not answer a read: try again once it is back
  | 'StorageUnavailable'
  // CLI only: bad flags or arguments; a downloaded output that does not match its sha256
  | 'UsageError'
  | 'ChecksumMismatch'
  // contract check --require-label: an image with no contract label at all
  | 'ImageUnlabelled';

export interface RunboxErrorOptions {
  field?: string | null;
  cause?: unknown;
}

export class RunboxError extends Error {
  readonly type: ErrorType;
  readonly field: string | null;

  constructor(type: ErrorType, message: string, options: RunboxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RunboxError';
    this.type = type;
    this.field = options.field ?? null;
  }

  toJSON(): { type: ErrorType; message: string; field: string | null } {
    return { type: this.type, message: this.message, field: this.field };
  }
}
