import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerEndpoint, isLoopback, loadConfig, resolveConfig } from '../../src/config.js';
import { RunboxError } from '../../src/errors/index.js';

describe('config', () => {
  it('layers defaults < file < RUNBOX_* env < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(
      file,
      JSON.stringify({ port: 1111, workers: 3, runtimes: { r: { image: 'i', command: ['c'] } } }),
    );
    const env = { RUNBOX_PORT: '2222', RUNBOX_DATA_DIR: dir };
    const fromFile = loadConfig({ env: {}, file });
    expect(fromFile.port).toBe(1111);
    expect(fromFile.workers).toBe(3);
    expect(Object.keys(fromFile.runtimes)).toEqual(['python:3.11', 'node:20', 'shell', 'r']);
    const fromEnv = loadConfig({ env, file });
    expect(fromEnv.port).toBe(2222);
    expect(fromEnv.dbPath).toBe(join(dir, 'runbox.db'));
    expect(loadConfig({ env, file, overrides: { port: 3333 } }).port).toBe(3333);
    // A file saved by a Windows editor starts with a BOM: still the same JSON.
    writeFileSync(file, `\uFEFF${JSON.stringify({ port: 4444 })}\n`);
    expect(loadConfig({ env: {}, file }).port).toBe(4444);
  });

  it('is frozen', () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.defaults)).toBe(true);
  });

  it('refuses bad values naming the key', () => {
    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as RunboxError).field;
      }
      return null;
    };
    expect(bad(() => loadConfig({ env: { RUNBOX_PORT: 'eighty' } }))).toBe('RUNBOX_PORT');
    // Number() read these as 3, 16 and 10: RUNBOX_PORT=0b11 listened on port 3. What was
    // written must be a decimal integer, as a number flag must.
    for (const [name, value] of [
      ['RUNBOX_PORT', '0b11'],
      ['RUNBOX_WORKERS', '0x10'],
      ['RUNBOX_WORKERS', '1e1'],
      ['RUNBOX_ZSTD_THREADS', '0o1'],
    ] as const) {
      expect(
        bad(() => loadConfig({ env: { [name]: value } })),
        value,
      ).toBe(name);
    }
    // A webhook secret with a space or line break at an end signs with bytes a receiver,
    // holding it trimmed from a file or a vault, never checks.
    for (const secret of ['s3cret\n', ' s3cret', 's3cret\t']) {
      let message = '';
      try {
        loadConfig({ env: { RUNBOX_WEBHOOK_SECRET: secret } });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/webhooks\.secret: has a space or line break at an end/);
      expect(message).not.toContain('s3cret');
    }
    expect(loadConfig({ env: { RUNBOX_WEBHOOK_SECRET: 'a b' } }).webhooks.secret).toBe('a b');
    expect(loadConfig({ env: { RUNBOX_PORT: ' 7071 ', RUNBOX_WORKERS: '+3' } })).toMatchObject({
      port: 7071,
      workers: 3,
    });
    expect(bad(() => loadConfig({ env: {}, overrides: { port: 70000 } }))).toBe('port');
    expect(bad(() => loadConfig({ env: { RUNBOX_RUNTIMES: '{nope' } }))).toBe('RUNBOX_RUNTIMES');
    expect(bad(() => loadConfig({ env: {}, file: '/nonexistent/runbox.json' }))).toBe('config');
    expect(
      bad(() =>
        loadConfig({ env: {}, overrides: { lease: { heartbeatMs: 5000, expiryMs: 1000 } } }),
      ),
    ).toBe('lease.heartbeatMs');
  });

  it('knows loopback addresses', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('127.1.2.3')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('10.0.0.1')).toBe(false);
  });

  const errorOf = (f: () => unknown): RunboxError => {
    try {
      f();
    } catch (error) {
      return error as RunboxError;
    }
    throw new Error('expected an error');
  };
  const fileWith = (content: unknown): string => {
    const file = join(mkdtempSync(join(tmpdir(), 'runbox-config-')), 'config.json');
    writeFileSync(file, JSON.stringify(content));
    return file;
  };

  it('takes only a token an Authorization header can carry, and never prints it', () => {
    // Before, RUNBOX_TOKEN="s3cret " or "tok€n" started a server that answered 401 to
    // every client: Node trims header values and reads their bytes as Latin-1.
    for (const token of ['trailing ', ' leading', 'tab\tin', 'new\nline', 'tok€n', 'ŝ']) {
      const fromEnv = errorOf(() => loadConfig({ env: { RUNBOX_TOKEN: token } }));
      expect(fromEnv.type, token).toBe('InvalidConfig');
      expect(fromEnv.field).toBe('RUNBOX_TOKEN');
      expect(fromEnv.message).toContain('printable text of ASCII or Latin-1');
      const fromFile = errorOf(() => loadConfig({ env: {}, file: fileWith({ token }) }));
      expect(fromFile.field, token).toBe('token');
      expect(fromFile.message).not.toContain(token.trim());
    }
    for (const token of ['s3cret', 'a b', 'x'.repeat(200), '!~"\'', 's3cr3t-tök', 'ø']) {
      expect(loadConfig({ env: { RUNBOX_TOKEN: token } }).token).toBe(token);
      expect(loadConfig({ env: {}, file: fileWith({ token }) }).token).toBe(token);
    }
  });

  it('refuses a file with an unknown key or a wrong type, naming the key and a fix', () => {
    const typo = errorOf(() =>
      loadConfig({ env: {}, file: fileWith({ wrokers: 4, limits: { logBytes: 'big' } }) }),
    );
    expect(typo.type).toBe('InvalidConfig');
    expect(typo.field).toBe('wrokers');
    expect(typo.message).toContain('did you mean "workers"');
    const wrongType = errorOf(() =>
      loadConfig({ env: {}, file: fileWith({ limits: { logBytes: 'big' } }) }),
    );
    expect(wrongType.field).toBe('limits.logBytes');
    expect(wrongType.message).toMatch(/limits\.logBytes: expected integer, got "big"/);
    const nested = errorOf(() => loadConfig({ env: {}, file: fileWith({ lease: { expiry: 1 } }) }));
    expect(nested.field).toBe('lease.expiry');
    expect(nested.message).toContain('known keys of lease: heartbeatMs, expiryMs');
    const runtime = errorOf(() =>
      loadConfig({ env: {}, file: fileWith({ runtimes: { r: { image: 'i' } } }) }),
    );
    expect(runtime.field).toBe('runtimes.r.command');
    // A value of the wrong type is named before a key that is missing beside it.
    const wrongImage = errorOf(() =>
      loadConfig({ env: {}, file: fileWith({ runtimes: { r: { image: 5 } } }) }),
    );
    expect([wrongImage.field, wrongImage.message]).toEqual([
      'runtimes.r.image',
      expect.stringContaining('runtimes.r.image: expected string, got 5'),
    ]);
    // A record's entry (a runtime by its name) lists its keys too; it listed none.
    const extra = errorOf(() =>
      loadConfig({
        env: {},
        file: fileWith({ runtimes: { r: { image: 'i', command: ['sh'], extensions: ['.x'] } } }),
      }),
    );
    expect(extra.field).toBe('runtimes.r.extensions');
    expect(extra.message).toContain('known keys of runtimes.r: image, command, pin');
    expect(errorOf(() => loadConfig({ env: { RUNBOX_RUNTIMES: '{"r":{"image":1}}' } })).field).toBe(
      'RUNBOX_RUNTIMES',
    );
    // A runtime's image reaches the engine's URL path (GET /images/{name}/json): a path in
    // it made the engine redirect, and that ended the process.
    const pathImage = errorOf(() =>
      loadConfig({
        env: {},
        file: fileWith({ runtimes: { r: { image: 'tools/../x', command: ['sh', '{script}'] } } }),
      }),
    );
    expect([pathImage.field, pathImage.message]).toEqual([
      'runtimes.r.image',
      expect.stringContaining('"tools/../x" is not an image reference'),
    ]);
  });

  it('refuses per-job defaults the engine would read as no limit (0 memory, cpus, tmpfs, timeout)', () => {
    // Docker takes Memory 0 / NanoCpus 0 as unlimited and tmpfs size=0 as an unbounded /tmp:
    // a default of 0 passed every ceiling check and lifted the limit for every job.
    for (const [key, value, field] of [
      ['memoryBytes', 0, 'defaults.memoryBytes'],
      ['memoryBytes', 1024, 'defaults.memoryBytes'],
      ['cpus', 0, 'defaults.cpus'],
      ['cpus', 0.005, 'defaults.cpus'],
      ['tmpfsBytes', 0, 'defaults.tmpfsBytes'],
      ['timeoutSeconds', 0, 'defaults.timeoutSeconds'],
    ] as const) {
      const fromFile = errorOf(() =>
        loadConfig({ env: {}, file: fileWith({ defaults: { [key]: value } }) }),
      );
      expect(fromFile.type).toBe('InvalidConfig');
      expect(fromFile.field).toBe(field);
      expect(fromFile.message).toContain(field);
    }
    const smallest = loadConfig({
      env: {},
      file: fileWith({
        defaults: { memoryBytes: 6 * 1024 * 1024, cpus: 0.01, tmpfsBytes: 1, timeoutSeconds: 0.5 },
      }),
    });
    expect(smallest.defaults.memoryBytes).toBe(6 * 1024 * 1024);
  });

  it('refuses a workerDeadMs no longer than the heartbeat that keeps workers alive', () => {
    // With workerDeadMs 1000 and the 5 s heartbeat, a `runbox worker` started beside a
    // running serve took over serve's running job as a dead worker's (attempt 2).
    const short = errorOf(() => loadConfig({ env: {}, file: fileWith({ workerDeadMs: 1000 }) }));
    expect(short.type).toBe('InvalidConfig');
    expect(short.field).toBe('workerDeadMs');
    expect(short.message).toMatch(/lease\.heartbeatMs \(5000\)/);
    expect(
      loadConfig({
        env: {},
        file: fileWith({ workerDeadMs: 2500, lease: { heartbeatMs: 300, expiryMs: 2500 } }),
      }).workerDeadMs,
    ).toBe(2500);
  });

  it('refuses a webhooks.allowHosts entry no webhook host can match', () => {
    // Each of these started, then refused every webhook ("host x is not in the server's
    // webhooks.allowHosts"): a URL's host is compared as a URL parser writes it, lower
    // case, punycode, IPv6 without brackets, no port or path.
    for (const [entry, fix] of [
      ['*', /an empty list allows any host/],
      ['*example.com', /not a host name or \*\.suffix/],
      ['https://hooks.example.com', /not a host name or \*\.suffix/],
      ['hooks.example.com:443', /write "hooks\.example\.com"/],
      ['hooks.example.com/x', /write "hooks\.example\.com"/],
      ['*.bücher.de', /write "\*\.xn--bcher-kva\.de"/],
      ['[fd00::1]', /write "fd00::1"/],
      ['FD00:0::1', /write "fd00::1"/],
      ['010.0.0.5', /write "8\.0\.0\.5"/],
    ] as const) {
      const error = errorOf(() =>
        loadConfig({ env: {}, file: fileWith({ webhooks: { allowHosts: ['ok.io', entry] } }) }),
      );
      expect(error.type, entry).toBe('InvalidConfig');
      expect(error.field, entry).toBe('webhooks.allowHosts');
      expect(error.message, entry).toContain(`"${entry}"`);
      expect(error.message, entry).toMatch(fix);
    }
    const hosts = ['hooks.example.com', 'EXAMPLE.org', '*.ok.io', '10.0.0.5', 'fd00::1'];
    const config = loadConfig({ env: {}, file: fileWith({ webhooks: { allowHosts: hosts } }) });
    expect(config.webhooks.allowHosts).toEqual(hosts);
  });

  it('refuses a wait longer than a Node timer keeps, and a default timeout no job may have', () => {
    // Past 2^31-1 ms Node fires a timer after 1 ms: a 30-day sweepIntervalMs swept every
    // millisecond, a long drainTimeoutMs drained nothing.
    const month = 30 * 24 * 3600;
    for (const [content, field] of [
      [{ sweepIntervalMs: month * 1000 }, 'sweepIntervalMs'],
      [{ drainTimeoutMs: 1e12 }, 'drainTimeoutMs'],
      [{ pull: { timeoutSeconds: month } }, 'pull.timeoutSeconds'],
      [{ defaults: { killGraceSeconds: month } }, 'defaults.killGraceSeconds'],
      [{ webhooks: { timeoutMs: month * 1000 } }, 'webhooks.timeoutMs'],
      [{ schedules: { pollMs: month * 1000 } }, 'schedules.pollMs'],
      // Every job that gives no timeout_seconds was refused for it at submit.
      [
        { defaults: { timeoutSeconds: 8 * 24 * 3600 }, ceilings: { timeoutSeconds: month } },
        'defaults.timeoutSeconds',
      ],
    ] as const) {
      const error = errorOf(() => loadConfig({ env: {}, file: fileWith(content) }));
      expect(error.type).toBe('InvalidConfig');
      expect(error.field).toBe(field);
      expect(error.message).toMatch(
        new RegExp(`^${field.replace('.', '\\.')}: .*lower it \\(set by .*config\\.json\\)$`),
      );
    }
    const longest = loadConfig({
      env: {},
      file: fileWith({ sweepIntervalMs: 2 ** 31 - 1, drainTimeoutMs: 24 * 3600 * 1000 }),
    });
    expect(longest.sweepIntervalMs).toBe(2 ** 31 - 1);
  });

  it('names the key inside queue, queues and blobs, not "expected union value"', () => {
    const of = (content: unknown) => {
      const error = errorOf(() => loadConfig({ env: {}, file: fileWith(content) }));
      return [error.field, error.message.replace(/^config file \S+: /, '')];
    };
    expect(of({ blobs: { kind: 's3', bucket: 'b', bogus: 1 } })).toEqual([
      'blobs.bogus',
      expect.stringContaining('unknown key "blobs.bogus"; known keys of blobs: kind, bucket'),
    ]);
    // What was written wrong first: the typo, pointing at the key it meant.
    expect(of({ blobs: { kind: 's3', buckt: 'b' } })).toEqual([
      'blobs.buckt',
      expect.stringContaining('(did you mean "blobs.bucket"?)'),
    ]);
    expect(of({ blobs: { kind: 's3' } })).toEqual(['blobs.bucket', 'blobs.bucket: is required']);
    expect(of({ queue: { kind: 'postgres' } })).toEqual(['queue.url', 'queue.url: is required']);
    expect(of({ queue: { kind: 'mysql' } })).toEqual([
      'queue.kind',
      'queue.kind: expected one of "sqlite", "postgres", got "mysql"',
    ]);
    expect(of({ queues: { gpu: '1' } })).toEqual([
      'queues.gpu',
      'queues.gpu: expected integer, got "1"',
    ]);
    expect(of({ queues: { GPU: 1 } })[1]).toMatch(/^queues\.GPU: "GPU" is not a name allowed/);
    expect(of({ instance: 5 })).toEqual(['instance', 'instance: expected string or null, got 5']);
  });

  it('never shows a secret written with the wrong type, naming only its type', () => {
    // Seen: `"secret": ["whsec-..."]` was refused with the value in the message, which
    // `runbox serve` writes to its log (and systemd to the journal).
    const of = (content: unknown) =>
      errorOf(() => loadConfig({ env: {}, file: fileWith(content) })).message;
    const credentials = (key: string) => ({
      blobs: {
        kind: 's3',
        bucket: 'b',
        credentials: { accessKeyId: 'id', secretAccessKey: 'k', [key]: ['leak-me'] },
      },
    });
    for (const [content, key, type] of [
      [{ webhooks: { secret: ['leak-me'] } }, 'webhooks.secret', 'an array'],
      [{ webhooks: { secret: 12345678 } }, 'webhooks.secret', 'a number'],
      [{ token: { value: 'leak-me' } }, 'token', 'an object'],
      [credentials('secretAccessKey'), 'blobs.credentials.secretAccessKey', 'an array'],
      [credentials('sessionToken'), 'blobs.credentials.sessionToken', 'an array'],
    ] as const) {
      const message = of(content);
      expect(message).toContain(`${key}: expected string`);
      expect(message).toContain(`got ${type} (the value is not shown)`);
      expect(message).not.toMatch(/leak-me|12345678/);
    }
  });

  it('reads /etc then $XDG_CONFIG_HOME when no file is named, and says where each value came from', () => {
    const system = fileWith({ workers: 5, port: 1000 });
    const xdg = mkdtempSync(join(tmpdir(), 'runbox-xdg-'));
    mkdirSync(join(xdg, 'runbox'));
    writeFileSync(join(xdg, 'runbox', 'config.json'), JSON.stringify({ port: 2000 }));
    const user = join(xdg, 'runbox', 'config.json');
    const { config, sources, files } = resolveConfig({
      env: { RUNBOX_INSTANCE: 'ci' },
      searchPaths: [system, user, '/nonexistent/config.json'],
      overrides: { defaults: { cpus: 2 } },
    });
    expect(files).toEqual([system, user]);
    expect(config.workers).toBe(5);
    expect(config.port).toBe(2000);
    expect(sources.workers).toBe(system);
    expect(sources.port).toBe(user);
    expect(sources.instance).toBe('env RUNBOX_INSTANCE');
    expect(sources['defaults.cpus']).toBe('flag');
    expect(sources['defaults.memoryBytes']).toBe('default');
    // A named file is the only one read.
    const named = resolveConfig({ env: { RUNBOX_CONFIG: fileWith({}) }, searchPaths: [system] });
    expect(named.config.workers).toBe(2);
  });

  it('finds the Docker engine as the docker CLI does, unless RUNBOX_DOCKER_SOCKET says otherwise', () => {
    const dockerConfig = mkdtempSync(join(tmpdir(), 'runbox-docker-config-'));
    const socketOf = (env: NodeJS.ProcessEnv) =>
      resolveConfig({ env: { DOCKER_CONFIG: dockerConfig, ...env }, searchPaths: [] });
    expect(socketOf({}).config.dockerSocket).toBe('/var/run/docker.sock');
    expect(socketOf({ DOCKER_HOST: 'tcp://127.0.0.1:2375' }).sources.dockerSocket).toBe(
      'env DOCKER_HOST',
    );
    const meta = join(
      dockerConfig,
      'contexts',
      'meta',
      createHash('sha256').update('my ctx').digest('hex'),
    );
    mkdirSync(meta, { recursive: true });
    writeFileSync(
      join(meta, 'meta.json'),
      JSON.stringify({
        Name: 'my ctx',
        Endpoints: { docker: { Host: 'unix:///run/user/1000/docker.sock' } },
      }),
    );
    writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ currentContext: 'my ctx' }));
    expect(socketOf({}).config.dockerSocket).toBe('unix:///run/user/1000/docker.sock');
    expect(socketOf({}).sources.dockerSocket).toBe('docker context my ctx');
    expect(socketOf({ DOCKER_HOST: 'unix:///x.sock' }).config.dockerSocket).toBe('unix:///x.sock');
    expect(socketOf({ RUNBOX_DOCKER_SOCKET: '/y.sock' }).config.dockerSocket).toBe('/y.sock');
    expect(errorOf(() => socketOf({ DOCKER_HOST: 'ssh://me@box' })).field).toBe('dockerSocket');
    expect(
      errorOf(() => socketOf({ DOCKER_HOST: 'tcp://h:1', DOCKER_TLS_VERIFY: '1' })).field,
    ).toBe('DOCKER_TLS_VERIFY');
    expect(dockerEndpoint('unix:///var/run/docker.sock')).toEqual({
      socketPath: '/var/run/docker.sock',
    });
    expect(dockerEndpoint('tcp://[::1]:2375')).toEqual({ host: '::1', port: 2375 });
  });

  it('says where a refused value was set: an environment variable, a docker context, a file or a flag', () => {
    const messageOf = (options: Parameters<typeof resolveConfig>[0]) =>
      errorOf(() => resolveConfig({ searchPaths: [], ...options })).message;
    expect(messageOf({ env: { DOCKER_HOST: 'garbage' } })).toMatch(
      /^dockerSocket "garbage" is not a socket path.*\(set by env DOCKER_HOST\)$/,
    );
    expect(messageOf({ env: { RUNBOX_PORT: '-1' } })).toMatch(
      /^port: -1 is not a TCP port.*\(set by env RUNBOX_PORT\)$/,
    );
    const file = fileWith({ dockerSocket: 'ssh://me@box' });
    expect(messageOf({ env: {}, file })).toContain(`(set by ${file})`);
    // A flag's own value out of range is the command line's mistake, named as the flag.
    const flag = errorOf(() =>
      resolveConfig({ searchPaths: [], env: {}, overrides: { workers: 300 } }),
    );
    expect(flag.type).toBe('UsageError');
    expect(flag.message).toBe('--workers 300 must be an integer from 0 to 256');
    expect(errorOf(() => resolveConfig({ env: { DOCKER_HOST: 'x' }, searchPaths: [] })).field).toBe(
      'dockerSocket',
    );
  });
});
