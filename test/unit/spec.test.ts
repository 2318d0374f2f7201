import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { InvalidSpecError } from '../../src/errors/index.js';
import { parseGpusFlag } from '../../src/spec/gpus.js';
import { parseJobSpec, splitSubmission } from '../../src/spec/parseJobSpec.js';
import { parseSize } from '../../src/spec/parseSize.js';

const config = loadConfig({
  env: {},
  overrides: { dataDir: '/tmp/runbox-spec-test', allow: { images: ['*'] } },
});

function fieldOf(input: unknown): string | null {
  try {
    parseJobSpec(input, config);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSpecError);
    return (error as InvalidSpecError).field;
  }
}

describe('parseJobSpec', () => {
  it('a value outside a fixed set names the values it may take, not "expected union value"', () => {
    const shell = { runtime: 'shell', script: { path: 'a.sh', content: 'true' } };
    expect(() => parseJobSpec({ ...shell, network: 'host' }, config)).toThrow(
      'network: expected one of "none", "bridge" (got "host")',
    );
    expect(() => parseJobSpec({ ...shell, pull_policy: 'sometimes' }, config)).toThrow(
      'pull_policy: expected one of "if-not-present", "always", "never" (got "sometimes")',
    );
  });

  it('a size that is not one (0, -1, 1.5 bytes) says what a size is, not "expected union value"', () => {
    const shell = { runtime: 'shell', script: { path: 'a.sh', content: 'true' } };
    for (const [field, value] of [
      ['log_bytes', 0],
      ['output_bytes', -1],
      ['memory', 1.5],
    ] as const) {
      expect(() => parseJobSpec({ ...shell, limits: { [field]: value } }, config)).toThrow(
        `limits.${field}: expected a whole number of bytes of at least 1, or a size like "512m" (got ${value})`,
      );
    }
  });

  it('resolves a runtime to its image and command, with the script in /work', () => {
    const spec = parseJobSpec(
      { runtime: 'python:3.11', script: { path: 'job.py', content: 'print(1)' }, args: ['x'] },
      config,
    );
    expect(spec.image).toBe('python:3.11-slim');
    expect(spec.command).toEqual(['python3', 'job.py', 'x']);
    expect(spec.files[0]).toMatchObject({ path: 'job.py', mode: 0o755 });
    expect(spec.network).toBe('none');
    expect(spec.timeoutMs).toBe(300_000);
  });

  it("runs an image's script the way its extension's runtime would when no command is given", () => {
    const spec = parseJobSpec(
      { image: 'runbox-test/shell', script: { path: 'my job.sh', content: 'echo hi' } },
      config,
    );
    expect(spec.image).toBe('runbox-test/shell');
    expect(spec.command).toEqual(['sh', 'my job.sh']);
    expect(fieldOf({ image: 'busybox', script: { path: 'job.txt', content: '' } })).toBe('command');
  });

  it('reads base64 with whitespace anywhere and padding only at the end, refusing the rest', () => {
    const content = (text: string) =>
      parseJobSpec(
        {
          runtime: 'shell',
          script: { path: 'a.sh', content: 'true' },
          files: [{ path: 'in.bin', content: text, encoding: 'base64' }],
        },
        config,
      ).files[1]!.content;
    expect(content('/w==')).toEqual(Buffer.from([0xff]));
    expect(content(' /w\n= =\n')).toEqual(Buffer.from([0xff]));
    expect(content('AAEC\r\nAwQF')).toEqual(Buffer.from([0, 1, 2, 3, 4, 5]));
    expect(content('')).toEqual(Buffer.alloc(0));
    for (const bad of ['/w===', '/w=A=', '=/w', 'a-b_', '/w==x', 'é']) {
      expect(() => content(bad), bad).toThrow('files.0.content: is not valid base64');
    }
    // A long input is checked in one pass (no copy without its whitespace).
    const big = Buffer.alloc(12 * 1024 * 1024, 0xab);
    expect(content(big.toString('base64')).equals(big)).toBe(true);
  });

  it('refuses a job whose script and files pass 128 MiB in all, naming the file that does', () => {
    const half = Buffer.alloc(64 * 1024 * 1024).toString('base64');
    const spec = (last: string) => ({
      runtime: 'shell',
      script: { path: 'a.sh', content: 'true' },
      files: [
        { path: 'a.bin', content: half, encoding: 'base64' },
        { path: 'b.bin', content: half, encoding: 'base64' },
        { path: 'c.txt', content: last },
      ],
    });
    // 4 bytes of script + 128 MiB: one byte more than the bound already.
    expect(() => parseJobSpec(spec(''), config)).toThrow(
      `files.1.content: brings the inputs to ${128 * 1024 * 1024 + 4} bytes: the script and files of one job hold at most 128 MiB in all`,
    );
    // An empty script runs only under a command of its own (an empty one is refused).
    const fits = { ...spec(''), script: { path: 'a.sh', content: '' }, command: ['true'] };
    expect(parseJobSpec(fits, config).files.map((f) => f.content.length)).toEqual([
      0,
      64 * 1024 * 1024,
      64 * 1024 * 1024,
      0,
    ]);
    expect(
      fieldOf({ ...fits, files: [...fits.files.slice(0, 2), { path: 'c', content: 'x' }] }),
    ).toBe('files.2.content');
  });

  it('gives a script whose name starts with a dash as ./NAME, never as an option', () => {
    // Before: ["sh", "-x.sh"], and sh failed "Illegal option -." (python3 and node alike).
    const dashed = (runtime: string, path: string) =>
      parseJobSpec({ runtime, script: { path, content: 'true' } }, config).command;
    expect(dashed('shell', '-x.sh')).toEqual(['sh', './-x.sh']);
    expect(dashed('python:3.11', '--version.py')).toEqual(['python3', './--version.py']);
    expect(dashed('node:20', '-e.js')).toEqual(['node', './-e.js']);
    expect(dashed('shell', 'sub/-x.sh')).toEqual(['sh', 'sub/-x.sh']);
  });

  it('refuses argv and env strings the kernel or the engine cannot carry: NUL, lone surrogates', () => {
    // Before: args ["a\0"] ran and failed "exec /sbin/docker-init: invalid argument";
    // env {"A": "\ud800"} failed every attempt Internal "URI malformed".
    const base = { runtime: 'shell', script: { path: 'a.sh', content: 'echo' } };
    const bad = (input: Record<string, unknown>) => {
      try {
        parseJobSpec({ ...base, ...input }, config);
        return null;
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidSpecError);
        return `${(error as InvalidSpecError).field}: ${(error as Error).message}`;
      }
    };
    expect(bad({ args: ['ok', 'a\0b'] })).toMatch(/^args\.1: .*NUL/);
    expect(bad({ args: ['\ud800'] })).toMatch(/^args\.0: .*lone UTF-16 surrogate/);
    expect(bad({ command: ['sh', '-c', 'echo \udfff'] })).toMatch(/^command\.2: .*surrogate/);
    expect(bad({ command: ['sh\0'] })).toMatch(/^command\.0: .*NUL/);
    expect(bad({ env: { A: 'x\ud83d' } })).toMatch(/^env\.A: .*surrogate/);
    expect(bad({ env: { A: 'x\0' } })).toMatch(/^env\.A: .*NUL/);
    expect(bad({ files: [{ path: 'f\udc00.txt', content: '' }] })).toMatch(/^files\.0\.path: /);
    // Whole pairs (emoji), non-ASCII and newlines are text and pass.
    expect(
      bad({ args: ['😀 ünï\nline'], env: { A: '😀' }, files: [{ path: 'ü 😀.txt', content: '' }] }),
    ).toBeNull();
  });

  it('refuses input paths that cannot all be files: a folder path, a file under another file', () => {
    // Before: accepted (201), then every attempt failed Internal "Docker engine error
    // while running the job: EISDIR" (or ENOTDIR) when the worker wrote the files.
    const bad = (script: string, files: string[]) => {
      try {
        parseJobSpec(
          {
            runtime: 'shell',
            script: { path: script, content: 'echo' },
            files: files.map((path) => ({ path, content: '1' })),
          },
          config,
        );
        return null;
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidSpecError);
        return `${(error as InvalidSpecError).field}: ${(error as Error).message}`;
      }
    };
    expect(bad('a.sh', ['x/'])).toMatch(/^files\.0\.path: .*names a folder/);
    expect(bad('a.sh/', [])).toMatch(/^script\.path: .*names a folder/);
    expect(bad('a.sh', ['x', 'x/y'])).toMatch(/^files\.1\.path: .*"x\/y" needs "x" .* is a file/);
    expect(bad('x', ['x/y/z'])).toMatch(/^files\.0\.path: .*"x\/y\/z" needs "x" .* is a file/);
    expect(bad('a.sh', ['d/e/f', 'd/e'])).toMatch(
      /^files\.1\.path: .*"d\/e" is a file, .*folder of "d\/e\/f"/,
    );
    // Files side by side in shared folders, and names that only share a prefix, pass.
    expect(bad('d/a.sh', ['d/b', 'd/e/f', 'd/e/g', 'xy', 'x/y', 'x.txt'])).toBeNull();
  });

  it('names the field at fault for each kind of bad spec, before anything runs', () => {
    expect(fieldOf({ runtime: 'cobol', script: { path: 'a', content: '' } })).toBe('runtime');
    expect(fieldOf({ script: { path: 'a', content: '' } })).toBe('runtime');
    expect(
      fieldOf({ runtime: 'shell', script: { path: 'a', content: '' }, timeout_seconds: -1 }),
    ).toBe('timeout_seconds');
    expect(
      fieldOf({ runtime: 'shell', script: { path: 'a', content: '' }, timeout_seconds: 'soon' }),
    ).toBe('timeout_seconds');
    expect(fieldOf({ runtime: 'shell', script: { path: 'a', content: '' }, env: { A: 1 } })).toBe(
      'env.A',
    );
    expect(
      fieldOf({ runtime: 'shell', script: { path: 'a', content: '' }, env: { '1BAD': 'x' } }),
    ).toBe('env.1BAD');
    expect(
      fieldOf({ runtime: 'shell', script: { path: 'a', content: '' }, env: { RUNBOX_WORK: 'x' } }),
    ).toBe('env.RUNBOX_WORK');
    // Set by runbox to the attempt's number (README, Inside the container).
    expect(
      fieldOf({
        runtime: 'shell',
        script: { path: 'a', content: '' },
        env: { RUNBOX_ATTEMPT: '9' },
      }),
    ).toBe('env.RUNBOX_ATTEMPT');
    expect(
      fieldOf({ runtime: 'shell', script: { path: 'a', content: '' }, limits: { memory: 'lots' } }),
    ).toBe('limits.memory');
    expect(fieldOf({ runtime: 'shell', script: { path: '../etc/x', content: '' } })).toBe(
      'script.path',
    );
    expect(fieldOf({ runtime: 'shell', script: { path: '/abs', content: '' } })).toBe(
      'script.path',
    );
    expect(fieldOf({ runtime: 'shell', script: { path: 'a', content: '' }, network: 'host' })).toBe(
      'network',
    );
    expect(fieldOf({ runtime: 'shell', script: { path: 'a', content: '' }, bogus: 1 })).toBe(
      'bogus',
    );
    expect(fieldOf({ image: 'busybox' })).toBe('command');
    expect(fieldOf({ runtime: 'shell' })).toBe('script');
    expect(
      fieldOf({ runtime: 'shell', script: { path: 'a', content: '' }, secret_env: ['NOPE'] }),
    ).toBe('secret_env');
  });

  it('takes only image names the engine reads as names, so no path reaches its URL', () => {
    // "myorg/../x" under allow.images "myorg/*" was accepted, and the engine's redirect
    // for its inspect URL ended the server (and again after each restart).
    const command = ['true'];
    for (const image of [
      'myorg/../x',
      '../x',
      'a/./b',
      'a//b',
      'a/b/',
      'a/../../containers/json',
      'a?b',
      'a:b:c',
      'a@sha256:short',
      '-a',
      'a.',
    ]) {
      expect(() => parseJobSpec({ image, command }, config), image).toThrow(
        'is not a valid image reference',
      );
    }
    for (const image of [
      'busybox',
      'myorg/tool:1.2',
      'my_org/tool__x-y.z:latest',
      'registry.example.com:5000/team/tool:v1',
      'localhost:5000/tool',
      '[::1]:5000/tool',
      `tool@sha256:${'a'.repeat(64)}`,
      `tool:1@sha256:${'a'.repeat(64)}`,
      `sha256:${'b'.repeat(64)}`,
      'd43714b86e68',
    ]) {
      expect(parseJobSpec({ image, command }, config).image, image).toBe(image);
    }
  });

  it("refuses a CPU limit below the kernel's smallest quota before it reaches the engine", () => {
    // --cpus 0.001 was stored and run: runc failed the start ("cpu.cfs_quota_us: invalid
    // argument") and the job ended Internal, exit 70, naming no flag.
    const script = { path: 'a.sh', content: 'true' };
    expect(fieldOf({ runtime: 'shell', script, limits: { cpus: 0.001 } })).toBe('limits.cpus');
    expect(fieldOf({ runtime: 'shell', script, limits: { cpus: 0.0099 } })).toBe('limits.cpus');
    expect(() =>
      parseJobSpec({ runtime: 'shell', script, limits: { cpus: 0.005 } }, config),
    ).toThrow(/0\.005 is below 0\.01.*ask for 0\.01 or more/);
    expect(
      parseJobSpec({ runtime: 'shell', script, limits: { cpus: 0.01 } }, config).nanoCpus,
    ).toBe(10_000_000);
  });

  it('refuses a timeout shorter than the millisecond it is kept in, instead of recording 0 s', () => {
    // A stranger's timeout_seconds 1e-9 was accepted, recorded in the result's sandbox
    // as timeout_seconds 0 and killed at once "after its timeout of 0 s".
    const shell = { runtime: 'shell', script: { path: 'a.sh', content: 'true' } };
    expect(() => parseJobSpec({ ...shell, timeout_seconds: 1e-9 }, config)).toThrow(
      'timeout_seconds: 1e-9 is below 0.001, the shortest timeout runbox keeps; ask for 0.001 or more',
    );
    expect(fieldOf({ ...shell, timeout_seconds: 0.0004 })).toBe('timeout_seconds');
    expect(parseJobSpec({ ...shell, timeout_seconds: 0.001 }, config).timeoutMs).toBe(1);
  });

  it('never quotes back what was sent as secret_env, and says what it takes', () => {
    const shell = { runtime: 'shell', script: { path: 'a.sh', content: 'true' } };
    for (const [secret_env, field] of [
      [{ TOKEN: 'hunter2-secret' }, 'secret_env'],
      [['TOKEN', { TOKEN: 'hunter2-secret' }], 'secret_env.1'],
    ] as const) {
      let error: unknown;
      try {
        parseJobSpec({ ...shell, env: { TOKEN: 'x' }, secret_env }, config);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(InvalidSpecError);
      expect((error as InvalidSpecError).field).toBe(field);
      expect((error as InvalidSpecError).message).not.toContain('hunter2');
      expect((error as InvalidSpecError).message).toContain(
        'secret_env lists names of env entries whose values are secret, e.g. "env": {"TOKEN": "…"}, "secret_env": ["TOKEN"]',
      );
    }
  });

  it('counts an input path in UTF-8 bytes too: 1,024 characters of emoji pass the schema, not the kernel', () => {
    const shell = { runtime: 'shell', script: { path: 'a.sh', content: 'true' } };
    // 1,024 characters in parts of 50 emoji (200 bytes each, under NAME_MAX).
    const path = `${'😀'.repeat(50)}/`.repeat(20) + 'x'.repeat(4);
    expect([...path]).toHaveLength(1024);
    expect(() => parseJobSpec({ ...shell, files: [{ path, content: 'x' }] }, config)).toThrow(
      'files.0.path: is 4024 bytes as UTF-8; a path may be at most 1024 bytes',
    );
  });

  it('never quotes an env value of the wrong type back: any may be a secret', () => {
    const shell = { runtime: 'shell', script: { path: 'a.sh', content: 'true' } };
    for (const [value, sent] of [
      [12345678, 'a number'],
      [{ v: 'OBJVALSECRET' }, 'an object'],
      [['ARRSECRET'], 'an array'],
      [null, 'null'],
    ] as const) {
      let message = '';
      try {
        parseJobSpec({ ...shell, env: { X: value }, secret_env: ['X'] }, config);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe(
        `env.X: expected string (${sent} was sent; env values are not repeated, as any may be secret)`,
      );
    }
  });

  it('names a NUL in an input path as the fault, and cuts a long path it quotes', () => {
    const shell = { runtime: 'shell', script: { path: 'a.sh', content: 'true' } };
    expect(() =>
      parseJobSpec({ ...shell, files: [{ path: 'in\u0000.txt', content: 'x' }] }, config),
    ).toThrow('files.0.path: "in\\u0000.txt" holds a NUL byte, which no file name can; remove it');
    expect(() =>
      parseJobSpec(
        { ...shell, script: { path: `/${'d/'.repeat(400)}a.sh`, content: 'x' } },
        config,
      ),
    ).toThrow(/^script\.path: "\/d\/d.*… \(805 characters\) must be a relative path inside/);
  });

  it('says what to do in the message', () => {
    expect(() => parseJobSpec({ runtime: 'cobol' }, config)).toThrow(
      /known runtimes: python:3\.11, node:20, shell/,
    );
  });

  it('shows the offending value whole when short, visibly cut when long', () => {
    const long = 'a'.repeat(65);
    expect(() => splitSubmission({ runtime: 'shell', queue: long })).toThrow(
      `(got "${'a'.repeat(49)}… (65 characters))`,
    );
    // The count is the value's, not its quoted and escaped JSON's (404 here).
    expect(() => splitSubmission({ runtime: 'shell', idempotency_key: '"'.repeat(201) })).toThrow(
      /idempotency_key: .*\(201 characters\)\)$/,
    );
    // 201 emoji are 402 UTF-16 units; the count is of characters, the cut keeps each whole.
    expect(() => splitSubmission({ runtime: 'shell', idempotency_key: '😀'.repeat(201) })).toThrow(
      `idempotency_key: expected string length less or equal to 200 (got "${'😀'.repeat(24)}… (201 characters))`,
    );
    expect(() => splitSubmission({ runtime: 'shell', priority: Number.NaN })).toThrow(
      /priority: .*\(got NaN\)/,
    );
  });

  // Seen on a real serve: a 10 kB runtime, image, memory, env name or secret_env name was
  // quoted whole (answers of 10-20 kB; the env name twice, in the field and the message).
  it('cuts a long runtime, image, size, env name or secret_env name it quotes', () => {
    const long = 'a'.repeat(10_240);
    const cut = `"${'a'.repeat(49)}… (10240 characters)`;
    const command = ['true'];
    for (const [input, field, message] of [
      [{ runtime: long, command }, 'runtime', `unknown runtime ${cut}; known runtimes: `],
      [{ image: long, command }, 'image', `${cut} is not a valid image reference`],
      [
        { image: `M${'a'.repeat(100)}`, command },
        'image',
        `"M${'a'.repeat(48)}… (101 characters): the repository name "M`,
      ],
      [{ runtime: 'shell', command, limits: { memory: long } }, 'limits.memory', cut],
      [{ runtime: 'shell', command, limits: { log_bytes: long } }, 'limits.log_bytes', cut],
      [{ runtime: 'shell', command, env: { [`é${long}`]: '1' } }, 'env', '"éaaa'],
      [{ runtime: 'shell', command, env: { A: '1' }, secret_env: [long] }, 'secret_env', cut],
    ] as const) {
      let error: unknown;
      try {
        parseJobSpec(input, config);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(InvalidSpecError);
      expect((error as InvalidSpecError).field).toBe(field);
      expect((error as InvalidSpecError).message).toContain(message);
      expect((error as InvalidSpecError).message.length).toBeLessThan(300);
    }
    // A short name is still the field, as before.
    expect(fieldOf({ runtime: 'shell', command, env: { é: '1' } })).toBe('env.é');
  });

  it('splits queue options from the spec and checks run_at', () => {
    const { spec, options } = splitSubmission({
      runtime: 'shell',
      priority: 3,
      idempotency_key: 'k',
    });
    expect(spec).toEqual({ runtime: 'shell' });
    expect(options).toEqual({ priority: 3, idempotency_key: 'k' });
    expect(() => splitSubmission({ runtime: 'shell', run_at: 'tomorrow' })).toThrow(/run_at/);
    expect(() => splitSubmission([1])).toThrow(/JSON object/);
  });

  it('takes run_at only as an ISO 8601 time of a real day, never a rolled-over or guessed one', () => {
    // Date.parse read "2026-02-30T00:00:00Z" as 2 March and "5" as May 2001.
    for (const bad of [
      '2026-02-30T00:00:00Z',
      '2026-02-29',
      '2026-04-31T12:00:00Z',
      '2026-12-01T24:00:00Z',
      '2026-12-01T10:60:00Z',
      '5',
      'March 7',
      '2026',
      'Mon, 30 Nov 2026 20:00:00 GMT',
    ]) {
      expect(() => splitSubmission({ runtime: 'shell', run_at: bad }), bad).toThrow(
        /run_at: "[^"]*" is not an ISO 8601 time/,
      );
    }
    // A schedule's fire is found by its key: a client's job holding one was taken for the
    // fire, and the schedule's own job never ran.
    expect(() =>
      splitSubmission({
        runtime: 'shell',
        idempotency_key: 'schedule:nightly:2026-12-01T03:00:00.000Z',
      }),
    ).toThrow(
      'idempotency_key: "schedule:nightly:2026-12-01T03:00:00.000Z" starts with "schedule:", which runbox keeps for the jobs its schedules fire',
    );
    expect(() =>
      splitSubmission({ runtime: 'shell', idempotency_key: 'my-schedule:1' }),
    ).not.toThrow();
    // The server's zone would decide the instant: refused with the fix named.
    for (const local of ['2026-12-01T10:00:00', '2026-12-01T10:00', '2026-12-01t10:00:00.5']) {
      expect(() => splitSubmission({ runtime: 'shell', run_at: local }), local).toThrow(
        /^run_at: "[^"]*" has no time zone, so it names no one instant; add Z for UTC or an offset/,
      );
    }
    // Year 0 (given as such, or by an offset) is "1 BC" in PostgreSQL, which the queue
    // could store but not read back: refused on every backend, the bound named.
    for (const early of ['0000-06-01T00:00:00Z', '0001-01-01T00:00:00+14:00', '0000-01-01']) {
      expect(() => splitSubmission({ runtime: 'shell', run_at: early }), early).toThrow(
        /^run_at: "[^"]*" is before 0001-01-01T00:00:00Z, the earliest time runbox stores/,
      );
    }
    for (const good of [
      '0001-01-01T00:00:00Z',
      '1969-12-31T23:59:59Z',
      '9999-12-31T23:59:59.999Z',
      '2028-02-29',
      '2026-12-01t10:00:00z',
      '2026-11-30T20:06:00.000Z',
      '2026-12-01T10:00:00+02:00',
      '2026-12-01T10:00Z',
      '2026-12-01T10:00:00.123456Z',
    ]) {
      expect(splitSubmission({ runtime: 'shell', run_at: good }).options.run_at).toBe(good);
    }
  });
});

describe('parseSize', () => {
  it('reads bytes and k/m/g suffixes, and refuses the rest', () => {
    expect(parseSize('512m')).toBe(512 * 1024 * 1024);
    expect(parseSize('1GiB')).toBe(1024 ** 3);
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize('1.5k')).toBe(1536);
    expect(parseSize('lots')).toBeNull();
    expect(parseSize(-1)).toBeNull();
    expect(parseSize('0')).toBeNull();
  });
});

describe('gpus', () => {
  const messageOf = (gpus: unknown): string => {
    try {
      parseJobSpec({ runtime: 'shell', command: ['true'], gpus }, config);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidSpecError);
      expect((error as InvalidSpecError).field).toBe('gpus');
      return (error as Error).message;
    }
    throw new Error(`gpus ${JSON.stringify(gpus)} was accepted`);
  };

  it('a count of 0 or past 64 says what gpus takes, not "expected union value"', () => {
    for (const gpus of [0, 65, -1, 'some']) {
      expect(messageOf(gpus)).toMatch(/must be a count from 1 to 64, "all", or device IDs/);
    }
    // --gpus -1 was taken for a device ID named "-1", refused only by a GPU host's engine.
    expect(() => parseGpusFlag('-1')).toThrow(/--gpus -1: a count is 1 or more/);
    expect(parseGpusFlag('0,GPU-8a1b')).toEqual(['0', 'GPU-8a1b']);
  });
});

describe('an empty script', () => {
  // `runbox submit empty.sh` was accepted and "succeeded" having run nothing.
  it('is refused when the runtime would run it, naming script.content and the fix', () => {
    for (const spec of [
      { runtime: 'shell', script: { path: 'job.sh', content: '' } },
      { runtime: 'shell', script: { path: 'job.sh', content: '', encoding: 'base64' } },
      { image: 'debian:bookworm-slim', script: { path: 'job.py', content: '' } },
    ]) {
      expect(() => parseJobSpec(spec, config, { submitting: true })).toThrow(
        /^script\.content: is empty, so runtime "(shell|python:3\.11)" would run nothing; give the script's content, or command \(--command\) to run instead$/,
      );
      expect(() => parseJobSpec(spec, config, { submitting: true })).toThrow(
        expect.objectContaining({ field: 'script.content' }),
      );
      // A job already queued with one (accepted before this check, or by an older node of
      // a fleet mid-upgrade) is resolved as it was accepted when a worker runs it.
      expect(fieldOf(spec)).toBeNull();
    }
  });

  it('is kept as a file when a command runs, and whitespace alone is left to the runtime', () => {
    const empty = { path: 'job.sh', content: '' };
    expect(
      parseJobSpec({ runtime: 'shell', script: empty, command: ['true'] }, config).command,
    ).toEqual(['true']);
    const blank = { runtime: 'shell', script: { path: 'job.sh', content: ' \n\t\n' } };
    expect(parseJobSpec(blank, config, { submitting: true }).command).toEqual(['sh', 'job.sh']);
  });
});

describe('a runtime whose command has no {script}', () => {
  const withRuntime = loadConfig({
    env: {},
    overrides: {
      dataDir: '/tmp/runbox-spec-test',
      runtimes: { tool: { image: 'runbox-test/shell', command: ['sh'] } },
    },
  });

  it('refuses a script it would never run, naming the runtime and the fix', () => {
    // The script was written to /work, `sh` ran without it and exited 0: "succeeded".
    const script = { path: 'job.sh', content: 'echo hi' };
    expect(() => parseJobSpec({ runtime: 'tool', script }, withRuntime)).toThrow(
      /runtime "tool" never runs a script .*add "\{script\}" to runtimes\.tool\.command/,
    );
    // Without a script it runs its own command, as before.
    expect(parseJobSpec({ runtime: 'tool' }, withRuntime).command).toEqual(['sh']);
  });
});
