import { TypeCompiler } from '@sinclair/typebox/compiler';
import { JobResultSchema, type JobResult } from './resultSchema.js';

const compiled = TypeCompiler.Compile(JobResultSchema);

export interface ContractProblem {
  /** JSON pointer of the field at fault, e.g. `/metrics/stage_times` */
  path: string;
  message: string;
}

/**
 * Checks a result against this build's contract. Returns the problems found, most
 * specific first; an empty list means the result may be recorded.
 */
export function checkResult(value: unknown): ContractProblem[] {
  if (compiled.Check(value)) return [];
  const problems: ContractProblem[] = [];
  for (const error of compiled.Errors(value)) {
    problems.push({ path: error.path || '/', message: describe(error.message, error.value) });
    if (problems.length >= 20) break;
  }
  return problems;
}

function describe(message: string, value: unknown): string {
  if (value === undefined && /Expected required property/i.test(message)) {
    return 'required property missing';
  }
  return message;
}

export function isJobResult(value: unknown): value is JobResult {
  return compiled.Check(value);
}
