import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CURRENT_CONTRACT, fingerprintOf } from '../../src/contract/contract.js';
import { buildContractImage, contractFixture, removeImage } from '../helpers/contractImage.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import {
  runCliProcess,
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE, TEST_RUNTIMES } from '../helpers/testConfig.js';

const FIXTURES = 'fixtures/contracts';
const LEGACY_IMAGE = `runbox-test/contract-legacy:${process.pid}`;
const UNLABELLED_IMAGE = `runbox-test/contract-none:${process.pid}`;
const CURRENT_IMAGE = `runbox-test/contract-current:${process.pid}`;
const GARBLED_IMAGE = `runbox-test/contract-garbled:${process.pid}`;

/**
 * `runbox <args>` from the built bundle, never reading a RUNBOX_* variable of the caller,
 * nor CI (which makes image checks strict; staleWorkerIncident.test.ts covers that).
 */
function runbox(...args: string[]) {
  return runCliProcess(args, { env: { RUNBOX_CONFIG: '', RUNBOX_SERVER: '', CI: '' } });
}

describe('runbox contract check --against a committed contract file (the CI gate)', () => {
  it.each([
    // [fixture, fields the message must name, the other side's version]
    ['legacy-3-field.json', ['/outputs', '/metrics', '/stdout'], '0.3.0'],
    ['legacy-flat-metrics.json', ['/metrics', 'GENERATION_TIME_SEC'], '0.9.0'],
    ['same-version-different-fingerprint.json', ['/metrics/stage_times'], '1.1.0'],
  ])('%s exits 78 and names the fields that differ', async (file, fields, version) => {
    const { code, stdout, stderr } = await runbox(
      'contract',
      'check',
      '--against',
      `${FIXTURES}/${file}`,
    );
    expect(code).toBe(78);
    expect(stdout).toBe('');
    expect(stderr).toContain('INCOMPATIBLE');
    expect(stderr).toContain(`this build: runbox.result ${CURRENT_CONTRACT.version}`);
    expect(stderr).toContain(`runbox.result ${version} sha256:`);
    for (const field of fields) expect(stderr).toContain(field);
    expect(stderr).toMatch(/fix: /);
  });

  it('the same-version case is called a shape change without a version bump, and the rename is spotted', async () => {
    const { stderr } = await runbox(
      'contract',
      'check',
      '--against',
      `${FIXTURES}/same-version-different-fingerprint.json`,
    );
    expect(stderr).toMatch(/same version 1\.1\.0 but a different fingerprint/);
    expect(stderr).toMatch(/renamed\s+\/metrics\/stage_times: .*"stage_durations"/);
  });

  it('the committed current.json checks compatible (exit 0), as CI runs it', async () => {
    const { code, stdout, stderr } = await runbox(
      'contract',
      'check',
      '--against',
      `${FIXTURES}/current.json`,
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout.trim().split('\n').at(-1)).toBe('compatible');
  });

  it('a contract file saved with a BOM (a Windows editor) checks as the same JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-contract-bom-'));
    try {
      const file = join(dir, 'current.json');
      writeFileSync(file, `\uFEFF${readFileSync(`${FIXTURES}/current.json`, 'utf8')}`);
      const { code, stdout, stderr } = await runbox('contract', 'check', '--against', file);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout.trim().split('\n').at(-1)).toBe('compatible');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--json prints the report a machine can read, with the differences by path', async () => {
    const { code, stdout } = await runbox(
      '--json',
      'contract',
      'check',
      '--against',
      `${FIXTURES}/legacy-flat-metrics.json`,
    );
    expect(code).toBe(78);
    const report = JSON.parse(stdout) as {
      compatible: boolean;
      differences: Array<{ path: string; kind: string }>;
    };
    expect(report.compatible).toBe(false);
    expect(report.differences).toContainEqual({
      path: '/GENERATION_TIME_SEC',
      kind: 'added',
      detail: expect.any(String),
    });
  });

  it('a file that is not a contract is a configuration error (78) that says how to make one', async () => {
    const { code, stderr } = await runbox('contract', 'check', '--against', 'package.json');
    expect(code).toBe(78);
    expect(stderr).toMatch(/not a contract file.*runbox contract export/);
  });

  it('a file far larger than a contract (a binary, /dev/zero, a 3 GiB file) is refused (78) without reading it whole', async () => {
    // Read whole, the 3 GiB (sparse) file held the gate for over a minute and /dev/zero
    // never answered; the ~120 MB binary cost 10 s and 440 MB of memory.
    const dir = mkdtempSync(join(tmpdir(), 'runbox-contract-big-'));
    try {
      const huge = join(dir, 'huge.json');
      writeFileSync(huge, '');
      truncateSync(huge, 3 * 1024 ** 3);
      for (const against of [huge, '/dev/zero']) {
        const { code, stdout } = await runbox('--json', 'contract', 'check', '--against', against);
        expect(JSON.parse(stdout), against).toEqual({
          error: {
            type: 'InvalidConfig',
            message: `${against} is larger than 4 MiB, so not a contract file (\`runbox contract export\` writes about 10 KB); give --against the file it wrote, a server URL or image:NAME`,
            field: 'against',
          },
        });
        expect(code, against).toBe(78);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('an image name given without image: is a missing file whose message says to write image:', async () => {
    const { code, stderr } = await runbox('contract', 'check', '--against', 'myorg/worker:1.2');
    expect(stderr).toContain(
      "cannot read contract file myorg/worker:1.2: ENOENT; to check an image's label write image:myorg/worker:1.2",
    );
    expect(code).toBe(78);
  });

  it('--against given twice is a usage error (64) naming the flag, not a crash (70)', async () => {
    const { code, stderr } = await runbox(
      'contract',
      'check',
      '--against',
      `${FIXTURES}/current.json`,
      '--against',
      `${FIXTURES}/legacy-3-field.json`,
    );
    expect(stderr).toContain('UsageError: --against was given more than once; give it once');
    expect(code).toBe(64);
  });
});

describe('runbox contract show / export', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'runbox-contract-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints name, version and fingerprint; --json prints the full schema', async () => {
    const short = await runbox('contract');
    expect(short.code).toBe(0);
    expect(short.stdout.trim()).toBe(
      `runbox.result ${CURRENT_CONTRACT.version} sha256:${CURRENT_CONTRACT.fingerprint}`,
    );

    const full = await runbox('contract', '--json');
    expect(full.code).toBe(0);
    const printed = JSON.parse(full.stdout) as typeof CURRENT_CONTRACT;
    expect(printed.fingerprint).toBe(fingerprintOf(printed.schema));
    expect(printed).toEqual(CURRENT_CONTRACT);
    const schema = printed.schema as {
      properties: { metrics: { required: string[] } };
    };
    expect(schema.properties.metrics.required).toContain('stage_times');
  });

  it('export --out to a folder, or under one that does not exist, is a usage error (64) naming --out', async () => {
    for (const out of [dir, join(dir, 'no-such-folder', 'contract.json')]) {
      const { code, stdout } = await runbox('--json', 'contract', 'export', '--out', out);
      expect(JSON.parse(stdout)).toEqual({
        error: {
          type: 'UsageError',
          message: expect.stringContaining(`--out ${out} cannot be written`) as unknown,
          field: 'out',
        },
      });
      expect(code).toBe(64);
    }
  });

  it('export --out writes a file that checks compatible and equals the committed current.json', async () => {
    const file = join(dir, 'contract.json');
    const exported = await runbox('contract', 'export', '--out', file);
    expect(exported.code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(contractFixture('current.json'));
    const checked = await runbox('contract', 'check', '--against', file);
    expect(checked.code).toBe(0);
  });

  it('export --out on a full disk exits 74 naming --out and leaves the file there as it was', async () => {
    // A 16 KiB tmpfs holding 8 KiB: the ~10 KiB contract does not fit. Written in place,
    // it left 8 KiB of JSON where current.json had been, and exit 64 said to pick a folder.
    const disk = mkdtempSync(join(tmpdir(), 'runbox-contract-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', disk]);
    try {
      const committed = readFileSync(`${FIXTURES}/legacy-3-field.json`, 'utf8');
      writeFileSync(join(disk, 'current.json'), committed);
      writeFileSync(join(disk, 'filler'), Buffer.alloc(8192));
      for (const [name, left] of [
        ['current.json', 'the file there is unchanged'],
        ['new.json', 'no file was left'],
      ] as const) {
        const out = join(disk, name);
        const { code, stdout } = await runbox('--json', 'contract', 'export', '--out', out);
        expect(JSON.parse(stdout)).toEqual({
          error: {
            type: 'InsufficientStorage',
            message: expect.stringContaining(`--out ${out} was not written (ENOSPC)`) as unknown,
            field: 'out',
          },
        });
        expect(stdout).toContain(left);
        expect(code).toBe(74);
      }
      expect(readdirSync(disk).sort()).toEqual(['current.json', 'filler']);
      expect(readFileSync(join(disk, 'current.json'), 'utf8')).toBe(committed);
    } finally {
      execFileSync('umount', [disk]);
      rmSync(disk, { recursive: true, force: true });
    }
  });

  it('a flag of another action is a usage error (64) naming it, not silently ignored', async () => {
    const file = join(dir, 'never-written.json');
    for (const [args, flag] of [
      [['contract', 'show', '--out', file], '--out'],
      [['contract', 'check', '--against', `${FIXTURES}/current.json`, '--out', file], '--out'],
      [['contract', 'export', '--against', `${FIXTURES}/legacy-3-field.json`], '--against'],
      [['contract', '--no-require-label'], '--require-label'],
    ] as const) {
      const { code, stderr } = await runbox(...args);
      expect(stderr, args.join(' ')).toMatch(new RegExp(`UsageError: ${flag} does not apply`));
      expect(code, args.join(' ')).toBe(64);
    }
    expect(() => readFileSync(file)).toThrow();
  });
});

describe('runbox contract check --against a running server', () => {
  let dataDir: string;
  let server: RunboxProcess;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-contract-server-'));
    server = await startServerProcess({
      dataDir,
      configFile: writeTestConfig(dataDir),
      workers: 0,
    });
  });
  afterAll(async () => {
    server?.kill();
    await server?.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reads GET /v1/contract and exits 0 for a server of this build', async () => {
    const { code, stdout, stderr } = await runbox('contract', 'check', '--against', server.url);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain(`server ${server.url}: runbox.result ${CURRENT_CONTRACT.version}`);
    expect(stdout).toContain('compatible');
  });

  it('a server started with a token is checked with RUNBOX_TOKEN; without it 77 says to send it', async () => {
    const guardedDir = mkdtempSync(join(tmpdir(), 'runbox-contract-token-'));
    const guarded = await startServerProcess({
      dataDir: guardedDir,
      configFile: writeTestConfig(guardedDir),
      workers: 0,
      env: { RUNBOX_TOKEN: 'gate-token-0123456789' },
    });
    try {
      const check = (token: string) =>
        runCliProcess(['contract', 'check', '--against', guarded.url], {
          env: { RUNBOX_CONFIG: '', RUNBOX_SERVER: '', CI: '', RUNBOX_TOKEN: token },
        });
      const without = await check('');
      expect(without.code).toBe(77);
      expect(without.stderr).toContain('RUNBOX_TOKEN');
      const withToken = await check('gate-token-0123456789');
      expect({ code: withToken.code, stderr: withToken.stderr }).toEqual({ code: 0, stderr: '' });
      expect(withToken.stdout).toContain('compatible');
    } finally {
      guarded.kill();
      await guarded.exited;
      rmSync(guardedDir, { recursive: true, force: true });
    }
  });

  it('a server answering with a legacy contract exits 78, naming the fields', async () => {
    // Stands in for an old runbox serve: only GET /v1/contract matters to the check.
    const legacy = createServer((request, response) => {
      if (request.url !== '/v1/contract') return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(contractFixture('legacy-3-field.json')));
    });
    await new Promise<void>((r) => legacy.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(legacy.address() as AddressInfo).port}`;
    try {
      const { code, stderr } = await runbox('contract', 'check', '--against', url);
      expect(code).toBe(78);
      expect(stderr).toContain(`server ${url}: runbox.result 0.3.0`);
      expect(stderr).toMatch(/missing\s+\/outputs: required property missing/);
    } finally {
      await new Promise((r) => legacy.close(r));
    }
  });

  it.each([
    ['a login page', 200, 'text/html', '<html><body>Sign in</body></html>'],
    ['JSON null', 200, 'application/json', 'null'],
    ['an object that is not a contract', 200, 'application/json', '{"status":"ok"}'],
    ['a plain 404', 404, 'text/plain', 'Not Found'],
  ])(
    'a URL answering %s fails the gate (78) as no runbox server, never passing as "no label"',
    async (_what, status, type, body) => {
      // A reverse proxy's sign-in page or another web app at the URL answered 200 with
      // no contract, which passed as an unlabelled image does: exit 0, "nothing to check".
      const other = createServer((_request, response) => {
        response.writeHead(status, { 'content-type': type });
        response.end(body);
      });
      await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      try {
        for (const env of [{}, { CI: 'true' }]) {
          const { code, stdout, stderr } = await runCliProcess(
            ['contract', 'check', '--against', url],
            { env: { RUNBOX_CONFIG: '', RUNBOX_SERVER: '', CI: '', ...env } },
          );
          expect(stdout).toBe('');
          expect(stderr).toContain(
            `InvalidConfig: ${url} did not answer as a runbox server: GET /v1/contract answered ${status}`,
          );
          expect(stderr).not.toContain('label');
          expect(code).toBe(78);
        }
      } finally {
        await new Promise((r) => other.close(r));
      }
    },
  );

  it('a server that does not answer is not called compatible, and the message names --against', async () => {
    const { code, stderr } = await runbox('contract', 'check', '--against', 'http://127.0.0.1:9');
    expect(code).toBe(69);
    expect(stderr).toContain(
      'ServerUnavailable: cannot reach http://127.0.0.1:9 to read its contract (ECONNREFUSED)',
    );
    expect(stderr).toContain('give --against a contract file or image:NAME');
    expect(stderr).not.toContain('--server');
  });

  it('a URL that never answers fails within 15 s (69), one streaming an endless body at 4 MiB (78)', async () => {
    // Read whole with no clock, the first held the gate for ever and the second took
    // 2.8 GB of memory in 30 s.
    const sockets = new Set<import('node:net').Socket>();
    const odd = createServer((request, response) => {
      if (request.url?.startsWith('/silent')) return;
      response.writeHead(200, { 'content-type': 'application/json' });
      const more = () => {
        while (response.write(Buffer.alloc(64 * 1024, '['))) {
          /* until the socket pushes back */
        }
      };
      response.on('drain', more);
      more();
    });
    odd.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((r) => odd.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`;
    try {
      const started = Date.now();
      const silent = await runbox('--json', 'contract', 'check', '--against', `${url}/silent`);
      expect(JSON.parse(silent.stdout)).toEqual({
        error: {
          type: 'ServerUnavailable',
          message: `${url}/silent did not answer GET /v1/contract within 15 s; check that runbox serve answers at that URL, or give --against a contract file or image:NAME`,
          field: 'against',
        },
      });
      expect(silent.code).toBe(69);
      expect(Date.now() - started).toBeLessThan(25_000);

      const endless = await runbox('--json', 'contract', 'check', '--against', url);
      expect(JSON.parse(endless.stdout)).toEqual({
        error: {
          type: 'InvalidConfig',
          message: expect.stringContaining(
            `${url} answered GET /v1/contract with more than 4 MiB, so not with a contract`,
          ) as unknown,
          field: 'against',
        },
      });
      expect(endless.code).toBe(78);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => odd.close(r));
    }
  }, 60_000);

  it('https:// to a server that speaks plain HTTP says so rather than "start runbox serve there"', async () => {
    const plain = createServer((_req, res) => res.end('{}'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    try {
      const { port } = plain.address() as AddressInfo;
      const against = `https://127.0.0.1:${port}`;
      const { code, stderr } = await runbox('contract', 'check', '--against', against);
      expect(code).toBe(69);
      expect(stderr).toContain(`the server at ${against} answered, but not over TLS`);
      expect(stderr).toContain('use http://');
      expect(stderr).not.toContain('start runbox serve there');
    } finally {
      plain.closeAllConnections();
      await new Promise((r) => plain.close(r));
    }
  });
});

describe('runbox contract check --against image:NAME, and runbox doctor', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-contract-image-'));
    await buildContractImage(LEGACY_IMAGE, contractFixture('legacy-flat-metrics.json'));
    await buildContractImage(UNLABELLED_IMAGE, null);
    await buildContractImage(CURRENT_IMAGE, CURRENT_CONTRACT);
    await buildContractImage(GARBLED_IMAGE, 'not json');
  });
  afterEach(() => expectNoLeftoverContainers(TEST_INSTANCE));
  afterAll(async () => {
    await Promise.all(
      [LEGACY_IMAGE, UNLABELLED_IMAGE, CURRENT_IMAGE, GARBLED_IMAGE].map(removeImage),
    );
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('an image labelled with an incompatible contract exits 78, naming both versions', async () => {
    const { code, stderr } = await runbox(
      'contract',
      'check',
      '--against',
      `image:${LEGACY_IMAGE}`,
    );
    expect(code).toBe(78);
    expect(stderr).toContain(`image ${LEGACY_IMAGE}: runbox.result 0.9.0`);
    expect(stderr).toMatch(/major version differs: this build 1\.1\.0, the other 0\.9\.0/);
  });

  it('an unlabelled image embeds no runbox component: exit 0, and it says so', async () => {
    const { code, stdout } = await runbox(
      'contract',
      'check',
      '--against',
      `image:${UNLABELLED_IMAGE}`,
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/carries no io\.runbox\.contract label/);
  });

  it('--json on an unlabelled image prints one JSON document, compatible with no other side', async () => {
    const { code, stdout } = await runbox(
      '--json',
      'contract',
      'check',
      '--against',
      `image:${UNLABELLED_IMAGE}`,
    );
    expect(JSON.parse(stdout)).toEqual({
      compatible: true,
      reasons: [],
      differences: [],
      reader: {
        name: CURRENT_CONTRACT.name,
        version: CURRENT_CONTRACT.version,
        fingerprint: CURRENT_CONTRACT.fingerprint,
      },
      writer: null,
      message: expect.stringMatching(/carries no io\.runbox\.contract label/) as unknown,
    });
    expect(code).toBe(0);
  });

  it('an image labelled with this build’s contract exits 0', async () => {
    const { code, stdout } = await runbox(
      'contract',
      'check',
      '--against',
      `image:${CURRENT_IMAGE}`,
    );
    expect(code).toBe(0);
    expect(stdout).toContain('compatible');
  });

  it('an image whose label is not a contract exits 78 saying what the label should hold', async () => {
    const { code, stderr } = await runbox(
      'contract',
      'check',
      '--against',
      `image:${GARBLED_IMAGE}`,
    );
    expect(code).toBe(78);
    expect(stderr).toMatch(/unreadable io\.runbox\.contract label "not json"/);
  });

  it('an image that does not exist is ImageUnavailable (69), not compatible', async () => {
    const { code, stderr } = await runbox(
      'contract',
      'check',
      '--against',
      `image:runbox-test/no-such-image:${process.pid}`,
    );
    expect(code).toBe(69);
    expect(stderr).toMatch(/ImageUnavailable: cannot inspect image/);
  });

  it("image: with no name is a usage error (64), not a crash on the engine's redirect", async () => {
    // The engine answered GET /images//json with a redirect that dockerode followed to a
    // host named "images": an unhandled ENOTFOUND and exit 1, which a CI gate misreads.
    const { code, stderr } = await runbox('contract', 'check', '--against', 'image:');
    expect(stderr).not.toContain('Unhandled');
    expect(stderr).toContain('UsageError: --against image: needs an image name');
    expect(code).toBe(64);
  });

  it('image: with a path in its name is a usage error (64), not the same crash', async () => {
    const { code, stderr } = await runbox('contract', 'check', '--against', 'image:a/../b');
    expect(stderr).not.toContain('Unhandled');
    expect(stderr).toContain('UsageError: --against image:a/../b is not an image reference');
    expect(code).toBe(64);
  });

  it('runbox run on the incompatible image exits 78 with ImageContractMismatch, before the job starts', async () => {
    const script = join(dataDir, 'job.sh');
    writeFileSync(script, 'echo must not run\n');
    const configFile = writeTestConfig(dataDir, { port: 0 });
    const { code, stdout, stderr } = await runbox(
      'run',
      script,
      '--image',
      LEGACY_IMAGE,
      '--command',
      'sh',
      '/work/job.sh',
      '--config',
      configFile,
      '--data-dir',
      dataDir,
    );
    expect(code).toBe(78);
    expect(stdout).not.toContain('must not run');
    expect(stderr).toMatch(
      new RegExp(`failed: ImageContractMismatch: image ${LEGACY_IMAGE} was built for contract`),
    );
  });

  it('runbox doctor --json fails a runtime that points at the incompatible image, with a fix', async () => {
    const configFile = writeTestConfig(dataDir, {
      port: 0,
      runtimes: {
        ...TEST_RUNTIMES,
        legacy: { image: LEGACY_IMAGE, command: ['sh', '{script}'] },
        current: { image: CURRENT_IMAGE, command: ['sh', '{script}'] },
        garbled: { image: GARBLED_IMAGE, command: ['sh', '{script}'] },
      },
    });
    const { code, stdout } = await runbox(
      'doctor',
      '--json',
      '--config',
      configFile,
      '--data-dir',
      dataDir,
    );
    expect(code).toBe(1);
    const { checks } = JSON.parse(stdout) as {
      checks: Array<{ name: string; state: string; detail: string; fix?: string }>;
    };
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(byName['runtime legacy']).toMatchObject({
      state: 'fail',
      detail: expect.stringMatching(new RegExp(`${LEGACY_IMAGE}.*0\\.9\\.0`)),
      fix: expect.stringMatching(/rebuild the image/),
    });
    expect(byName['runtime current']).toMatchObject({
      state: 'ok',
      detail: expect.stringContaining(`contract ${CURRENT_CONTRACT.version}`),
    });
    // Present, but every job on it would fail: not "missing, will be pulled".
    expect(byName['runtime garbled']).toMatchObject({
      state: 'fail',
      detail: expect.stringMatching(/unreadable io\.runbox\.contract label/),
    });
    expect(byName['runtime shell']?.state).toBe('ok');
    expect(
      checks
        .filter((c) => c.state === 'fail')
        .map((c) => c.name)
        .sort(),
    ).toEqual(['runtime garbled', 'runtime legacy']);
  });
});
