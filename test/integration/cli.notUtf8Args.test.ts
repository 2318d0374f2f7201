import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RUNBOX_BUNDLE } from '../helpers/serverProcess.js';

const dir = mkdtempSync(join(tmpdir(), 'runbox-not-utf8-'));
const script = join(dir, 'job.sh');
writeFileSync(script, 'echo hi\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The built CLI given `words` as a shell passes them: `\xff` in a word is the byte 0xff
 * (node's spawn can only pass UTF-8 strings, printf in sh passes bytes). Nothing listens
 * at the server: the refusal comes before any request.
 */
function runboxBytes(words: string[]): Promise<{ code: number | null; stderr: string }> {
  // Every byte as printf's octal escape: no quoting to get wrong, and no word read as
  // one of printf's own options.
  const line = words
    .map((word) => {
      const bytes = Buffer.from(
        word.replace(/\\x([0-9a-f]{2})/g, (_, hex: string) =>
          String.fromCharCode(parseInt(hex, 16)),
        ),
        'latin1',
      );
      return `"$(printf '${[...bytes].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('')}')"`;
    })
    .join(' ');
  return new Promise((done, fail) => {
    const child = spawn(
      '/bin/sh',
      ['-c', `exec "$0" "$1" ${line}`, process.execPath, RUNBOX_BUNDLE],
      {
        env: {
          ...process.env,
          RUNBOX_CONFIG: '',
          RUNBOX_SERVER: '',
          RUNBOX_DATA_DIR: join(dir, 'data'),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const err: Buffer[] = [];
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stderr: Buffer.concat(err).toString() }));
  });
}

const FIX =
  'put the bytes in a file and pass it with --file, or pass them base64-encoded and decode them in the job';
const server = ['--server', 'http://127.0.0.1:9'];

describe('words that are not UTF-8 on the command line', () => {
  it('a job argument, a --command word or an --env value that is not UTF-8 is refused (65) naming it, for run and submit', async () => {
    const cases: Array<[string[], string]> = [
      [
        ['submit', script, ...server, '--', 'ok', 'a\\xffb'],
        `runbox: InvalidSpec: args.1: job argument 2 is not valid UTF-8 (its bytes reached runbox as U+FFFD): a job spec is JSON text, which cannot carry such bytes; ${FIX}\n`,
      ],
      [
        ['run', script, '--arg', '\\xfe'],
        `runbox: InvalidSpec: args.0: job argument 1 is not valid UTF-8 (its bytes reached runbox as U+FFFD): a job spec is JSON text, which cannot carry such bytes; ${FIX}\n`,
      ],
      [
        ['run', script, '--command', 'sh', '-c', 'echo \\xff'],
        `runbox: InvalidSpec: command.2: --command word 3 is not valid UTF-8 (its bytes reached runbox as U+FFFD): a job spec is JSON text, which cannot carry such bytes; ${FIX}\n`,
      ],
      [
        ['submit', script, ...server, '--env', 'B=x\\xff'],
        `runbox: InvalidSpec: env: the value of B is not valid UTF-8: environment values are sent as text (JSON), which cannot carry such bytes; ${FIX}\n`,
      ],
      // Seen: "the value of \ufffd is not valid UTF-8", of a name.
      [
        ['submit', script, ...server, '--env', '\\xff=1'],
        'runbox: InvalidSpec: env: a name before = is not valid UTF-8; a variable name is [A-Za-z_][A-Za-z0-9_]*\n',
      ],
      [
        ['run', script, '--secret-env', 'A\\xfeB=1'],
        'runbox: InvalidSpec: secret-env: a name before = is not valid UTF-8; a variable name is [A-Za-z_][A-Za-z0-9_]*\n',
      ],
      [
        ['run', script, '--secret-env=S=\\xc3'],
        `runbox: InvalidSpec: secret-env: the value of S is not valid UTF-8: environment values are sent as text (JSON), which cannot carry such bytes; ${FIX}\n`,
      ],
    ];
    for (const [words, stderr] of cases) {
      const result = await runboxBytes(words);
      expect(result.stderr, words.join(' ')).toBe(stderr);
      expect(result.code).toBe(65);
    }
  }, 120_000);

  it('U+FFFD typed as such (its UTF-8 bytes) is text like any other and reaches the request', async () => {
    // Refused only past the spec: the server is not there (69), so the words were taken.
    const result = await runboxBytes([
      'submit',
      script,
      ...server,
      '--env',
      'B=\\xef\\xbf\\xbd',
      '--',
      '\\xef\\xbf\\xbd',
    ]);
    expect(result.stderr).toMatch(/^runbox: ServerUnavailable: cannot reach the runbox server/);
    expect(result.code).toBe(69);
  }, 60_000);
});
