import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { blobGraceMs } from '../../src/maintenance/retentionSweep.js';

describe('the blob grace period of garbage collection', () => {
  it('defaults to twice the default timeout plus ten minutes', () => {
    const config = loadConfig({ env: {}, overrides: { defaults: { timeoutSeconds: 60 } } });
    expect(config.blobGraceMs).toBeNull();
    expect(blobGraceMs(config)).toBe(2 * 60_000 + 10 * 60_000);
  });

  it('follows config.blobGraceMs when it is set, 0 included', () => {
    expect(blobGraceMs(loadConfig({ env: {}, overrides: { blobGraceMs: 0 } }))).toBe(0);
    expect(blobGraceMs(loadConfig({ env: {}, overrides: { blobGraceMs: 5000 } }))).toBe(5000);
  });

  it('refuses a negative or non-numeric grace, naming the field', () => {
    for (const bad of [-1, Number.NaN, '10' as unknown as number]) {
      expect(() => loadConfig({ env: {}, overrides: { blobGraceMs: bad } })).toThrow(
        expect.objectContaining({ type: 'InvalidConfig', field: 'blobGraceMs' }),
      );
    }
  });
});
