import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTRACT_VERSION, fingerprintOf } from '../../src/contract/contract.js';

interface ContractFile {
  name: string;
  version: string;
  fingerprint: string;
  schema: { required?: string[]; properties: Record<string, { required?: string[] }> };
}

const DIR = 'fixtures/contracts';
const read = (name: string) => JSON.parse(readFileSync(`${DIR}/${name}`, 'utf8')) as ContractFile;

describe('the committed contract fixtures are the shapes they claim to be', () => {
  it.each(readdirSync(DIR).filter((f) => f.endsWith('.json')))(
    '%s carries the fingerprint of its own schema, so a test using it tests the rule, not a typo',
    (file) => {
      const contract = read(file);
      expect(contract.name).toBe('runbox.result');
      expect(contract.fingerprint).toBe(fingerprintOf(contract.schema));
    },
  );

  it('legacy-3-field is exit_code, stdout, stderr and nothing else (no outputs)', () => {
    const { schema } = read('legacy-3-field.json');
    expect(Object.keys(schema.properties).sort()).toEqual(['exit_code', 'stderr', 'stdout']);
  });

  it('legacy-flat-metrics has GENERATION_TIME_SEC and friends at top level and no stage_times anywhere', () => {
    const contract = read('legacy-flat-metrics.json');
    expect(contract.schema.required).toEqual(
      expect.arrayContaining(['GENERATION_TIME_SEC', 'TOTAL_TIME_SEC', 'PEAK_MEMORY_MB']),
    );
    expect(contract.schema.properties.metrics).toBeUndefined();
    expect(JSON.stringify(contract.schema)).not.toContain('stage_times');
  });

  it('same-version-different-fingerprint has this build’s version (regenerate it when the version is bumped)', () => {
    const contract = read('same-version-different-fingerprint.json');
    expect(contract.version).toBe(CONTRACT_VERSION);
    expect(contract.fingerprint).not.toBe(read('current.json').fingerprint);
  });
});
