import { RunboxError } from './RunboxError.js';

/** Two components disagree on the result contract; runbox refuses to go on (exit 78). */
export class ContractMismatchError extends RunboxError {
  constructor(message: string, field: string | null = null) {
    super('ContractMismatch', message, { field });
    this.name = 'ContractMismatchError';
  }
}
