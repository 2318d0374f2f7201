import { describe, expect, it } from 'vitest';
import { decodeEnvFile, parseEnvFile } from '../../src/cli/jobFlags.js';
import { InvalidSpecError } from '../../src/errors/index.js';
import { SecretMask } from '../../src/executor/secretMask.js';

/** Feeds `text` through a mask in pieces cut at `cuts`, and returns what comes out. */
function masked(secrets: string[], input: Buffer, cuts: number[]): string {
  const mask = new SecretMask(secrets);
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    out.push(mask.push(input.subarray(from, cut)));
    from = cut;
  }
  out.push(mask.end());
  return Buffer.concat(out).toString('utf8');
}

describe('SecretMask', () => {
  const SECRET = 'hunter2-πß-日本-😀';

  it('masks a value split across chunks at every possible cut', () => {
    const input = Buffer.from(`before ${SECRET} middle ${SECRET}${SECRET} after`);
    for (let a = 0; a <= input.length; a++) {
      for (const b of [a, a + 1, a + 7]) {
        const result = masked([SECRET], input, [a, Math.min(b, input.length)]);
        expect(result, `cuts ${a}, ${b}`).toBe('before [secret] middle [secret][secret] after');
      }
    }
  });

  it('masks a value fed one byte at a time, and holds back no more than it must', () => {
    const input = Buffer.from(`x${SECRET}y`);
    const cuts = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
    expect(masked([SECRET], input, cuts)).toBe('x[secret]y');
    const mask = new SecretMask([SECRET]);
    // "hun" may be the start of the value: held; "x" before it is released at once.
    expect(mask.push(Buffer.from('xhun')).toString()).toBe('x');
    expect(mask.push(Buffer.from('gry')).toString()).toBe('hungry');
    expect(mask.end().length).toBe(0);
  });

  it('prefers the longer value where two start at one place, and the leftmost otherwise', () => {
    const secrets = ['abc', 'abcdef', 'cd'];
    expect(masked(secrets, Buffer.from('--abcdef--'), [4])).toBe('--[secret]--');
    expect(masked(secrets, Buffer.from('--abcdx--'), [5])).toBe('--[secret]dx--');
    expect(masked(secrets, Buffer.from('--xcd--ab'), [])).toBe('--x[secret]--ab');
  });

  it('passes bytes that are not UTF-8 through untouched and masks values among them', () => {
    const input = Buffer.concat([
      Buffer.from([0xff, 0xfe, 0x00]),
      Buffer.from('s3cr3t'),
      Buffer.from([0x80]),
    ]);
    const mask = new SecretMask(['s3cr3t']);
    const out = Buffer.concat([
      mask.push(input.subarray(0, 5)),
      mask.push(input.subarray(5)),
      mask.end(),
    ]);
    expect(out).toEqual(
      Buffer.concat([
        Buffer.from([0xff, 0xfe, 0x00]),
        Buffer.from('[secret]'),
        Buffer.from([0x80]),
      ]),
    );
  });

  it('does nothing without secrets, and ignores empty values', () => {
    const mask = new SecretMask(['']);
    const chunk = Buffer.from('anything');
    expect(mask.active).toBe(false);
    expect(mask.push(chunk)).toBe(chunk);
  });
});

describe('parseEnvFile', () => {
  it('reads KEY=VALUE lines literally, skipping comments and blank lines, CRLF or LF', () => {
    const text =
      '# a comment\r\nA=1\r\n\r\nB=x=y "quoted" $HOME\n  # indented comment\nC=\nD=é 😀\n';
    expect(parseEnvFile(text, 'f', 'env-file')).toEqual({
      A: '1',
      B: 'x=y "quoted" $HOME',
      C: '',
      D: 'é 😀',
    });
  });

  it('refuses a line without a name, naming the file and line but not the line itself', () => {
    try {
      parseEnvFile('A=1\n=hidden-value\n', 'secrets.env', 'secret-env-file');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidSpecError);
      expect((error as InvalidSpecError).field).toBe('secret-env-file');
      expect((error as Error).message).toContain('secrets.env line 2');
      expect((error as Error).message).not.toContain('hidden-value');
    }
  });

  it('refuses a name the job spec would refuse, naming the file and line, with the fix', () => {
    // The server's refusal said "env.export A: is not a valid variable name": no file, no line.
    const errorOf = (text: string) => {
      try {
        parseEnvFile(text, 'app.env', 'env-file');
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidSpecError);
        expect((error as InvalidSpecError).field).toBe('env-file');
        return (error as Error).message;
      }
      return expect.unreachable();
    };
    expect(errorOf('A=1\nexport B=2\n')).toMatch(
      /^env-file: app\.env line 2: .*drop the leading "export"/,
    );
    expect(errorOf('# x\n\n1ABC=2\n')).toMatch(/^env-file: app\.env line 3: .*write NAME=value/);
    expect(errorOf('hunter2 two=\n')).not.toContain('hunter2');
  });
});

describe('decodeEnvFile', () => {
  it('reads UTF-8 (a BOM dropped), and refuses other bytes naming the file and line only', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    expect(decodeEnvFile(Buffer.concat([bom, Buffer.from('A=é\n')]), 'f', 'env-file')).toBe(
      'A=é\n',
    );
    // Latin-1 "é" (0xe9) on line 3, after a multi-byte line, and a secret-looking value.
    const bytes = Buffer.concat([
      Buffer.from('A=1\nB=😀\nTOKEN=s3cr3t-'),
      Buffer.from([0xe9]),
      Buffer.from('\nC=2\n'),
    ]);
    try {
      decodeEnvFile(bytes, 'prod.env', 'secret-env-file');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidSpecError);
      expect((error as InvalidSpecError).field).toBe('secret-env-file');
      expect((error as Error).message).toContain('prod.env line 3 is not valid UTF-8');
      expect((error as Error).message).not.toContain('s3cr3t');
    }
    // A multi-byte character cut at the end of the file is invalid too.
    expect(() => decodeEnvFile(Buffer.from([0x41, 0x3d, 0xf0, 0x9f]), 'g', 'env-file')).toThrow(
      'g line 1 is not valid UTF-8',
    );
  });
});
