import { describe, expect, it } from 'vitest';
import { closestField } from '../../src/spec/unknownField.js';

const KNOWN = [
  'timeout_seconds',
  'max_attempts',
  'retry_on_exit_codes',
  'env',
  'secret_env',
  'args',
];

describe('closestField', () => {
  it('finds the field a name without its last word, in camelCase or kebab-case, or one typo away stands for', () => {
    expect(closestField('timeout', KNOWN)).toBe('timeout_seconds');
    expect(closestField('retry_on_exit', KNOWN)).toBe('retry_on_exit_codes');
    expect(closestField('maxAttempts', KNOWN)).toBe('max_attempts');
    expect(closestField('max-attempts', KNOWN)).toBe('max_attempts');
    expect(closestField('MAX_ATTEMPTS', KNOWN)).toBe('max_attempts');
    expect(closestField('max_atempts', KNOWN)).toBe('max_attempts');
    expect(closestField('secret-envs', KNOWN)).toBe('secret_env');
  });

  it('suggests nothing for a name far from every field, and asks more of short names', () => {
    expect(closestField('retries', KNOWN)).toBeNull();
    expect(closestField('', KNOWN)).toBeNull();
    expect(closestField('xyz', KNOWN)).toBeNull();
    // "ens" is one edit from env; "ax" is two from args, too far for a short name.
    expect(closestField('ens', KNOWN)).toBe('env');
    expect(closestField('ax', KNOWN)).toBeNull();
  });

  it('suggests nothing when a prefix fits several fields', () => {
    expect(closestField('retry', ['retry_base_ms', 'retry_cap_ms'])).toBeNull();
  });
});
