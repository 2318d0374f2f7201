export { RunboxError, type ErrorType, type RunboxErrorOptions } from './RunboxError.js';
export { InvalidSpecError } from './InvalidSpecError.js';
export { ContractMismatchError } from './ContractMismatchError.js';
export { coerceError, toRunboxError } from './coerceError.js';
export { EXIT_CODES, HTTP_STATUS, EX_CONFIG } from './codes.js';
