import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../src/queue/postgres/db.js';

// The by-position reading of PostgreSQL's timestamptz text must give what Date.parse of
// the same instant gives (microseconds truncated), and leave other forms to Date.parse.
describe('reading PostgreSQL timestamps', () => {
  it('gives epoch milliseconds for every fraction length, truncating microseconds', () => {
    const cases: Array<[string, string]> = [
      ['2026-11-30 03:56:36.689992+00', '2026-11-30T03:56:36.689Z'],
      ['2026-11-30 03:56:36.6+00', '2026-11-30T03:56:36.600Z'],
      ['2026-11-30 03:56:36.68+00', '2026-11-30T03:56:36.680Z'],
      ['2026-11-30 03:56:36.999999+00', '2026-11-30T03:56:36.999Z'],
      ['2026-11-30 03:56:36+00', '2026-11-30T03:56:36.000Z'],
      ['1970-01-01 00:00:00+00', '1970-01-01T00:00:00.000Z'],
      ['2000-02-29 23:59:59.5+00', '2000-02-29T23:59:59.500Z'],
      ['0150-06-01 12:00:00+00', '0150-06-01T12:00:00.000Z'],
    ];
    for (const [pg, iso] of cases) expect(parseTimestamp(pg), pg).toBe(Date.parse(iso));
  });

  it('reads other zones, infinities and two-digit years the general way', () => {
    expect(parseTimestamp('2026-11-30 03:56:36.5+02')).toBe(Date.parse('2026-11-30T01:56:36.500Z'));
    expect(parseTimestamp('2026-11-30 03:56:36+05:30')).toBe(Date.parse('2026-11-29T22:26:36Z'));
    expect(parseTimestamp('2026-11-30 03:56:36.123456')).toBe(
      Date.parse('2026-11-30T03:56:36.123Z'),
    );
    expect(parseTimestamp('infinity')).toBe(Number.POSITIVE_INFINITY);
    expect(parseTimestamp('-infinity')).toBe(Number.NEGATIVE_INFINITY);
    // Date.UTC would read year 50 as 1950.
    expect(parseTimestamp('0050-01-01 00:00:00+00')).toBe(Date.parse('0050-01-01T00:00:00Z'));
  });
});
