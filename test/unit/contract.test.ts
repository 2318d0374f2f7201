import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkCompatibility,
  contractLabelValue,
  formatReport,
  parseContractLabel,
} from '../../src/contract/compatibility.js';
import { CONTRACT_VERSION, CURRENT_CONTRACT, fingerprintOf } from '../../src/contract/contract.js';
import { checkResult } from '../../src/contract/validateResult.js';
import { validResult } from '../helpers/results.js';

const fixture = (name: string) => JSON.parse(readFileSync(`fixtures/contracts/${name}`, 'utf8'));

describe('the result contract', () => {
  it('committed current.json matches this build, so a schema change without a version bump fails here', () => {
    const committed = fixture('current.json');
    expect(committed.version).toBe(CONTRACT_VERSION);
    expect(committed.fingerprint).toBe(CURRENT_CONTRACT.fingerprint);
  });

  it('fingerprint ignores key order', () => {
    expect(fingerprintOf({ a: 1, b: { c: 2, d: 3 } })).toBe(
      fingerprintOf({ b: { d: 3, c: 2 }, a: 1 }),
    );
    expect(fingerprintOf({ a: 1 })).not.toBe(fingerprintOf({ a: 2 }));
  });

  it('accepts a complete result and names the path of a missing stage_times', () => {
    expect(checkResult(validResult())).toEqual([]);
    const broken = validResult() as unknown as { metrics: Record<string, unknown> };
    delete broken.metrics.stage_times;
    const problems = checkResult(broken);
    expect(problems[0]).toEqual({
      path: '/metrics/stage_times',
      message: 'required property missing',
    });
  });

  it('rejects a legacy flat-metrics result instead of recording an empty one', () => {
    const legacy = { ...validResult(), GENERATION_TIME_SEC: 1.2 } as Record<string, unknown>;
    delete legacy.metrics;
    const paths = checkResult(legacy).map((p) => p.path);
    expect(paths).toContain('/metrics');
    expect(paths).toContain('/GENERATION_TIME_SEC');
  });
});

describe('compatibility', () => {
  it('the current contract is compatible with itself', () => {
    const report = checkCompatibility(fixture('current.json'));
    expect(report.compatible).toBe(true);
    expect(report.differences).toEqual([]);
  });

  it('a legacy 3-field shape is refused, naming the missing fields and the changed types', () => {
    const report = checkCompatibility(fixture('legacy-3-field.json'));
    expect(report.compatible).toBe(false);
    expect(report.reasons.join('\n')).toMatch(
      /major version differs: this build 1\.1\.0, the other 0\.3\.0/,
    );
    const byPath = Object.fromEntries(report.differences.map((d) => [d.path, d.kind]));
    expect(byPath['/outputs']).toBe('missing');
    expect(byPath['/metrics']).toBe('missing');
    expect(byPath['/stdout']).toBe('type-changed');
  });

  it('a legacy flat-metrics shape is refused, naming metrics and the flat fields', () => {
    const report = checkCompatibility(fixture('legacy-flat-metrics.json'));
    expect(report.compatible).toBe(false);
    const text = formatReport(report, 'legacy');
    expect(text).toMatch(/\/metrics/);
    expect(text).toMatch(/GENERATION_TIME_SEC/);
  });

  it('same version with another fingerprint is an error and the rename is spotted', () => {
    const report = checkCompatibility(fixture('same-version-different-fingerprint.json'));
    expect(report.compatible).toBe(false);
    expect(report.reasons[0]).toMatch(/same version 1\.1\.0 but a different fingerprint/);
    expect(report.differences).toContainEqual(
      expect.objectContaining({ path: '/metrics/stage_times', kind: 'renamed' }),
    );
  });

  it('a label without a schema is judged by version: older minor ok, newer minor or other major refused', () => {
    const base = { name: CURRENT_CONTRACT.name, fingerprint: 'x' };
    expect(checkCompatibility({ ...base, version: '1.0.0', fingerprint: 'y' }).compatible).toBe(
      true,
    );
    expect(checkCompatibility({ ...base, version: '1.9.0' }).compatible).toBe(false);
    expect(checkCompatibility({ ...base, version: '2.0.0' }).compatible).toBe(false);
    expect(checkCompatibility({ ...base, version: CURRENT_CONTRACT.version }).compatible).toBe(
      false,
    );
  });

  it('image labels round-trip', () => {
    expect(parseContractLabel(contractLabelValue())).toEqual({
      name: CURRENT_CONTRACT.name,
      version: CURRENT_CONTRACT.version,
      fingerprint: CURRENT_CONTRACT.fingerprint,
    });
    expect(parseContractLabel('nonsense')).toBeNull();
  });
});
