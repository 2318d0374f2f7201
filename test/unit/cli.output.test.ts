import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// processIO prints text with writeSync on Linux (src/cli/output.ts) and streams bytes
// through process.stdout/stderr: run in a child whose stdout and stderr are pipes, as
// under `runbox submit | jq` or the bench, and read what arrives.
const OUTPUT = resolve(import.meta.dirname, '../../src/cli/output.ts');

function runChild(
  code: string,
  readAfterMs = 0,
  readerGone = false,
): Promise<{ code: number | null; out: Buffer; err: Buffer }> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { processIO } from ${JSON.stringify(OUTPUT)};\n${code}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stderr.on('data', (c: Buffer) => err.push(c));
    // A reader that starts late lets the pipe fill, so the child's writes meet a full pipe.
    if (readerGone) child.stdout.destroy();
    else child.stdout.pause();
    if (!readerGone)
      setTimeout(() => child.stdout.on('data', (c: Buffer) => out.push(c)).resume(), readAfterMs);
    child.on('error', fail);
    child.on('close', (exit) =>
      done({ code: exit, out: Buffer.concat(out), err: Buffer.concat(err) }),
    );
  });
}

describe('processIO', () => {
  it('keeps text and streamed bytes in the order they were written, on stdout and stderr', async () => {
    const r = await runChild(`
      processIO.out('first');
      processIO.err('an error ünïcödé');
      processIO.stdout.write('streamed\\n');
      processIO.out('after the stream');
      processIO.stderr.write(Buffer.from([0xff, 0xfe, 0x0a]));
      processIO.err('last');`);
    expect(r.code).toBe(0);
    expect(r.out.toString()).toBe('first\nstreamed\nafter the stream\n');
    expect(r.err).toEqual(
      Buffer.concat([
        Buffer.from('an error ünïcödé\n'),
        Buffer.from([0xff, 0xfe, 0x0a]),
        Buffer.from('last\n'),
      ]),
    );
  });

  it('delivers every byte of text far larger than a pipe to a slow reader, also once the pipe is non-blocking', async () => {
    // process.stdout touched directly (not through processIO) makes fd 1 non-blocking:
    // writeSync then meets EAGAIN on the full pipe and the rest must go through the stream.
    const line = 'x'.repeat(1023);
    const r = await runChild(
      `const line = ${JSON.stringify(line)};
      for (let i = 0; i < 512; i++) processIO.out(String(i).padStart(6, '0') + line);
      void process.stdout.isTTY;
      for (let i = 512; i < 1024; i++) processIO.out(String(i).padStart(6, '0') + line);
      processIO.out('end');`,
      500,
    );
    expect(r.code).toBe(0);
    expect(r.err.toString()).toBe('');
    const lines = r.out.toString().split('\n');
    expect(lines).toHaveLength(1026);
    for (let i = 0; i < 1024; i++) expect(lines[i]).toBe(String(i).padStart(6, '0') + line);
    expect(lines.slice(1024)).toEqual(['end', '']);
  }, 30_000);

  it('stops printing where the reader went away (`runbox ls --json | head`), quietly, and the command ends as it would have', async () => {
    // Text before and after the stream was created, and streamed bytes: every path to a
    // closed pipe. It crashed with an unhandled EPIPE and a stack trace.
    const r = await runChild(
      `const big = 'y'.repeat(200_000);
      processIO.out('a line');
      processIO.out(big);
      processIO.stdout.write('streamed\\n');
      processIO.out(big);
      await new Promise((resolve) => setTimeout(resolve, 200));
      processIO.out('more after');
      processIO.err('still on stderr');
      process.exitCode = 3;`,
      0,
      true,
    );
    expect(r.err.toString()).toBe('still on stderr\n');
    expect(r.code).toBe(3);
  }, 30_000);
});

/** Runs `code` with stdout on /dev/full, where every write fails with ENOSPC. */
function runOnFullDisk(code: string): Promise<{ code: number | null; err: string }> {
  const full = openSync('/dev/full', 'w');
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { processIO } from ${JSON.stringify(OUTPUT)};\n${code}`,
      ],
      { stdio: ['ignore', full, 'pipe'] },
    );
    closeSync(full);
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', fail);
    child.on('close', (exit) => done({ code: exit, err }));
  });
}

describe('processIO on a stdout that fails (`runbox ls --json > /dev/full`)', () => {
  it('says so once on stderr, prints nothing more there, and exits 74 where it would have exited 0', async () => {
    // The stream's ENOSPC was rethrown from its 'error' event: a stack trace and exit 1.
    const r = await runOnFullDisk(`
      processIO.out('text');
      processIO.stdout.write('streamed\\n');
      await new Promise((resolve) => setTimeout(resolve, 100));
      processIO.out('more');
      processIO.err('still on stderr');`);
    expect(r.err).toBe(
      'runbox: cannot write to stdout (ENOSPC); the rest is not printed\nstill on stderr\n',
    );
    expect(r.code).toBe(74);
  }, 30_000);

  it("keeps a command's own failure code, and fails a stream-only write too", async () => {
    const r = await runOnFullDisk(`
      processIO.stdout.write('streamed\\n');
      process.exitCode = 66;`);
    expect(r.err).toBe('runbox: cannot write to stdout (ENOSPC); the rest is not printed\n');
    expect(r.code).toBe(66);
  }, 30_000);
});

describe('error messages on a terminal', () => {
  it('shows escape sequences, 8-bit controls and bidirectional overrides as \\uXXXX, keeps newlines and tabs', async () => {
    const { shownText } = await import('../../src/cli/output.js');
    expect(shownText('output "a\u001b[2Jb" too large\n\tsecond line')).toBe(
      'output "a\\u001b[2Jb" too large\n\tsecond line',
    );
    expect(shownText('x\u009b31my \u202eevil\u0000\u007f')).toBe(
      'x\\u009b31my \\u202eevil\\u0000\\u007f',
    );
    expect(shownText('naïve ☃ plain')).toBe('naïve ☃ plain');
  });

  it('a failure quoting a job-chosen name prints it escaped, in one line of its own', async () => {
    const { reportError } = await import('../../src/cli/reportError.js');
    const { RunboxError } = await import('../../src/errors/index.js');
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
    const code = reportError(
      new RunboxError('OutputLimitExceeded', 'the tar ends inside out/\u001b]0;pwned\u0007x'),
      false,
      io as never,
    );
    expect(code).toBeGreaterThan(0);
    expect(lines).toEqual([
      'runbox: OutputLimitExceeded: the tar ends inside out/\\u001b]0;pwned\\u0007x',
    ]);
  });
});

describe('tables', () => {
  it('escape every control character of a cell, newline and tab included, and keep columns aligned', async () => {
    const { table } = await import('../../src/cli/output.js');
    expect(
      table([
        ['NAME', 'LAST ERROR'],
        ['nightly', 'image "x\u001b[2J" refused\nfake row\there'],
        ['n2', ''],
      ]).split('\n'),
    ).toEqual([
      'NAME     LAST ERROR',
      'nightly  image "x\\u001b[2J" refused\\u000afake row\\u0009here',
      'n2',
    ]);
  });

  it('pad by the columns a terminal shows: CJK and emoji take two, combining marks none', async () => {
    const { table } = await import('../../src/cli/output.js');
    const { displayWidth } = await import('../../src/cli/displayWidth.js');
    expect(displayWidth('a.txt')).toBe(5);
    expect(displayWidth('数据.csv')).toBe(8);
    expect(displayWidth('ｆｕｌｌ')).toBe(8);
    expect(displayWidth('한글')).toBe(4);
    expect(displayWidth('🙂x')).toBe(3);
    expect(displayWidth('👩‍👩‍👧')).toBe(2);
    expect(displayWidth('☺️')).toBe(2);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(displayWidth('\u200b')).toBe(0);
    // `runbox outputs` put each CJK name's next column one place left per character.
    expect(
      table([
        ['PATH', 'SIZE'],
        ['a.txt', '5'],
        ['数据.csv', '12'],
        ['🙂.png', '3'],
      ]).split('\n'),
    ).toEqual(['PATH      SIZE', 'a.txt     5', '数据.csv  12', '🙂.png    3']);
  });
});
