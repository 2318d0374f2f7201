import type { ErrorType } from './RunboxError.js';

/**
 * The one mapping from error type to CLI exit code. sysexits.h codes where one fits;
 * Timeout and OOMKilled follow timeout(1) and the shell's 128+SIGKILL.
 */
export const EXIT_CODES: Record<ErrorType, number> = {
  NonZeroExit: 1,
  Timeout: 124,
  OOMKilled: 137,
  ImageUnavailable: 69,
  ImageContractMismatch: 78,
  InvalidSpec: 65,
  ContractViolation: 76,
  OutputLimitExceeded: 73,
  WorkerLost: 75,
  Cancelled: 130,
  EngineUnavailable: 69,
  Internal: 70,
  ContractMismatch: 78,
  SchemaTooNew: 78,
  InvalidConfig: 78,
  NotFound: 66,
  MethodNotAllowed: 69,
  Unauthorized: 77,
  Forbidden: 77,
  MisdirectedRequest: 78,
  Conflict: 75,
  PayloadTooLarge: 65,
  InsufficientStorage: 74,
  StaleAttempt: 75,
  ServerUnavailable: 69,
  TooManyRequests: 75,
  NodeUnreachable: 69,
  StorageUnavailable: 69,
  UsageError: 64,
  ChecksumMismatch: 79,
  // Not a sysexits code: a CI gate must tell "no label at all" from "incompatible" (78).
  ImageUnlabelled: 80,
};

/** The one mapping from error type to HTTP status for API answers. */
export const HTTP_STATUS: Record<ErrorType, number> = {
  NonZeroExit: 500,
  Timeout: 500,
  OOMKilled: 500,
  ImageUnavailable: 503,
  ImageContractMismatch: 409,
  InvalidSpec: 400,
  ContractViolation: 500,
  OutputLimitExceeded: 500,
  WorkerLost: 500,
  Cancelled: 409,
  EngineUnavailable: 503,
  Internal: 500,
  ContractMismatch: 409,
  SchemaTooNew: 500,
  InvalidConfig: 500,
  NotFound: 404,
  MethodNotAllowed: 405,
  Unauthorized: 401,
  Forbidden: 403,
  MisdirectedRequest: 421,
  Conflict: 409,
  PayloadTooLarge: 413,
  InsufficientStorage: 507,
  StaleAttempt: 409,
  ServerUnavailable: 503,
  TooManyRequests: 429,
  NodeUnreachable: 503,
  StorageUnavailable: 503,
  UsageError: 400,
  ChecksumMismatch: 502,
  ImageUnlabelled: 409,
};

/** Exit code for a configuration/contract refusal (sysexits EX_CONFIG). */
export const EX_CONFIG = 78;
