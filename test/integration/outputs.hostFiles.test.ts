import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { writeOutputs } from '../../src/cli/writeOutputs.js';
import { createFileBlobStore } from '../../src/storage/index.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { runCliProcess, startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';
import { testConfig } from '../helpers/testConfig.js';

/**
 * Nothing runbox writes on the user's disk follows or creates a link that leaves the
 * chosen folder. A hostile job leaves links to /etc/passwd, to ../.., one that escapes
 * through a folder link, hard links, and names with spaces and non-ASCII; the folder
 * already holds links pointing outside at names the job also uses. Both writers are
 * driven from outside: `runbox run -o DIR` and `runbox outputs ID -o DIR` (a resume,
 * where a partial file at the name is a link to a file outside).
 */

const HOSTILE_JOB = [
  'cd "$RUNBOX_OUTPUTS"',
  'printf "data\\n" > "plain file é.txt"',
  'ln -s /etc/passwd passwd',
  'ln -s ../.. up',
  'mkdir -p "sub dir/deeper"',
  'ln -s "../plain file é.txt" "sub dir/inside"',
  'ln -s "deeper/../../../escape" "sub dir/esc"',
  'printf "job wrote this\\n" > victim.txt',
  'mkdir d && printf "x\\n" > d/f.txt',
  // Inside DIR as written, outside through the link DIR already has at d.
  'ln -s d/target.txt via',
  'printf "0123456789" > resume.txt',
  'printf "first\\n" > first.txt && ln first.txt second.txt',
].join('\n');

/** A folder beside DIR standing for everything outside it, and DIR with traps laid. */
function layTraps(base: string): { dir: string; outside: string } {
  const outside = join(base, 'outside');
  const dir = join(base, 'dir');
  mkdirSync(outside, { recursive: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(outside, 'target.txt'), 'original\n');
  writeFileSync(join(outside, 'partial.txt'), '01234');
  symlinkSync(join(outside, 'target.txt'), join(dir, 'victim.txt'));
  symlinkSync(outside, join(dir, 'd'));
  symlinkSync(join(outside, 'partial.txt'), join(dir, 'resume.txt'));
  return { dir, outside };
}

function expectOutsideUntouched(outside: string): void {
  expect(readdirSync(outside).sort()).toEqual(['partial.txt', 'target.txt']);
  expect(readFileSync(join(outside, 'target.txt'), 'utf8')).toBe('original\n');
  expect(readFileSync(join(outside, 'partial.txt'), 'utf8')).toBe('01234');
}

function expectSafeCopy(dir: string): void {
  expect(readFileSync(join(dir, 'plain file é.txt'), 'utf8')).toBe('data\n');
  // Links that leave DIR are not made; one that stays inside is.
  for (const name of ['passwd', 'up', 'sub dir/esc', 'via']) {
    expect(() => lstatSync(join(dir, name)), name).toThrow(/ENOENT/);
  }
  expect(readlinkSync(join(dir, 'sub dir/inside'))).toBe('../plain file é.txt');
  expect(readFileSync(join(dir, 'sub dir/inside'), 'utf8')).toBe('data\n');
  // The links already in DIR are left as they were, not written through.
  expect(lstatSync(join(dir, 'victim.txt')).isSymbolicLink()).toBe(true);
  expect(lstatSync(join(dir, 'd')).isSymbolicLink()).toBe(true);
  expect(lstatSync(join(dir, 'resume.txt')).isSymbolicLink()).toBe(true);
  // Both names of the hard-linked file arrive as regular files.
  for (const name of ['first.txt', 'second.txt']) {
    expect(lstatSync(join(dir, name)).isFile(), name).toBe(true);
    expect(readFileSync(join(dir, name), 'utf8')).toBe('first\n');
  }
}

describe('writing outputs on the host', () => {
  const sandbox = useProcessSandbox('hostfiles');

  /** Starts a server (one slot), submits a job script through the CLI and waits for it. */
  async function submitThroughServer(name: string, text: string) {
    const configFile = writeTestConfig(sandbox.dataDir);
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const script = join(sandbox.dataDir, name);
    writeFileSync(script, text);
    const submitted = await runCliProcess([
      'submit',
      script,
      '--wait',
      '--json',
      '--server',
      server.url,
    ]);
    expect(submitted.code, submitted.stderr).toBe(0);
    return { server, job: JSON.parse(submitted.stdout) as JobView };
  }

  it('run -o DIR: no link out of DIR is made or written through; each refusal is a warning', async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const script = join(sandbox.dataDir, 'hostile.sh');
    writeFileSync(script, HOSTILE_JOB);
    const { dir, outside } = layTraps(join(sandbox.dataDir, 'host'));
    const run = await runCliProcess([
      'run',
      script,
      '-o',
      dir,
      '--config',
      configFile,
      '--data-dir',
      sandbox.dataDir,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expectOutsideUntouched(outside);
    expectSafeCopy(dir);
    for (const name of [
      'passwd',
      'up',
      'sub dir/esc',
      'via',
      'victim.txt',
      'd/f.txt',
      'resume.txt',
    ]) {
      expect(run.stderr, name).toContain(`${name}`);
    }
    expect(run.stderr).toMatch(/warning/);
  });

  it('outputs ID -o DIR: a resume never appends through a link; refused files exit 1', async () => {
    const { server, job } = await submitThroughServer('hostile.sh', HOSTILE_JOB);
    const { dir, outside } = layTraps(join(sandbox.dataDir, 'host'));
    const got = await runCliProcess(['outputs', job.id, '-o', dir, '--server', server.url]);
    expect(got.code, got.stderr).toBe(1);
    expectOutsideUntouched(outside);
    expectSafeCopy(dir);
    expect(got.stderr).toMatch(/resume\.txt is a symlink/);
    expect(got.stdout).toContain('plain file é.txt  5 bytes  sha256 ok');
  });

  it('outputs ID -o DIR: a name too long for the disk is a refusal (exit 1), not an Internal error', async () => {
    const { server, job } = await submitThroughServer(
      'long.sh',
      [
        'cd "$RUNBOX_OUTPUTS"',
        `printf x > "$(head -c 255 /dev/zero | tr '\\0' '\\377')"`,
        'printf ok > zz-fine.txt',
      ].join('\n'),
    );
    expect(job.result!.outputs.map((o) => Buffer.byteLength(o.path)).sort()).toEqual([11, 765]);
    const dir = join(sandbox.dataDir, 'long');
    const got = await runCliProcess(['outputs', job.id, '-o', dir, '--server', server.url]);
    // Before: "runbox: Internal: ENAMETOOLONG", exit 70, and nothing after that name.
    expect(got.code, got.stderr).toBe(1);
    expect(got.stderr).toMatch(/warning: .* has a name longer than 255 bytes/);
    expect(got.stdout).toContain('zz-fine.txt  2 bytes  sha256 ok');
    expect(readFileSync(join(dir, 'zz-fine.txt'), 'utf8')).toBe('ok');
  });

  // Names went to the terminal raw: a job could colour it, clear it, or forge a line
  // such as "x  1 bytes  sha256 ok" with a newline in a name.
  it('outputs ID (and -o DIR) prints a name with control characters escaped and quoted', async () => {
    const { server, job } = await submitThroughServer(
      'names.sh',
      [
        'cd "$RUNBOX_OUTPUTS"',
        `printf x > "$(printf 'red\\033[31m\\nforged  1 bytes  sha256 ok')"`,
        `ln -s "$(printf '/etc/\\033[2J')" "$(printf 'bell\\a\\342\\200\\256txt')"`,
      ].join('\n'),
    );
    expect(job.result!.outputs.map((o) => o.path).sort()).toEqual([
      'bell\u0007\u202etxt',
      'red\u001b[31m\nforged  1 bytes  sha256 ok',
    ]);
    const red = '"red\\u001b[31m\\nforged  1 bytes  sha256 ok"';
    const bell = '"bell\\u0007\\u202etxt"';
    const listed = await runCliProcess(['outputs', job.id, '--server', server.url]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(red);
    expect(listed.stdout).toContain(`${bell}`);
    expect(listed.stdout).toContain('-> "/etc/\\u001b[2J"');
    const dir = join(sandbox.dataDir, 'named');
    const got = await runCliProcess(['outputs', job.id, '-o', dir, '--server', server.url]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toBe(`${red}  1 bytes  sha256 ok\n`);
    expect(got.stderr).toContain(`symlink ${bell} -> "/etc/\\u001b[2J" points outside`);
    for (const printed of [listed.stdout, got.stdout, got.stderr]) {
      const raw = [...printed].filter((c) => (c < ' ' && c !== '\n') || c === '\u202e');
      expect(raw).toEqual([]);
    }
    expect(readFileSync(join(dir, 'red\u001b[31m\nforged  1 bytes  sha256 ok'), 'utf8')).toBe('x');
  });
});

describe('writeOutputs', () => {
  it('refuses absolute names, names with . or .. parts, and a file over a folder', async () => {
    const { config, cleanup } = testConfig();
    try {
      const store = await createFileBlobStore(config);
      const blob = await store.put(Readable.from([Buffer.from('payload')]));
      const file = (path: string) => ({
        path,
        type: 'file' as const,
        size: blob.size,
        sha256: blob.sha256,
        compressed_size: blob.compressedSize,
        link_target: null,
      });
      const dir = join(config.dataDir, 'out');
      const refused = await writeOutputs(
        store,
        [
          file('../escaped'),
          file('/abs'),
          file('a/./b'),
          file('a//b'),
          file('ok/été.txt'),
          file('ok'),
          // A Linux name's own character, not a separator: written as it is.
          file('back\\slash'),
        ],
        dir,
      );
      expect(refused.map((r) => r.path)).toEqual(['../escaped', '/abs', 'a/./b', 'a//b', 'ok']);
      expect(readdirSync(config.dataDir)).not.toContain('escaped');
      expect(readdirSync(dir).sort()).toEqual(['back\\slash', 'ok']);
      expect(readFileSync(join(dir, 'back\\slash'), 'utf8')).toBe('payload');
      expect(readFileSync(join(dir, 'ok/été.txt'), 'utf8')).toBe('payload');
    } finally {
      cleanup();
    }
  });

  // A job's 255 invalid bytes are 765 bytes of U+FFFD in the manifest, and a job may nest
  // folders past the host's PATH_MAX: each ended the whole write Internal (ENAMETOOLONG).
  it('refuses names and paths too long for the disk, and writes the rest', async () => {
    const { config, cleanup } = testConfig();
    try {
      const store = await createFileBlobStore(config);
      const blob = await store.put(Readable.from([Buffer.from('payload')]));
      const file = (path: string) => ({
        path,
        type: 'file' as const,
        size: blob.size,
        sha256: blob.sha256,
        compressed_size: blob.compressedSize,
        link_target: null,
      });
      const replaced = '\ufffd'.repeat(255);
      const deep = `${Array.from({ length: 20 }, () => 'd'.repeat(250)).join('/')}/f`;
      const dir = join(config.dataDir, 'out');
      const refused = await writeOutputs(
        store,
        [
          file(replaced),
          file(deep),
          file('fine.txt'),
          {
            path: 'far',
            type: 'symlink' as const,
            size: 0,
            sha256: null,
            compressed_size: null,
            link_target: 'x/'.repeat(2100),
          },
        ],
        dir,
      );
      expect(refused.map((r) => r.path)).toEqual([replaced, deep, 'far']);
      expect(refused[0]!.reason).toMatch(/longer than 255 bytes/);
      expect(refused[1]!.reason).toMatch(/too long/);
      expect(readFileSync(join(dir, 'fine.txt'), 'utf8')).toBe('payload');
    } finally {
      cleanup();
    }
  });

  // A link to "." was refused as pointing "outside the output folder": the lexical check
  // took DIR itself for outside while the check on disk let it in.
  it('recreates links to the output folder itself; refuses only those that leave it', async () => {
    const { config, cleanup } = testConfig();
    try {
      const store = await createFileBlobStore(config);
      const link = (path: string, target: string) => ({
        path,
        type: 'symlink' as const,
        size: 0,
        sha256: null,
        compressed_size: null,
        link_target: target,
      });
      const dir = join(config.dataDir, 'out');
      mkdirSync(join(dir, 'sub'), { recursive: true });
      const refused = await writeOutputs(
        store,
        [link('dot', '.'), link('sub/up', '..'), link('sub/upup', '../..'), link('up', '..')],
        dir,
      );
      expect(readlinkSync(join(dir, 'dot'))).toBe('.');
      expect(readlinkSync(join(dir, 'sub/up'))).toBe('..');
      expect(refused).toEqual([
        {
          path: 'sub/upup',
          reason: 'symlink sub/upup -> ../.. points outside the output folder; skipped',
        },
        { path: 'up', reason: 'symlink up -> .. points outside the output folder; skipped' },
      ]);
    } finally {
      cleanup();
    }
  });
});
