import { EXIT_CODES } from '../errors/index.js';

/**
 * Every exit code runbox uses, in the order `--help` and README list them. Codes that
 * come from an error type name it; a unit test checks that every code in EXIT_CODES has
 * a row here and a row in README.
 */
export const EXIT_CODE_ROWS: ReadonlyArray<{ code: string; meaning: string }> = [
  { code: '0', meaning: 'success (run, submit --wait: the job succeeded)' },
  {
    code: '1',
    meaning:
      "doctor: a check failed; outputs -o: a file was refused (a link out of DIR); run, submit --wait: the job's own exit code 1",
  },
  { code: '2-255', meaning: "run, submit --wait: the job's own non-zero exit code" },
  { code: '64', meaning: 'usage error: unknown flag, missing argument (UsageError)' },
  { code: '65', meaning: 'invalid job spec or body too large (InvalidSpec, PayloadTooLarge)' },
  { code: '66', meaning: 'no such job or output (NotFound)' },
  {
    code: '69',
    meaning:
      'image, Docker engine, server, blob store or the node running the job unavailable; a server that does not take the request (MethodNotAllowed)',
  },
  { code: '70', meaning: 'internal error (Internal)' },
  { code: '73', meaning: 'the job exceeded its output limits (OutputLimitExceeded)' },
  {
    code: '74',
    meaning:
      'the data disk is nearly full (InsufficientStorage); stdout could not be written (ENOSPC, EIO)',
  },
  {
    code: '75',
    meaning: 'try again: worker lost, conflict, stale attempt, too many failed logins',
  },
  { code: '76', meaning: "the job's result broke the contract (ContractViolation)" },
  { code: '77', meaning: 'missing or wrong token (Unauthorized), or refused (Forbidden)' },
  { code: '78', meaning: 'contract mismatch, newer database or bad configuration' },
  { code: '79', meaning: "a downloaded output's sha256 differs (ChecksumMismatch)" },
  {
    code: '80',
    meaning: 'contract check --require-label: the image has no label (ImageUnlabelled)',
  },
  { code: '124', meaning: 'the job timed out (Timeout)' },
  { code: '130', meaning: 'the job was cancelled (Cancelled)' },
  { code: '137', meaning: 'the job was killed for memory (OOMKilled)' },
];

/** The codes an error type maps to, for checking that the table covers them all. */
export function exitCodesInUse(): number[] {
  return [...new Set(Object.values(EXIT_CODES))].sort((a, b) => a - b);
}

export function exitCodeHelp(): string {
  const width = Math.max(...EXIT_CODE_ROWS.map((r) => r.code.length));
  return [
    'Exit codes:',
    ...EXIT_CODE_ROWS.map((r) => `  ${r.code.padEnd(width)}  ${r.meaning}`),
  ].join('\n');
}
