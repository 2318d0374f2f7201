import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutputPath } from '../../src/api/outputPath.js';
import { loadConfig } from '../../src/config.js';
import { RunboxError } from '../../src/errors/index.js';
import { judgeImageLabels } from '../../src/executor/imageContract.js';
import { canonicalJobId } from '../../src/queue/ids.js';
import { canonicalTimezone, parseCron } from '../../src/schedules/cron.js';
import { checkScheduleName } from '../../src/schedules/ScheduleService.js';
import { shownValue } from '../../src/shownValue.js';
import { parseJobSpec } from '../../src/spec/parseJobSpec.js';

/**
 * Values a message quotes back: cut between characters, never inside a surrogate pair,
 * and never whole when a stranger can make them as long as they like. Each message is
 * tried with 200 emoji (a cut at an odd offset splits one) and with 10 kB of text.
 */

const EMOJI = '😀'.repeat(200);
const TEN_KB = 'x'.repeat(10_000);
/** 200 emoji at an even and an odd offset, and 10 kB. */
const VALUES = [EMOJI, `a${EMOJI}`, TEN_KB];
/** No lone surrogate: with the u flag a pair is one code point, so \p{Cs} matches only a half. */
const wellFormed = (text: string) => !/\p{Cs}/u.test(text);
/** Longer than any message quoting a value needs, far shorter than the value. */
const BOUND = 400;

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RunboxError);
    return (error as RunboxError).message;
  }
  throw new Error('expected a refusal');
}

function expectBounded(message: string, value: string): void {
  expect(wellFormed(message), message).toBe(true);
  expect(message.length, message).toBeLessThan(BOUND);
  // Characters as a schema's maxLength counts them: code points, not UTF-16 units.
  expect(message).toContain(`(${[...value].length} characters)`);
}

describe('shownValue', () => {
  it('quotes a short value whole and cuts a long one between characters, saying how long it was', () => {
    expect(shownValue('short')).toBe('"short"');
    expect(shownValue(Number.NaN)).toBe('NaN');
    expect(shownValue(TEN_KB)).toBe(`"${'x'.repeat(49)}… (10000 characters)`);
    // Every offset of a cut through a string of emoji: never half of one.
    for (let pad = 0; pad < 4; pad++) {
      const shown = shownValue('a'.repeat(pad) + EMOJI);
      expect(wellFormed(shown), shown).toBe(true);
      expect(shown.length).toBeLessThan(70);
    }
    expect(shownValue(EMOJI)).toBe(`"${'😀'.repeat(24)}… (200 characters)`);
    expect(shownValue(Array.from({ length: 100 }, (_, i) => i))).toBe('an array of 100 items');
  });
});

describe('a job id', () => {
  it('is taken in any case and answered for as stored (upper case)', () => {
    const id = '01M8VMHR4VEHH7DP8TTD43CZW3';
    expect(canonicalJobId(id)).toBe(id);
    expect(canonicalJobId(id.toLowerCase())).toBe(id);
    expect(canonicalJobId('01m8VmHR4vehh7dp8ttd43czw3')).toBe(id);
  });

  it('that is malformed is InvalidSpec naming the field it came in, the value cut', () => {
    for (const [given, field] of [
      ['a b', 'id'],
      ['../x', 'params.id'],
      ['', 'id'],
    ] as const) {
      let thrown: unknown;
      try {
        canonicalJobId(given, field);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({
        type: 'InvalidSpec',
        field,
        message: `${field}: "${given}" is not a job id`,
      });
    }
    for (const value of [EMOJI, `${TEN_KB}!`]) {
      expectBounded(
        messageOf(() => canonicalJobId(value)),
        value,
      );
    }
  });
});

describe('schedules', () => {
  it('a cron expression, nickname or zone is quoted cut, croner’s own quote of it too', () => {
    for (const value of VALUES) {
      // Too many fields; not a cron expression (croner quotes the entry); not a name.
      for (const expression of [`${value} * * * * * *`, `${value} * * * *`, `@${value}`]) {
        const message = messageOf(() => parseCron(expression, 'UTC'));
        expect(wellFormed(message), message).toBe(true);
        expect(message.length, message).toBeLessThan(BOUND);
      }
      expectBounded(
        messageOf(() => parseCron('* * * * *', value)),
        value,
      );
      expectBounded(
        messageOf(() => canonicalTimezone(value)),
        value,
      );
    }
    // croner's words for a short part stay, its quotes ours.
    expect(messageOf(() => parseCron('1/2/3 * * * *', 'UTC'))).toBe(
      'cron: "1/2/3 * * * *" is not a cron expression: Syntax error, illegal stepping: "1/2/3"',
    );
  });

  it('a lower case link to a zone is quoted cut', () => {
    // The zone resolves (Intl reads a link in any case) but its spelling is unknown.
    const message = messageOf(() => canonicalTimezone('us/eastern'));
    expect(message).toMatch(/^timezone: "us\/eastern" is the zone America\/New_York/);
  });

  it('a schedule name is quoted cut', () => {
    for (const value of VALUES) {
      expectBounded(
        messageOf(() => checkScheduleName(value)),
        value,
      );
    }
  });
});

describe('paths and labels', () => {
  it('an output path in a URL is quoted cut', () => {
    for (const value of VALUES) {
      expectBounded(
        messageOf(() => checkOutputPath(`/${value}`)),
        `/${value}`,
      );
    }
  });

  it("an image's unreadable contract label is quoted cut", () => {
    for (const value of VALUES) {
      expectBounded(
        messageOf(() => judgeImageLabels('img', { 'io.runbox.contract': value })),
        value,
      );
    }
  });

  it('a file name too long for the kernel is quoted cut', () => {
    const config = loadConfig({ env: {}, overrides: { dataDir: '/tmp/runbox-shown-test' } });
    for (const value of [EMOJI, 'x'.repeat(300)]) {
      const message = messageOf(() =>
        parseJobSpec(
          {
            runtime: 'shell',
            script: { path: 'a.sh', content: 'true' },
            files: [{ path: `d/${value}`, content: '' }],
          },
          config,
        ),
      );
      expectBounded(message, value);
      expect(message).toMatch(/^files\.0\.path: has a name of \d+ bytes, /);
    }
  });
});

describe('config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runbox-shown-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a value of the wrong type is quoted cut', () => {
    for (const [i, value] of VALUES.entries()) {
      const file = join(dir, `config${i}.json`);
      writeFileSync(file, JSON.stringify({ workers: value, queue: { kind: value } }));
      expectBounded(
        messageOf(() => loadConfig({ env: {}, file })),
        value,
      );
    }
  });
});
