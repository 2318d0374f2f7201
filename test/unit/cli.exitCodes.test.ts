import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT_CODE_ROWS, exitCodeHelp, exitCodesInUse } from '../../src/cli/exitCodes.js';
import { parseDelay } from '../../src/cli/jobFlags.js';
import { EXIT_CODES, RunboxError } from '../../src/errors/index.js';

const covers = (row: string, code: number) => {
  const [low, high] = row.split('-').map(Number);
  return high === undefined ? low === code : code >= low! && code <= high;
};

describe('exit codes', () => {
  it('every code an error maps to is documented in --help and in README', () => {
    const readme = readFileSync('README.md', 'utf8');
    const readmeCodes = [...readme.matchAll(/^\| (\d+(?:[–-]\d+)?)\s+\|/gm)].map((m) =>
      m[1]!.replace('–', '-'),
    );
    for (const code of exitCodesInUse()) {
      expect(
        EXIT_CODE_ROWS.some((r) => covers(r.code, code)),
        `${code} in EXIT_CODE_ROWS`,
      ).toBe(true);
      expect(
        readmeCodes.some((r) => covers(r, code)),
        `${code} in README`,
      ).toBe(true);
    }
    for (const row of EXIT_CODE_ROWS) expect(readmeCodes, row.code).toContain(row.code);
    expect(exitCodeHelp()).toContain('79  ');
  });

  it("maps each error type README's table names in a row to that row's code", () => {
    // Documented rows alone did not hold the mapping: a type could move to another code
    // with both tables still listing every code in use.
    const readme = readFileSync('README.md', 'utf8');
    const named: Array<[string, number]> = [];
    for (const row of readme.matchAll(/^\| (\d+)\s+\| (.*?)\s*\|$/gm)) {
      for (const word of row[2]!.matchAll(/\b([A-Z][A-Za-z]+)\b/g)) {
        if (word[1]! in EXIT_CODES) named.push([word[1]!, Number(row[1])]);
      }
    }
    expect(named.length).toBeGreaterThanOrEqual(13);
    for (const [type, code] of named) {
      expect(EXIT_CODES[type as keyof typeof EXIT_CODES], type).toBe(code);
    }
    for (const [type, code] of named) {
      const row = EXIT_CODE_ROWS.find((r) => r.code === String(code))!;
      expect(row.meaning, type).toContain(type);
    }
  });
});

describe('--delay', () => {
  it('reads 30s, 5m, 1h30m, 250ms and bare seconds; refuses anything else as a usage error', () => {
    expect(parseDelay('30s')).toBe(30_000);
    expect(parseDelay('5m')).toBe(300_000);
    expect(parseDelay('1h30m')).toBe(5_400_000);
    expect(parseDelay('250ms')).toBe(250);
    expect(parseDelay('90')).toBe(90_000);
    for (const bad of ['soon', '', '5x', '1h 30m', '-5s', '1 h']) {
      expect(() => parseDelay(bad), bad).toThrow(RunboxError);
      try {
        parseDelay(bad);
      } catch (error) {
        expect((error as RunboxError).type).toBe('UsageError');
      }
    }
  });
});
