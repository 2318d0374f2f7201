import { posix } from 'node:path';
import { InvalidSpecError } from '../errors/index.js';
import { shownValue } from '../shownValue.js';

/**
 * Checks a requested output path. The router has decoded it once; anything that could
 * still mean "somewhere else" (.., absolute, backslashes, NUL, a second layer of
 * percent-encoding) is refused with 400 before it is looked up. Only manifest entries
 * are ever served, so this is defence in depth and a clear answer, not the only wall.
 */
export function checkOutputPath(raw: string): string {
  const fail = (why: string): never => {
    throw new InvalidSpecError(
      'path',
      `${shownValue(raw)} ${why}; give a path from the job's output manifest`,
    );
  };
  if (raw.length === 0) fail('is empty');
  if (raw.includes('\0')) fail('contains a NUL byte');
  if (raw.includes('\\')) fail('contains a backslash');
  if (raw.startsWith('/')) fail('is absolute');
  if (/%(2e|2f|5c|00|25)/i.test(raw)) fail('is still percent-encoded');
  const segments = raw.split('/');
  if (segments.some((s) => s === '..' || s === '.' || s === ''))
    fail('has an empty, "." or ".." segment');
  if (posix.normalize(raw) !== raw) fail('is not a normal path');
  return raw;
}
