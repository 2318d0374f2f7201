import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { CURRENT_CONTRACT } from '../../src/contract/contract.js';
import { buildContractImage, removeImage } from '../helpers/contractImage.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import { api, waitFor } from '../helpers/queueProbe.js';
import {
  RUNBOX_BUNDLE,
  runCliProcess,
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE, TEST_RUNTIMES } from '../helpers/testConfig.js';

/*
 * Pulls against a real registry: Debian's docker-registry package, serving on loopback
 * from a temp folder (the engine treats 127.0.0.0/8 as an insecure registry, so no TLS).
 * .ci/run installs the package; without it these tests fail rather than skip.
 */

const run = promisify(execFile);
const docker = async (...args: string[]) => (await run('docker', args)).stdout.trim();

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const imageId = (ref: string) => docker('image', 'inspect', '-f', '{{.Id}}', ref);
const present = (ref: string) =>
  imageId(ref).then(
    () => true,
    () => false,
  );

describe('images pulled within limits, recorded by digest and pinned', () => {
  let dir: string;
  let registry: ChildProcess;
  let hang: Server;
  const hung: Socket[] = [];
  let REG: string;
  let HANG: string;
  let BIG: string;
  const servers: RunboxProcess[] = [];
  const tags: string[] = [];
  const moved = `runbox-test/moved:${process.pid}`;

  const cli = (configFile: string, ...args: string[]) =>
    runCliProcess([...args, '--config', configFile], {
      env: { RUNBOX_CONFIG: '' },
      timeoutMs: 90_000,
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runbox-pull-'));
    const port = await freePort();
    REG = `127.0.0.1:${port}`;
    const config = join(dir, 'registry.yml');
    writeFileSync(
      config,
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry')}\nhttp:\n  addr: ${REG}\n`,
    );
    registry = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
    registry.on('error', (error) => {
      throw new Error(
        `docker-registry could not start (${error.message}); install Debian's docker-registry package`,
      );
    });
    await waitFor('the registry answers', async () => (await fetch(`http://${REG}/v2/`)).ok, {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    const pushed = `${REG}/runbox-test/pulltest:v1`;
    await docker('tag', 'runbox-test/shell:latest', pushed);
    await docker('push', pushed);
    await docker('rmi', pushed);
    // An image whose one extra layer exists only in the registry: the engine announces
    // its size when pulling, so the size cap has something to refuse.
    const big = `${REG}/runbox-test/big:${process.pid}`;
    const context = join(dir, 'big');
    mkdirSync(context);
    writeFileSync(join(context, 'blob'), randomBytes(256 * 1024));
    writeFileSync(join(context, 'Dockerfile'), 'FROM runbox-test/shell:latest\nCOPY blob /blob\n');
    await docker('build', '-q', '-t', big, context);
    await docker('push', big);
    await docker('rmi', big);
    BIG = big;

    // A "registry" that accepts connections and never answers: only a timeout ends a pull.
    hang = createServer((socket) => hung.push(socket));
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    HANG = `127.0.0.1:${(hang.address() as { port: number }).port}`;
    await buildContractImage(moved, CURRENT_CONTRACT);
    tags.push(moved);
  }, 180_000);

  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.kill();
      await server.exited;
    }
    await expectNoLeftoverContainers(TEST_INSTANCE);
  });

  afterAll(async () => {
    registry?.kill();
    for (const socket of hung) socket.destroy();
    hang?.close();
    await Promise.all(tags.map(removeImage));
    await removeImage(`${REG}/runbox-test/pulltest:v1`);
    if (BIG) await removeImage(BIG);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runbox pull RUNTIME pulls its image from the registry; no progress lines when not on a terminal', async () => {
    const image = `${REG}/runbox-test/pulltest:v1`;
    tags.push(image);
    const configFile = writeTestConfig(dir, {
      runtimes: { ...TEST_RUNTIMES, pulled: { image, command: ['sh', '{script}'] } },
    });
    expect(await present(image)).toBe(false);
    const { code, stdout, stderr } = await cli(configFile, 'pull', 'pulled');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout.trim()).toBe(`pulled ${image} ${await imageId(image)}`);
    expect(await imageId(image)).toBe(await imageId('runbox-test/shell:latest'));

    // With no target: every runtime's image. The stand-ins built locally exist in no
    // registry, so those fail (exit 69 for the first) while the registry's one is pulled.
    const all = await cli(configFile, 'pull', '--json');
    expect(all.code).toBe(69);
    const images = (
      JSON.parse(all.stdout) as {
        images: Array<{ image: string; id: string | null; error: { type: string } | null }>;
      }
    ).images;
    expect(images.map((i) => i.image).sort()).toEqual(
      [...Object.values(TEST_RUNTIMES).map((r) => r.image), image].sort(),
    );
    expect(images.find((i) => i.image === image)).toMatchObject({
      id: expect.stringMatching(/^sha256:/),
      error: null,
    });
    expect(images.find((i) => i.image === 'runbox-test/shell:latest')?.error?.type).toBe(
      'ImageUnavailable',
    );
    await removeImage(image);
  });

  it('a pull whose layers exceed pull.maxBytes is abandoned before they land: exit 69 naming the field', async () => {
    const image = BIG;
    const configFile = writeTestConfig(dir, { pull: { maxBytes: 1000 } });
    const { code, stderr } = await cli(configFile, 'pull', image);
    expect(code).toBe(69);
    expect(stderr).toMatch(
      /ImageUnavailable: pulling .* its layers exceed 1000 bytes \(pull\.maxBytes\)/,
    );
    expect(await present(image)).toBe(false);
  });

  it('on a terminal, runbox pull shows the bytes downloaded of the total announced', async () => {
    const configFile = writeTestConfig(dir);
    // script(1) gives the command a pseudo-terminal, as an operator's shell would, 100
    // columns wide (a bare pty reports 0), and CI unset: progress is for terminals only.
    const command = `stty cols 100 rows 30; ${[
      process.execPath,
      RUNBOX_BUNDLE,
      'pull',
      BIG,
      '--config',
      configFile,
    ]
      .map((a) => `'${a}'`)
      .join(' ')}`;
    const env: NodeJS.ProcessEnv = { ...process.env, RUNBOX_CONFIG: '', TERM: 'xterm' };
    delete env.CI;
    const { stdout } = await run('script', ['-qec', command, '/dev/null'], { env });
    expect(stdout).toMatch(
      new RegExp(`pulling ${BIG.replace(/[.]/g, '\\.')}: [\\d.]+ of [\\d.]+ MiB`),
    );
    expect(stdout).toContain(`pulled ${BIG} sha256:`);
    await removeImage(BIG);
  });

  it('a pull from a registry that never answers is abandoned at pull.timeoutSeconds: exit 69 naming the field', async () => {
    const configFile = writeTestConfig(dir, { pull: { timeoutSeconds: 2 } });
    const started = Date.now();
    const { code, stderr } = await cli(configFile, 'pull', `${HANG}/nothing/here:v1`);
    const took = Date.now() - started;
    expect(code).toBe(69);
    expect(stderr).toMatch(/took longer than 2 s and was abandoned; raise pull\.timeoutSeconds/);
    expect(took).toBeLessThan(30_000);
    // Several targets: each is tried, and the exit code is the first failure's.
    const pulled = `${REG}/runbox-test/pulltest:v1`;
    const mixed = await cli(configFile, 'pull', `${HANG}/nothing/here:v1`, pulled);
    expect(mixed.code).toBe(69);
    expect(mixed.stdout).toContain(`pulled ${pulled} sha256:`);
    await removeImage(pulled);
  });

  it('results record the image ID they ran; a pinned runtime keeps its first ID after the tag moves; jobs may pin sha256:ID', async () => {
    const shellId = await imageId('runbox-test/shell:latest');
    const movedId = await imageId(moved);
    const tag = `runbox-test/moving:${process.pid}`;
    tags.push(tag);
    await docker('tag', 'runbox-test/shell:latest', tag);
    const configFile = writeTestConfig(dir, {
      port: 0,
      runtimes: {
        ...TEST_RUNTIMES,
        pinned: { image: tag, command: ['sh', '{script}'], pin: true },
        floating: { image: tag, command: ['sh', '{script}'] },
      },
    });
    const server = await startServerProcess({ dataDir: dir, configFile, workers: 1 });
    servers.push(server);
    const runJob = async (body: Record<string, unknown>) =>
      (
        await api<JobView>(server.url, 'POST', '/v1/jobs?wait=true&wait_seconds=60', {
          script: { path: 'job.sh', content: 'echo ok' },
          max_attempts: 1,
          ...body,
        })
      ).body;

    const first = await runJob({ runtime: 'pinned' });
    expect(first.status).toBe('succeeded');
    expect(first.result?.image_digest).toBe(shellId);

    await docker('tag', moved, tag); // the tag moves under the running box
    const pinned = await runJob({ runtime: 'pinned' });
    expect(pinned.result?.image_digest).toBe(shellId);
    const floating = await runJob({ runtime: 'floating' });
    expect(floating.result?.image_digest).toBe(movedId);

    const byId = await runJob({ image: shellId, command: ['sh', 'job.sh'] });
    expect({ status: byId.status, digest: byId.result?.image_digest }).toEqual({
      status: 'succeeded',
      digest: shellId,
    });
    const unknown = `runbox-test/shell@sha256:${'0'.repeat(64)}`;
    const missing = await runJob({ image: unknown, command: ['sh', 'job.sh'] });
    expect(missing.status).toBe('failed');
    // The test's pull policy is never: no pull is tried, and no retry could bring it.
    expect(missing.error).toMatchObject({ type: 'ImageUnavailable', field: 'pull_policy' });
    expect(missing.result?.image_digest).toBeUndefined();
  });

  it('/healthz lists runtime images still missing, and serve with pull.atStart pulls them', async () => {
    const image = `${REG}/runbox-test/pulltest:v1`;
    // In the registry's namespace, so its pull fails at once (manifest unknown).
    const absent = `${REG}/runbox-test/absent:${process.pid}`;
    const configFile = writeTestConfig(dir, {
      port: 0,
      pull: { atStart: true },
      runtimes: {
        ...TEST_RUNTIMES,
        pulled: { image, command: ['sh', '{script}'] },
        absent: { image: absent, command: ['sh', '{script}'] },
      },
    });
    expect(await present(image)).toBe(false);
    const server = await startServerProcess({ dataDir: dir, configFile, workers: 0 });
    servers.push(server);
    const health = await waitFor(
      'the pre-pull to finish',
      async () => {
        const { body } = await api<{ images_missing: string[] | null }>(
          server.url,
          'GET',
          '/healthz',
        );
        return body.images_missing && !body.images_missing.includes(image) ? body : false;
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );
    // The one no registry has stays listed; the pull failure is logged, not fatal.
    expect(health.images_missing).toEqual([absent]);
    expect(await present(image)).toBe(true);
    // A JSON log line naming the image it could not pull.
    expect(server.stderr()).toMatch(
      /"image":"[^"]*runbox-test\/absent[^\n]*"msg":"could not pull runtime image"/,
    );
    await removeImage(image);
  });
});
