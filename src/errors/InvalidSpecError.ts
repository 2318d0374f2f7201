import { RunboxError } from './RunboxError.js';

/** A job spec or request body that cannot be run; raised before anything is created. */
export class InvalidSpecError extends RunboxError {
  constructor(field: string, message: string) {
    super('InvalidSpec', `${field}: ${message}`, { field });
    this.name = 'InvalidSpecError';
  }
}
