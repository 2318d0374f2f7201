import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { CLIENT_COMMAND_FLAGS, parseClientArgs } from '../../src/cli/clientArgs.js';
import { CLIENT_COMMANDS } from '../../src/cli/clientCli.js';
import { clientCommands } from '../../src/cli/commands/clientCommands.js';
import { scheduleCommand } from '../../src/cli/commands/schedule.js';
import type { CliIO } from '../../src/cli/output.js';
import { buildSubmitRequest, type JobFlagValues } from '../../src/cli/jobFlags.js';
import { runCommands } from '../../src/cli/runCommands.js';
import { InvalidSpecError } from '../../src/errors/index.js';

/**
 * The client commands' own parser (clientArgs.ts) against yargs with the same commands
 * (runCommands.ts, as the full CLI runs them): what it accepts, it reads exactly as
 * yargs does; what it refuses goes to yargs, so errors and help stay yargs' own.
 */

function captureIO(): CliIO & { text: () => string } {
  let text = '';
  return {
    out: (t) => (text += `${t}\n`),
    err: (t) => (text += `${t}\n`),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    text: () => text,
  };
}

/** The args yargs hands the command's handler (null if it never runs), and the exit code. */
async function viaYargs(argv: string[]) {
  let seen: { command: string; args: Record<string, unknown> } | null = null;
  const io = captureIO();
  const code = await runCommands(
    argv,
    {
      io,
      startRunbox: () => {
        throw new Error('no server here');
      },
    },
    (ctx, setCode) =>
      clientCommands(ctx, setCode).map((c) => ({
        ...c,
        handler: (args: Record<string, unknown>) => {
          seen = { command: String(c.command).split(' ')[0]!, args };
        },
      })),
  );
  return { seen: seen as { command: string; args: Record<string, unknown> } | null, code, io };
}

/** yargs' args without its bookkeeping and one-letter aliases (-f, -q). */
function comparable(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(args).filter(([k]) => k !== '_' && k !== '$0' && k.length > 1),
  );
}

const ACCEPTED: string[][] = [
  ['submit', 'job.sh'],
  ['submit', 'ünïcode job.sh', '--server', 'http://127.0.0.1:7070'],
  ['submit', 'job.sh', '--priority', '-3', '--json'],
  ['--json', 'submit', 'job.sh', '--wait'],
  ['--config', 'c.json', 'submit', 'job.sh', '--follow'],
  ['--config=c.json', 'submit', '--timeout=30', 'job.py'],
  ['submit', '--runtime', 'python:3.11', 'x.py', '--image', 'alpine:3', '--command', 'sh'],
  ['submit', 'j.sh', '--env', 'A=1', '--env=B=2=3', '--secret-env', 'S=x', '--env-file', 'e'],
  ['submit', 'j.sh', '--secret-env-file', 'f', '--arg', 'a b', '--file', 'a.txt:b.txt'],
  ['submit', 'j.sh', '--memory', '512m', '--cpus', '1.5', '--pids', '100', '--gpus', 'all'],
  ['submit', 'j.sh', '--network', 'bridge', '--pull', 'never', '--queue-name', 'gpu'],
  ['submit', 'j.sh', '--max-attempts', '3', '--retry-on-exit', '75', '--retry-on-exit=76'],
  ['submit', 'j.sh', '--idempotency-key', '007', '--webhook', 'http://h/x', '--delay', '5m'],
  ['submit', 'j.sh', '--run-at', '2030-01-01T00:00:00Z', '--priority', '0.25'],
  ['submit', '123'],
  ['submit', 'job.sh', '--config', 'c.json'],
  ['ls', '--config=c.json', '--json'],
  ['status', 'JOB1', '--json'],
  ['status', '42', '--data-dir', '/tmp/d', '--db', 'x.db', '--blobs', 's3://b/p', '--queue', 'q'],
  ['logs', 'JOB1', '-f'],
  ['logs', 'JOB1', '--follow', '--stderr', '--server', 'http://h:1'],
  ['ls'],
  ['ls', '-q', '--all', '--status', 'failed', '--limit', '5'],
  ['ls', '--cursor', 'abc', '--json'],
  ['cancel', 'JOB1', '--json'],
  ['status', '01m8vmhr4vehh7dp8ttd43czw3'],
  ['logs', '01M8vmHR4vehh7dp8ttd43czw3', '-f'],
  ['cancel', 'job1'],
  ['queues'],
  ['workers', '--json', '--server', 'http://h:1'],
  ['workers', '--data-dir', '/tmp/d', '--db', 'x.db', '--queue', 'q'],
];

/** Mistakes, and forms yargs reads in its own way: all left to yargs. */
const REFUSED: string[][] = [
  ['submit'],
  ['submit', 'a.sh', 'b.sh'],
  ['submit', 'a.sh', '--priority', 'abc'],
  ['submit', 'a.sh', '--priority'],
  ['submit', 'a.sh', '--priority', ''],
  ['submit', 'a.sh', '--cpus', 'Infinity'],
  ['submit', 'a.sh', '--max-attempts=1e999'],
  ['submit', 'a.sh', '--timeout', 'NaN'],
  ['submit', 'a.sh', '--timeout', '0x10'],
  ['submit', 'a.sh', '--retry-on-exit', '75', '--retry-on-exit', 'x'],
  ['submit', 'a.sh', '--network', 'host'],
  ['submit', 'a.sh', '--delay', '5m', '--run-at', 'now'],
  ['submit', 'a.sh', '--bogus'],
  ['submit', 'a.sh', '--queueName', 'x'],
  ['submit', 'a.sh', '--no-wait'],
  ['submit', 'a.sh', '--wait=false'],
  ['submit', 'a.sh', '--wait', 'true'],
  ['submit', '--env', 'A=1', 'a.sh'],
  ['submit', 'a.sh', '--command', 'sh', '-c', 'echo'],
  ['submit', 'a.sh', '--runtime', '-x'],
  ['submit', 'a.sh', '--runtime', '"py"'],
  ['submit', '"a.sh"'],
  ['submit', ''],
  ['submit', 'a.sh', '--'],
  ['submit', 'a.sh', '--priority', '1', '--priority', '2'],
  ['submit', 'a.sh', '-f'],
  ['--wait', 'submit', 'a.sh'],
  ['status'],
  ['logs', 'J', '-qf'],
  ['status', 'a b'],
  ['logs', '../x'],
  ['cancel', '😀'],
  ['ls', 'extra'],
  ['ls', '--limit', 'ten'],
  ['ls', '--all', '--cursor', 'c'],
  ['ls', '--status', 'done'],
  ['queues', '--data-dir', 'x'],
  ['serve'],
];

describe('the client commands parser', () => {
  it('reads every plain command line exactly as yargs does', async () => {
    for (const argv of ACCEPTED) {
      const fast = parseClientArgs(argv);
      expect(fast, argv.join(' ')).not.toBeNull();
      const { seen, code, io } = await viaYargs(argv);
      expect(code, `${argv.join(' ')}: ${io.text()}`).toBe(0);
      expect(fast!.command, argv.join(' ')).toBe(seen!.command);
      expect(fast!.args, argv.join(' ')).toEqual(comparable(seen!.args));
    }
  });

  it('leaves mistakes and every other form to yargs', async () => {
    for (const argv of REFUSED) expect(parseClientArgs(argv), argv.join(' ')).toBeNull();
    // The mistakes among them are yargs' usage errors (64), as before.
    const { code, io } = await viaYargs(['submit', 'a.sh', '--priority', 'abc']);
    expect(code).toBe(64);
    expect(io.text()).toContain('--priority takes a number');
  });

  // ULIDs are Crockford base32, read in any case; the queue stores them upper case.
  it('sends a job id as the queue stores it, and leaves a malformed one to yargs, which refuses it (65)', async () => {
    const id = '01M8VMHR4VEHH7DP8TTD43CZW3';
    for (const command of ['status', 'logs', 'cancel']) {
      expect(parseClientArgs([command, id.toLowerCase()])?.args.id, command).toBe(id);
      const { code, io } = await viaYargs([command, 'a b']);
      expect([command, code, io.text()]).toEqual([
        command,
        65,
        'runbox: InvalidSpec: id: "a b" is not a job id\n',
      ]);
    }
  });

  it('a flag given no value is a usage error (64) naming it, not Internal (70)', async () => {
    // yargs threw "Not enough arguments following: env" as its own YError, which went out
    // as Internal with exit 70.
    for (const argv of [
      ['submit', 'a.sh', '--env'],
      ['submit', 'a.sh', '--arg', '--env', 'A=1'],
      ['submit', 'a.sh', '--file'],
    ]) {
      const { code, io, seen } = await viaYargs(argv);
      expect(code, `${argv.join(' ')}: ${io.text()}`).toBe(64);
      expect(seen).toBeNull();
      expect(io.text()).toMatch(
        /UsageError: --(env|arg|file) needs a value after it \(see `runbox submit --help`\)/,
      );
    }
  });

  // yargs' "Invalid values:\n  Argument: catch-up, Given: \"<10 kB>\", Choices: ..." quoted
  // the value whole, on lines of its own.
  it("a value outside a flag's choices is named on one line, a long one cut", async () => {
    const long = 'z'.repeat(10_240);
    const cases: Array<[string[], string]> = [
      [['submit', 'a.sh', '--network', 'host'], '--network "host" is not one of "none", "bridge"'],
      [
        ['submit', 'a.sh', '--network', long, '--pull', 'y'],
        `--network "${'z'.repeat(49)}… (10240 characters) is not one of "none", "bridge"; ` +
          '--pull "y" is not one of "if-not-present", "always", "never"',
      ],
      [
        ['submit', 'a.sh', '--pull', 'a, Choices: b'],
        '--pull "a, Choices: b" is not one of "if-not-present", "always", "never"',
      ],
    ];
    for (const [argv, message] of cases) {
      const { seen, code, io } = await viaYargs(argv);
      expect(seen, argv.join(' ')).toBeNull();
      expect(code).toBe(64);
      expect(io.text()).toBe(`runbox: UsageError: ${message} (see \`runbox submit --help\`)\n`);
    }
  });

  it('a one-value flag given twice is a usage error naming it; repeatable flags and booleans repeat', async () => {
    // yargs made an array of it: `--server A --server B` reached the client as "A,B",
    // `--timeout` twice an InvalidSpec about an array.
    for (const [argv, flag] of [
      [['submit', 'a.sh', '--server', 'http://a', '--server', 'http://b'], '--server'],
      [['submit', 'a.sh', '--timeout', '1', '--timeout', '2'], '--timeout'],
      [['submit', 'a.sh', '--memory', '1g', '--memory=2g'], '--memory'],
      [['ls', '--limit', '1', '--limit', '2'], '--limit'],
      [['logs', 'X', '--server', 'http://a', '--server=http://b'], '--server'],
    ] as const) {
      const { code, io, seen } = await viaYargs([...argv]);
      expect(code, `${argv.join(' ')}: ${io.text()}`).toBe(64);
      expect(seen).toBeNull();
      expect(io.text()).toContain(`UsageError: ${flag} was given more than once; give it once`);
    }
    const ok = await viaYargs([
      'submit',
      'a.sh',
      '--env',
      'A=1',
      '--env',
      'B=2',
      '--arg',
      'x',
      '--arg',
      'y',
      '--wait',
      '--wait',
    ]);
    expect(ok.code, ok.io.text()).toBe(0);
    expect(ok.seen?.args).toMatchObject({ env: ['A=1', 'B=2'], arg: ['x', 'y'], wait: true });
  });

  it('prints the version for -V/--version after any command, as JSON with --json', async () => {
    // Each command's help lists -V/--version; `ls --version` listed jobs instead.
    const text = await viaYargs(['ls', '--version']);
    expect([text.code, text.seen]).toEqual([0, null]);
    expect(text.io.text()).toMatch(/^runbox \S+ \(commit \S+\)\ncontract runbox\.result /);
    const json = await viaYargs(['submit', 'a.sh', '-V', '--json']);
    expect([json.code, json.seen]).toEqual([0, null]);
    expect(JSON.parse(json.io.text())).toMatchObject({
      version: expect.any(String),
      contract: { name: 'runbox.result', version: expect.any(String) },
      node: process.version,
    });
    // After --, -V is the job's own argument.
    const dashed = await viaYargs(['submit', 'a.sh', '--', '-V']);
    expect(dashed.code).toBe(0);
    expect(dashed.seen!.args['afterDash']).toEqual(['-V']);
    expect(dashed.io.text()).toBe('');
  });

  it('a flag typed with no value is a usage error naming it, never the flag left out', async () => {
    // Before: `-o` last, `--image` last or `--command` alone ran the job as if the flag
    // had not been given (outputs not written, the default runtime run), and `--file`
    // last was "Internal: Not enough arguments following: file", exit 70.
    const cases: Array<[string[], string]> = [
      [['submit', 'a.sh', '--image'], '--image needs a value after it'],
      [['submit', 'a.sh', '--runtime', '--priority', '1'], '--runtime needs a value after it'],
      [['submit', 'a.sh', '--command'], '--command needs a value after it'],
      [['submit', 'a.sh', '--webhook='], '--webhook needs a value after it'],
      [['logs', 'J', '--server'], '--server needs a value after it'],
      [['submit', 'a.sh', '--file'], '--file needs a value after it'],
      [['submit', 'a.sh', '--env'], '--env needs a value after it'],
      // Typed last, a flag with a default got the default (a stranger's pass: `ls --limit`
      // listed 50, `serve --log-level` ran at info).
      [['ls', '--limit'], '--limit takes a number, e.g. --limit 5'],
      [
        ['logs', 'J', '--reconnect-seconds'],
        '--reconnect-seconds takes a number, e.g. --reconnect-seconds 5',
      ],
      // yargs said "Not enough arguments following: arg" for `--arg -c`, which reads as
      // if nothing had been typed; a value that starts with a dash goes after `=`.
      [
        ['submit', 'a.sh', '--arg', '-c'],
        '--arg needs a value after it; one that starts with "-" is written --arg=-c',
      ],
    ];
    for (const [argv, message] of cases) {
      const { seen, code, io } = await viaYargs(argv);
      expect(seen, argv.join(' ')).toBeNull();
      expect(code, `${argv.join(' ')}: ${io.text()}`).toBe(64);
      expect(io.text()).toContain(`UsageError: ${message} (see \`runbox ${argv[0]} --help\`)`);
    }
    // An empty word in a list is a value: the job's empty argument.
    const empty = await viaYargs(['submit', 'a.sh', '--arg', '', '--command', 'echo', '']);
    expect(empty.code, empty.io.text()).toBe(0);
    expect(empty.seen!.args['arg']).toEqual(['']);
    expect(empty.seen!.args['command']).toEqual(['echo', '']);
  });

  // `runbox submit job.sh --command sh -c 'echo hi'` said "Unknown argument: c".
  it('--command takes the words after it up to the next --flag, one-dash words and quotes as typed', async () => {
    const words = ['sh', '-c', 'printf "%s|" "$@"', '-', 'a b', 'ü日本', '"q"', '-5m', ''];
    const got = await viaYargs(['submit', 'a.sh', '--command', ...words, '--priority', '2']);
    expect(got.code, got.io.text()).toBe(0);
    expect(got.seen!.args).toMatchObject({ command: words, priority: 2, script: 'a.sh' });
    // `=` starts the command with a word that starts with `--`; `--` still ends it.
    const eq = await viaYargs(['submit', 'a.sh', '--command=--x', '-y', '--', '-v']);
    expect(eq.code, eq.io.text()).toBe(0);
    expect(eq.seen!.args).toMatchObject({ command: ['--x', '-y'], afterDash: ['-v'] });
    // A flag of runbox's after the words is runbox's, a mistyped one named as ever.
    const typo = await viaYargs(['submit', 'a.sh', '--command', 'sh', '-c', 'x', '--timout', '3']);
    expect(typo.code).toBe(64);
    expect(typo.io.text()).toContain('Unknown argument: timout (did you mean --timeout?)');
  });

  // yargs said "Not enough non-option arguments: got 0, need at least 1" and, for a word
  // too many, "Unknown argument: b", as if it were a flag.
  it("names a missing or extra argument with the command's usage line", async () => {
    const said = async (argv: string[]) => {
      const got = await viaYargs(argv);
      expect(got.code, got.io.text()).toBe(64);
      expect(got.seen).toBeNull();
      return got.io.text();
    };
    expect(await said(['status'])).toContain(
      'missing <id>: runbox status <id> (see `runbox status --help`)',
    );
    expect(await said(['cancel'])).toContain('missing <id>: runbox cancel <id>');
    expect(await said(['cancel', 'A', 'b'])).toContain(
      '"b" is one argument too many: runbox cancel <id>',
    );
    expect(await said(['submit', 'a.sh', 'b.sh'])).toContain(
      `"b.sh" is one argument too many: runbox submit [script]; the job's own arguments go after --`,
    );
    expect(await said(['logs', 'A', 'b', 'ü 名'])).toContain(
      '"b", "ü 名" are arguments too many: runbox logs <id>',
    );
    // A mistyped flag is still a flag, with the one it most likely meant.
    expect(await said(['submit', 'a.sh', '--wiat'])).toContain(
      'Unknown argument: wiat (did you mean --wait?)',
    );
  });

  // submit and run took a script always: `runbox run --runtime shell --command echo hi`,
  // a job the API, a batch and `schedule add` all take, said a script was missing.
  it('takes --command without a script, and refuses neither given before any request', async () => {
    const got = await viaYargs([
      'submit',
      '--runtime',
      'shell',
      '--command',
      'sh',
      '-c',
      'echo "ü $0"',
    ]);
    expect(got.code, got.io.text()).toBe(0);
    expect(got.seen!.args).toMatchObject({
      command: ['sh', '-c', 'echo "ü $0"'],
      runtime: 'shell',
    });
    expect(got.seen!.args.script).toBeUndefined();
    expect(buildSubmitRequest({ runtime: 'shell', command: ['true'] })).toEqual({
      runtime: 'shell',
      command: ['true'],
    });
    for (const flags of [{}, { runtime: 'shell' }, { image: 'alpine:3' }]) {
      expect(() => buildSubmitRequest(flags), JSON.stringify(flags)).toThrow(
        'give a script, or --runtime or --image with --command',
      );
    }
  });

  it('passes the words after -- to the job as its arguments, as typed, after any --arg', async () => {
    // Before, `runbox run job.py -- x` ran the job with no arguments and said nothing.
    const dir = mkdtempSync(join(tmpdir(), 'runbox-dash-'));
    try {
      const script = join(dir, 'a.sh');
      writeFileSync(script, 'echo "$@"');
      const argv = ['submit', script, '--arg', 'first', '--', '1e3', '--json', 'a b', '007', ''];
      const { seen, code, io } = await viaYargs(argv);
      expect(code, io.text()).toBe(0);
      expect(seen!.args['json']).toBeUndefined();
      const request = buildSubmitRequest(seen!.args as JobFlagValues);
      expect(request.args).toEqual(['first', '1e3', '--json', 'a b', '007', '']);
      const bare = await viaYargs(['submit', script, '--']);
      expect(buildSubmitRequest(bare.seen!.args as JobFlagValues).args).toBeUndefined();
      const status = await viaYargs(['status', 'J', '--', 'x']);
      expect(status.code).toBe(64);
      expect(status.seen).toBeNull();
      expect(status.io.text()).toMatch(
        /UsageError: only run, submit and schedule add take words after --/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--file takes a file whose name holds a colon whole, and splits SRC:DEST otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-colon-'));
    try {
      const script = join(dir, 'a.sh');
      writeFileSync(script, 'true');
      const stamped = join(dir, 'log-12:00.txt');
      writeFileSync(stamped, 'stamped');
      const whole = buildSubmitRequest({ script, file: [stamped] });
      expect(whole.files).toEqual([
        expect.objectContaining({ path: 'log-12:00.txt', content: 'stamped' }),
      ]);
      const renamed = buildSubmitRequest({ script, file: [`${stamped}:in.txt`] });
      expect(renamed.files).toEqual([
        expect.objectContaining({ path: 'in.txt', content: 'stamped' }),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--file sends valid UTF-8 as text and anything else as base64, byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-fileenc-'));
    try {
      const script = join(dir, 'a.sh');
      writeFileSync(script, 'true');
      const cases: Array<[string, Buffer, 'text' | 'base64']> = [
        ['text.txt', Buffer.from('日本 ☃ naïve\n', 'utf8'), 'text'],
        ['empty', Buffer.alloc(0), 'text'],
        ['invalid.bin', Buffer.from([0x61, 0xff, 0xfe, 0x62]), 'base64'],
        ['cut.txt', Buffer.from('☃', 'utf8').subarray(0, 2), 'base64'],
        ['surrogate.bin', Buffer.from([0xed, 0xa0, 0x80]), 'base64'],
        // Valid UTF-8, but each NUL would travel as a six-character JSON escape.
        ['nuls.bin', Buffer.alloc(64), 'base64'],
        ['lines.txt', Buffer.from('a\tb\r\nc\n', 'utf8'), 'text'],
      ];
      for (const [name, bytes] of cases) writeFileSync(join(dir, name), bytes);
      const request = buildSubmitRequest({ script, file: cases.map(([n]) => join(dir, n)) });
      cases.forEach(([name, bytes, kind], i) => {
        const file = request.files![i]!;
        expect(file.path).toBe(name);
        expect(file.encoding, name).toBe(kind === 'base64' ? 'base64' : undefined);
        const back = Buffer.from(file.content, kind === 'base64' ? 'base64' : 'utf8');
        expect(back.equals(bytes), name).toBe(true);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses --file inputs past 128 MiB in all by their size, before reading them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-filebig-'));
    try {
      const script = join(dir, 'a.sh');
      writeFileSync(script, 'true');
      // Sparse: 96 MiB + 33 MiB of nothing on disk. 450 MB of --file died after 89 s with
      // "Internal: Invalid string length".
      const a = join(dir, 'a.bin');
      const b = join(dir, 'b ☃.bin');
      for (const [path, size] of [
        [a, 96 * 1024 * 1024],
        [b, 33 * 1024 * 1024],
      ] as const) {
        writeFileSync(path, '');
        truncateSync(path, size);
      }
      const error = (() => {
        try {
          buildSubmitRequest({ script, file: [a, `${b}:in/b.bin`] });
        } catch (caught) {
          return caught as InvalidSpecError;
        }
        return null;
      })();
      expect(error).toBeInstanceOf(InvalidSpecError);
      expect(error!.field).toBe('files.1');
      expect(error!.message).toBe(
        `files.1: ${b} brings the inputs to ${4 + 129 * 1024 * 1024} bytes: the script and files of one job hold at most 128 MiB in all; put larger data in an image, or let the job fetch it (network: bridge)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a pipe given as --file up to what the inputs have left, and refuses an endless device', async () => {
    // A pipe or device has no size to check first; /dev/zero was read whole, runbox's
    // memory growing until the kernel killed it.
    const dir = mkdtempSync(join(tmpdir(), 'runbox-filepipe-'));
    try {
      const script = join(dir, 'a.sh');
      writeFileSync(script, 'true');
      const fifo = join(dir, 'in.fifo');
      execFileSync('mkfifo', [fifo]);
      const writer = spawn('sh', ['-c', `printf 'through a pipe' > '${fifo}'`]);
      const request = buildSubmitRequest({ script, file: [`${fifo}:in.txt`] });
      await new Promise((resolve) => writer.on('close', resolve));
      expect(request.files).toEqual([{ path: 'in.txt', content: 'through a pipe' }]);
      expect(() => buildSubmitRequest({ script, file: ['/dev/zero'] })).toThrow(
        `files.0: /dev/zero is not a regular file and gave more than the ${128 * 1024 * 1024 - 4} bytes the inputs have left: the script and files of one job hold at most 128 MiB in all`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('--secret-env without a name is refused without quoting the value back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-secretenv-'));
    try {
      const script = join(dir, 'job.sh');
      writeFileSync(script, 'true');
      for (const value of ['hunter2-secret', '=hunter2-secret']) {
        expect(() => buildSubmitRequest({ script, secretEnv: [value] })).toThrow(
          'secret-env: a value (not repeated here) must look like NAME=value',
        );
      }
      expect(() => buildSubmitRequest({ script, env: ['oops'] })).toThrow(
        'env: "oops" must look like NAME=value',
      );
      // A 10 kB word was quoted whole.
      expect(() => buildSubmitRequest({ script, env: ['o'.repeat(10_240)] })).toThrow(
        `env: "${'o'.repeat(49)}… (10240 characters) must look like NAME=value`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a name given by both --env and --secret-env (or their files) is a usage error naming both flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-envboth-'));
    try {
      const script = join(dir, 'job.sh');
      const plainFile = join(dir, 'plain.env');
      const secretFile = join(dir, 'secret.env');
      writeFileSync(script, 'true');
      writeFileSync(plainFile, 'A=3\n');
      writeFileSync(secretFile, 'A=1\n');
      const cases: Array<[JobFlagValues, string, string]> = [
        [{ script, secretEnv: ['A=1'], env: ['A=3'] }, '--env', '--secret-env'],
        [{ script, secretEnv: ['A=1'], envFile: [plainFile] }, '--env-file', '--secret-env'],
        [{ script, secretEnvFile: [secretFile], env: ['A=3'] }, '--env', '--secret-env-file'],
      ];
      for (const [flags, plain, hidden] of cases) {
        let thrown: unknown;
        try {
          buildSubmitRequest(flags);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toMatchObject({
          type: 'UsageError',
          field: hidden.slice(2),
          message: `A is given by both ${plain} and ${hidden}; give it once: with ${hidden} to keep its value secret, or with ${plain}`,
        });
      }
      // A 10 kB name was repeated whole.
      const long = 'L'.repeat(10_240);
      expect(() =>
        buildSubmitRequest({ script, secretEnv: [`${long}=1`], env: [`${long}=2`] }),
      ).toThrow(
        `"${'L'.repeat(49)}… (10240 characters) is given by both --env and --secret-env; give it once`,
      );
      // Different names, and one name twice in one flag, stay as they were.
      const request = buildSubmitRequest({ script, env: ['A=1', 'A=2'], secretEnv: ['S=x'] });
      expect(request.env).toEqual({ A: '2', S: 'x' });
      expect(request.secret_env).toEqual(['S']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--file naming a folder or a missing file says what to do, naming the entry', () => {
    // `--file adir` said "cannot read adir: EISDIR", nothing more.
    const dir = mkdtempSync(join(tmpdir(), 'runbox-filedir-'));
    try {
      const script = join(dir, 'a.sh');
      writeFileSync(script, 'true');
      expect(() => buildSubmitRequest({ script, file: [dir] })).toThrow(
        `files.0: cannot read ${dir}: EISDIR (it is a folder; give its files one by one (--file DIR/*))`,
      );
      expect(() => buildSubmitRequest({ script, file: [join(dir, 'nope')] })).toThrow(
        /^files.0: cannot read .*nope: ENOENT \(no such file\)$/,
      );
      // A name with a byte that is not UTF-8 reaches runbox's argv with U+FFFD in its place.
      writeFileSync(Buffer.from(`${dir}/bad\xff.sh`, 'latin1'), 'true');
      const asTyped = join(dir, 'bad\uFFFD.sh');
      const cases: [JobFlagValues, string][] = [
        [{ script: asTyped }, 'script'],
        [{ script, file: [asTyped] }, 'files.0'],
      ];
      for (const [values, field] of cases) {
        expect(() => buildSubmitRequest(values)).toThrow(
          `${field}: cannot read ${asTyped}: ENOENT (its name is not valid UTF-8, and command-line arguments reach runbox as UTF-8 (U+FFFD for each invalid byte), so that name opens nothing; rename the file, or pipe it: the script as \`- --runtime R < FILE\`, an input as \`--file <(cat FILE):NAME\`)`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('schedule add refuses --delay, --run-at and --idempotency-key itself, naming the flag', async () => {
    // The server's refusal named job.run_at, a field nobody typed. Refused before any
    // request: the server given here does not exist.
    for (const [flag, value] of [
      ['--delay', '5m'],
      ['--run-at', '2030-01-01T00:00:00Z'],
      ['--idempotency-key', 'k'],
    ] as const) {
      const io = captureIO();
      const code = await runCommands(
        [
          'schedule',
          'add',
          'tick',
          '--cron',
          '* * * * *',
          '--runtime',
          'shell',
          '--command',
          'true',
          flag,
          value,
          '--server',
          'http://127.0.0.1:1',
        ],
        { io, startRunbox: () => Promise.reject(new Error('no server here')) },
        (ctx, setCode) => [scheduleCommand(ctx, setCode)],
      );
      expect(code, io.text()).toBe(64);
      expect(io.text()).toContain(
        `UsageError: ${flag} does not apply to a schedule: each due time runs a new job then`,
      );
    }
  });

  it('schedule add --help lists only the job flags a schedule takes', async () => {
    // README: each command lists only the flags that apply to it; the help offered
    // --delay, --run-at and --idempotency-key, which add then refused.
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await runCommands(
      ['schedule', 'add', '--help'],
      { io: captureIO(), startRunbox: () => Promise.reject(new Error('no server here')) },
      (ctx, setCode) => [scheduleCommand(ctx, setCode)],
    );
    const help = log.mock.calls.flat().join('\n');
    log.mockRestore();
    expect(help).toContain('--cron');
    expect(help).toContain('--webhook');
    for (const flag of ['--delay', '--run-at', '--idempotency-key']) {
      expect(help).not.toContain(flag);
    }
  });

  it('without a script or a runtime, asks for one rather than for a file extension', () => {
    // Seen from the CLI: `runbox schedule add tick --cron "* * * * *"` (the script is
    // optional there, for --image with --command) answered "no runtime is known for this
    // file extension", with no file given.
    expect(() => buildSubmitRequest({})).toThrow(
      'give a script, or --runtime or --image with --command',
    );
    const dir = mkdtempSync(join(tmpdir(), 'runbox-noruntime-'));
    try {
      const script = join(dir, 'job.xyz');
      writeFileSync(script, 'true');
      expect(() => buildSubmitRequest({ script })).toThrow(
        'give --runtime or --image (no runtime is known for the extension of job.xyz)',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('knows the same flags as yargs, command by command', async () => {
    expect(Object.keys(CLIENT_COMMAND_FLAGS).sort()).toEqual([...CLIENT_COMMANDS].sort());
    for (const [command, spec] of Object.entries(CLIENT_COMMAND_FLAGS)) {
      // yargs prints help through console.log.
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      await viaYargs([command, '--help']);
      const help = log.mock.calls.flat().join('\n');
      log.mockRestore();
      const inHelp = new Set([...help.matchAll(/^\s+(?:-[a-z], )?--([a-z-]+)/gm)].map((m) => m[1]));
      for (const name of ['help', 'version', 'config']) inHelp.delete(name);
      expect([...inHelp].sort(), command).toEqual(Object.keys(spec.flags).sort());
    }
  });
});
