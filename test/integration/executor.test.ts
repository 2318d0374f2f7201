import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { failureResult } from '../../src/contract/failureResult.js';
import type { JobResult } from '../../src/contract/resultSchema.js';
import { checkResult } from '../../src/contract/validateResult.js';
import { InvalidSpecError } from '../../src/errors/index.js';
import { createDockerExecutor, type DockerExecutor } from '../../src/executor/index.js';
import type { ExecuteRequest } from '../../src/executor/Executor.js';
import { planContainer } from '../../src/executor/containerConfig.js';
import { putInputs } from '../../src/executor/inputsTar.js';
import { createScratch } from '../../src/executor/scratchDir.js';
import { parseJobSpec } from '../../src/spec/parseJobSpec.js';
import type { JobSpec } from '../../src/spec/jobSpecSchema.js';
import { createFileBlobStore, type BlobStore } from '../../src/storage/index.js';
import { buildContractImage, removeImage } from '../helpers/contractImage.js';
import { expectNoLeftoverContainers, labelledContainers } from '../helpers/leftovers.js';
import { TEST_IDENTITY, TEST_INSTANCE, testConfig } from '../helpers/testConfig.js';

const MiB = 1024 * 1024;
const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'jobs');
const runtimeOf: Record<string, string> = { py: 'python:3.11', js: 'node:20', sh: 'shell' };

/** A spec running fixtures/jobs/<name> with the runtime its extension names. */
function fixture(name: string, extra: Partial<JobSpec> = {}): JobSpec {
  const ext = name.split('.').pop()!;
  return {
    runtime: runtimeOf[ext],
    script: { path: name, content: readFileSync(join(FIXTURES, name), 'utf8') },
    timeout_seconds: 30,
    ...extra,
  };
}

function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('DockerExecutor on a real engine', () => {
  let config: Readonly<Config>;
  let cleanup: () => void;
  let store: BlobStore;
  let executor: DockerExecutor;
  let jobs = 0;

  beforeAll(async () => {
    ({ config, cleanup } = testConfig({
      defaults: { pullPolicy: 'never', killGraceSeconds: 1 },
      limits: { logBytes: MiB },
    }));
    store = await createFileBlobStore(config);
    executor = createDockerExecutor({ config, store, identity: TEST_IDENTITY });
  });
  afterEach(async () => {
    await expectNoLeftoverContainers(TEST_INSTANCE);
    // Scratch folders go with their container, on every path.
    expect(readdirSafe(join(config.dataDir, 'scratch'))).toEqual([]);
  });
  afterAll(() => cleanup?.());

  function readdirSafe(dir: string): string[] {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  }

  function request(spec: JobSpec, extra: Partial<ExecuteRequest> = {}): ExecuteRequest {
    return { jobId: `job-${++jobs}`, attempt: 1, spec: parseJobSpec(spec, config), ...extra };
  }

  /** Runs a spec and checks the result against the contract before anything else. */
  async function run(spec: JobSpec, extra: Partial<ExecuteRequest> = {}): Promise<JobResult> {
    const result = await executor.run(request(spec, extra));
    expect(checkResult(result)).toEqual([]);
    return result;
  }

  async function blobText(blob: string | null): Promise<string> {
    return (await blobBytes(blob)).toString('utf8');
  }

  async function blobBytes(blob: string | null): Promise<Buffer> {
    if (blob === null) return Buffer.alloc(0);
    const chunks: Buffer[] = [];
    for await (const chunk of await store.openDecompressed(blob)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it('runs a Python hello-world in /work as user 65534 and reports a complete result', async () => {
    const result = await run(fixture('hello.py'));
    expect(result.error).toBeNull();
    expect(result.exit_code).toBe(0);
    expect(result.signal).toBeNull();
    expect(await blobText(result.stdout.blob)).toBe(
      'hello from python /work /outputs /work 65534\n',
    );
    expect(result.stderr).toEqual({ bytes: 0, truncated: false, blob: null });
    expect(result.sandbox).toMatchObject({
      image: 'runbox-test/python:latest',
      user: '65534:65534',
      network: 'none',
      read_only_root: true,
      cap_drop: ['ALL'],
      no_new_privileges: true,
      timeout_seconds: 30,
    });
    const stages = result.metrics.stage_times;
    expect(stages.run).toBeGreaterThan(0);
    expect(result.metrics.total_seconds).toBeGreaterThanOrEqual(stages.run);
  });

  it('applies the sandbox: read-only root, no capabilities, no new privileges, an init, no socket', async () => {
    const result = await run(fixture('sandbox.sh'));
    expect(result.error).toBeNull();
    const facts = await blobText(result.stdout.blob);
    expect(facts).toContain('rootfs: read-only\n');
    expect(facts).toContain('tmp: writable\n');
    expect(facts).toContain('work: writable\n');
    expect(facts).toContain('outputs: writable\n');
    expect(facts).toMatch(/CapEff:\s+0000000000000000\n/);
    expect(facts).toMatch(/NoNewPrivs:\s+1\n/);
    expect(facts).toContain('docker socket: absent\n');
    expect(facts).toContain('nofile: 1024\n');
    expect(facts).toMatch(/pid 1: \S*init/);
    // README "Inside the container": stdin is closed, fsize ulimit, a size-capped tmpfs /tmp.
    expect(facts).toContain('stdin: closed\n');
    expect(facts).toContain(`fsize blocks: ${(2 * 1024 * MiB) / 512}\n`);
    expect(facts).toMatch(/tmp: tmpfs \/tmp tmpfs \S*size=65536k/);
    expect(result.sandbox).toMatchObject({ tmpfs_bytes: 64 * MiB, nano_cpus: 1e9 });
    expect(result.outputs).toEqual([]);
  });

  it('runs a Node hello-world', async () => {
    const result = await run(fixture('hello.js'));
    expect(result.error).toBeNull();
    expect(await blobText(result.stdout.blob)).toBe('hello from node /work /outputs /work 65534\n');
  });

  it('runs a shell hello-world', async () => {
    const result = await run(fixture('hello.sh'));
    expect(result.error).toBeNull();
    expect(await blobText(result.stdout.blob)).toBe('hello from sh /work /outputs /work 65534\n');
  });

  it('keeps stderr apart from stdout, and streams both live', async () => {
    const live: string[] = [];
    const result = await run(fixture('streams.sh'), {
      onLog: (stream, chunk) => {
        live.push(`${stream}:${chunk.toString()}`);
      },
    });
    expect(await blobText(result.stdout.blob)).toBe('to stdout\nstdout again\n');
    expect(await blobText(result.stderr.blob)).toBe('to stderr\n');
    expect(result.stdout.bytes).toBe(23);
    expect(live.join('')).toContain('stderr:to stderr\n');
  });

  it('keeps exit code 3 as NonZeroExit without a signal', async () => {
    const result = await run(fixture('exit3.sh'));
    expect(result.exit_code).toBe(3);
    expect(result.signal).toBeNull();
    expect(result.error).toMatchObject({ type: 'NonZeroExit', message: 'exited with code 3' });
    expect(await blobText(result.stdout.blob)).toBe('about to fail\n');
  });

  it('kills a sleep past its timeout with SIGTERM and keeps the output from before', async () => {
    const started = Date.now();
    const result = await run(fixture('sleep.sh', { timeout_seconds: 1 }));
    expect(Date.now() - started).toBeLessThan(8000);
    expect(result.timed_out).toBe(true);
    expect(result.error?.type).toBe('Timeout');
    expect(result.signal).toMatch(/^SIG(TERM|KILL)$/);
    expect(await blobText(result.stdout.blob)).toBe('before the sleep\n');
  });

  it('stops a job whose request is aborted with reason cancel, keeping its partial output', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const result = await run(fixture('ticker.sh'), {
      signal: controller.signal,
      onLog: (_stream, chunk) => {
        seen.push(chunk.toString());
        if (seen.join('').includes('tick 3')) controller.abort('cancel');
      },
    });
    expect(result.error?.type).toBe('Cancelled');
    expect(result.timed_out).toBe(false);
    const text = await blobText(result.stdout.blob);
    expect(text).toMatch(/^tick 0\ntick 1\ntick 2\ntick 3\n/);
    expect(text).not.toContain('tick 19');
  });

  it('has no network by default: a connection attempt fails', async () => {
    const result = await run(fixture('network.py'));
    expect(result.exit_code).toBe(4);
    expect(result.error?.type).toBe('NonZeroExit');
    expect(await blobText(result.stderr.blob)).toMatch(/^blocked:.*unreachable/i);
  });

  it('gives the job a network interface only when it asks for bridge', async () => {
    const listNet = (network: 'none' | 'bridge') =>
      run({ runtime: 'shell', command: ['ls', '/sys/class/net'], network });
    const none = await listNet('none');
    expect(await blobText(none.stdout.blob)).toBe('lo\n');
    const bridge = await listNet('bridge');
    expect(bridge.sandbox?.network).toBe('bridge');
    expect(await blobText(bridge.stdout.blob)).toMatch(/eth0/);
  });

  it('reports a memory hog as OOMKilled, not a bare 137', async () => {
    const result = await run(fixture('memhog.py', { limits: { memory: '32m' } }));
    expect(result.oom_killed).toBe(true);
    expect(result.error).toMatchObject({ type: 'OOMKilled', field: 'limits.memory' });
    expect(result.exit_code).toBe(137);
    expect(result.signal).toBe('SIGKILL');
    expect(result.sandbox?.memory_bytes).toBe(32 * MiB);
  });

  it('lets a script that outlives its child killed for memory succeed, recording the kill', async () => {
    // The hog makes itself (and head and tr after it) the kernel's first choice: with the
    // memory slow to come back from the first kill, a second one fell on the script itself
    // once (exit 137 in a fresh-clone CI run), and the case was gone. Raising one's own
    // oom_score_adj needs no privilege.
    const hog =
      'sh -c \'echo 1000 > /proc/self/oom_score_adj; x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo ${#x}\'';
    const survived = await run({
      runtime: 'shell',
      command: ['sh', '-c', `${hog}; echo "child $?"`],
      limits: { memory: '32m' },
    });
    expect(await blobText(survived.stdout.blob)).toBe('child 137\n');
    expect(survived).toMatchObject({ exit_code: 0, error: null, oom_killed: true, signal: null });
    // A script that fails after its child's kill is still told why.
    const failed = await run({
      runtime: 'shell',
      command: ['sh', '-c', `${hog} || exit 3`],
      limits: { memory: '32m' },
    });
    expect(failed).toMatchObject({ exit_code: 3, oom_killed: true });
    expect(failed.error).toMatchObject({ type: 'OOMKilled', field: 'limits.memory' });
  });

  it('contains a fork bomb with the pids limit while the host stays responsive', async () => {
    const docker = new Docker({ socketPath: config.dockerSocket });
    const running = run(fixture('forkbomb.py', { timeout_seconds: 3, limits: { pids: 32 } }));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // In the middle of the bomb the host can still fork and the engine still answers.
    const t = Date.now();
    await promisify(execFile)('true');
    await docker.ping();
    expect(Date.now() - t).toBeLessThan(2000);
    const result = await running;
    expect(result.error?.type).toBe('Timeout');
    expect(result.sandbox?.pids_limit).toBe(32);
    expect(await blobText(result.stdout.blob)).toContain('fork refused');
    expect(result.metrics.total_seconds).toBeLessThan(15);
  });

  it('caps 5 MiB of stdout to head and tail with the truncated flag and the true byte count', async () => {
    const result = await run(fixture('bigout.py'));
    expect(result.error).toBeNull();
    expect(result.stdout.bytes).toBe(5 * MiB);
    expect(result.stdout.truncated).toBe(true);
    const kept = await blobText(result.stdout.blob);
    expect(kept.length).toBe(MiB);
    expect(kept.startsWith('line 0000000 ')).toBe(true);
    expect(kept.endsWith(`line 0081919 ${'x'.repeat(50)}\n`)).toBe(true);
    const marker = /\n\[runbox: (\d+) bytes omitted\]\n/.exec(kept)!;
    expect(Number(marker[1]) + kept.length - marker[0].length).toBe(5 * MiB);
  });

  it('collects nested and non-ASCII outputs with matching sha256, symlinks as text, others skipped', async () => {
    const result = await run(fixture('outputs.py'));
    expect(result.error).toBeNull();
    const byPath = new Map(result.outputs.map((o) => [o.path, o]));
    const expected: Record<string, Buffer> = {
      'a/b/c/deep.txt': Buffer.from('deep file\n'),
      'données/résumé-日本語.txt': Buffer.from('naïve café ☕\n'),
    };
    for (const [path, bytes] of Object.entries(expected)) {
      const entry = byPath.get(path);
      expect(entry, path).toMatchObject({
        type: 'file',
        size: bytes.length,
        sha256: sha256(bytes),
      });
      expect(sha256(await blobBytes(entry!.sha256))).toBe(sha256(bytes));
    }
    const big = Buffer.alloc(256 * 4096);
    for (let i = 0; i < big.length; i++) big[i] = i % 256;
    // Both names of a hard-linked file are kept as files with the same content.
    for (const name of ['top.bin', 'top-hardlink.bin']) {
      expect(byPath.get(name), name).toMatchObject({
        type: 'file',
        size: big.length,
        sha256: sha256(big),
      });
    }
    expect(byPath.get('passwd-link')).toMatchObject({
      type: 'symlink',
      link_target: '/etc/passwd',
      sha256: null,
    });
    expect(result.skipped_outputs).toContainEqual({ path: 'pipe', reason: 'named pipe' });
    expect(result.skipped_outputs.some((s) => s.reason.startsWith('hard link'))).toBe(false);
  });

  it('gives a script reading stdin end of file at once', async () => {
    const result = await run(fixture('stdin.py', { timeout_seconds: 10 }));
    expect(result.error).toBeNull();
    expect(result.timed_out).toBe(false);
    expect(await blobText(result.stdout.blob)).toBe("stdin gave ''\n");
  });

  it("stops at the job's limits.output_files with OutputLimitExceeded and keeps what was stored", async () => {
    const result = await run(fixture('manyfiles.sh', { limits: { output_files: 2 } }));
    expect(checkResult(result)).toEqual([]);
    expect(result.exit_code).toBe(0);
    expect(result.error).toMatchObject({ type: 'OutputLimitExceeded' });
    expect(result.outputs).toHaveLength(2);
    expect(result.outputs.every((o) => o.sha256 !== null)).toBe(true);
  });

  it('reports a missing image that cannot be pulled as ImageUnavailable with the reason', async () => {
    const result = await run({
      image: 'runbox-test/does-not-exist:latest',
      command: ['true'],
      pull_policy: 'if-not-present',
    });
    expect(result.error?.type).toBe('ImageUnavailable');
    expect(result.error?.message).toContain('runbox-test/does-not-exist:latest');
    expect(result.error?.message).toMatch(/pulling image \S+ failed: \S+.*no local copy exists/);
    expect(result.exit_code).toBeNull();
    const never = await run({
      image: 'runbox-test/does-not-exist:latest',
      command: ['true'],
      pull_policy: 'never',
    });
    expect(never.error?.type).toBe('ImageUnavailable');
    expect(never.error?.message).toMatch(/not present.*"never"/);
  });

  it('refuses an image with a VOLUME under /outputs or /work before any container exists', async () => {
    // The engine would mount an anonymous volume over runbox's bind mount there, and
    // what the job wrote into it would be lost without a word.
    const tag = `runbox-test/volume-outputs:${process.pid}`;
    await buildContractImage(tag, null, 'VOLUME /data\nVOLUME /outputs/vol/ /work\n');
    try {
      const result = await run({ image: tag, command: ['sh', '-c', 'echo x > /outputs/vol/f'] });
      expect(result.error).toMatchObject({ type: 'InvalidSpec', field: 'image' });
      expect(result.error?.message).toContain(`image ${tag} declares VOLUME /outputs/vol`);
      expect(result.error?.message).toContain('/work');
      expect(result.error?.message).not.toContain('/data');
      expect(result.exit_code).toBeNull();
      expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);
    } finally {
      await removeImage(tag);
    }
  });

  it.each([
    [{ runtime: 'cobol:85', script: { path: 'a', content: '' } }, 'runtime'],
    [
      { runtime: 'shell', script: { path: 'a.sh', content: '' }, timeout_seconds: -1 },
      'timeout_seconds',
    ],
    [{ runtime: 'shell', script: { path: 'a.sh', content: '' }, env: { N: 5 } }, 'env.N'],
    [{ runtime: 'shell', script: { path: '../a.sh', content: '' } }, 'script.path'],
    [
      { runtime: 'shell', script: { path: 'a.sh', content: '' }, limits: { memory: 'lots' } },
      'limits.memory',
    ],
  ])(
    'rejects a bad spec as InvalidSpec naming the field, before any container (%j)',
    async (spec, field) => {
      let thrown: unknown;
      try {
        parseJobSpec(spec, config);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(InvalidSpecError);
      expect((thrown as InvalidSpecError).field).toBe(field);
      const result = failureResult(thrown as InvalidSpecError);
      expect(checkResult(result)).toEqual([]);
      expect(result.error).toMatchObject({ type: 'InvalidSpec', field });
      expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);
    },
  );

  /** Plays a runbox process that created, filled and started a container, then died. */
  async function leaveContainer(req: ExecuteRequest): Promise<Docker.Container> {
    const scratch = await createScratch(config.dataDir, req.jobId, req.attempt);
    const plan = planContainer({
      identity: TEST_IDENTITY,
      spec: req.spec,
      jobId: req.jobId,
      attempt: 1,
      scratch,
    });
    const container = await executor.docker.createContainer(plan.options);
    await putInputs(container, req.spec.files);
    await container.start();
    return container;
  }

  it('finds a container a previous process left running and re-attaches to finish it', async () => {
    const req = request(fixture('ticker.sh'));
    const container = await leaveContainer(req);
    const inspected = await container.inspect();
    const host = inspected.HostConfig;
    // Labels name the runbox instance, database, job and attempt (README "Inside the container").
    expect(inspected.Config.Labels).toMatchObject({
      'io.runbox.instance': TEST_IDENTITY.instance,
      'io.runbox.database': TEST_IDENTITY.database,
      'io.runbox.job': req.jobId,
      'io.runbox.attempt': '1',
    });
    expect(host).toMatchObject({
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Init: true,
      PidsLimit: req.spec.pidsLimit,
      Memory: req.spec.memoryBytes,
      MemorySwap: req.spec.memoryBytes,
      NanoCpus: req.spec.nanoCpus,
      Ulimits: expect.arrayContaining([
        { Name: 'nofile', Soft: req.spec.nofile, Hard: req.spec.nofile },
        { Name: 'fsize', Soft: req.spec.fileSizeBytes, Hard: req.spec.fileSizeBytes },
      ]),
      LogConfig: {
        Type: 'local',
        Config: { 'max-size': '16m', 'max-file': '2', compress: 'false' },
      },
    });
    // Only the attempt's scratch folders are mounted: never the Docker socket.
    expect((host.Mounts ?? []).map((m) => m.Target).sort()).toEqual(['/outputs', '/work']);
    const found = await executor.findContainers();
    expect(found).toEqual([
      { containerId: container.id, jobId: req.jobId, attempt: 1, running: true },
    ]);
    const result = await executor.reattach(container.id, req);
    expect(checkResult(result)).toEqual([]);
    expect(result.error).toBeNull();
    const text = await blobText(result.stdout.blob);
    expect(text.startsWith('tick 0\n')).toBe(true);
    expect(text.endsWith('tick 19\n')).toBe(true);
    expect(await executor.findContainers()).toEqual([]);
  });

  it('keeps the bytes a re-attached job wrote after its last newline, on both streams', async () => {
    // A stranger's job re-attached after kill -9 lost its whole stderr ("E1\x80\0\r" then
    // "after\r", no newline anywhere) and stdout's last "tail-no-nl": the engine logs a
    // stream's bytes after its last newline only once the stream ends, and its follow
    // (Docker 20.10, local driver) ends before that last entry is readable.
    const script = [
      `printf 'out\\377\\000\\r' ; printf 'E1\\200\\r' >&2`,
      'sleep 2',
      `printf 'line\\nafter\\r' >&2; printf 'tail-no-nl'`,
    ].join('\n');
    const req = request({
      runtime: 'shell',
      script: { path: 'partial.sh', content: `${script}\n` },
      timeout_seconds: 30,
    });
    const container = await leaveContainer(req);
    const result = await executor.reattach(container.id, req);
    expect(result.error).toBeNull();
    expect(await blobBytes(result.stdout.blob)).toEqual(
      Buffer.from('out\xff\0\rtail-no-nl', 'latin1'),
    );
    expect(await blobBytes(result.stderr.blob)).toEqual(
      Buffer.from('E1\x80\rline\nafter\r', 'latin1'),
    );
    expect([result.stdout.bytes, result.stderr.bytes]).toEqual([16, 15]);
  });

  it('counts the time a re-attached job ran before the takeover in its run stage and total_seconds', async () => {
    // A stranger saw a 20 s job re-attached after kill -9 report total_seconds 0.04.
    const req = request(
      fixture('hello.sh', { script: { path: 'nap.sh', content: 'sleep 1.5; echo rested\n' } }),
    );
    const container = await leaveContainer(req);
    await container.wait();
    const result = await executor.reattach(container.id, req);
    expect(result.error).toBeNull();
    expect(result.metrics.stage_times.run).toBeGreaterThanOrEqual(1.4);
    expect(result.metrics.stage_times.run).toBeLessThan(10);
    expect(result.metrics.total_seconds).toBeGreaterThanOrEqual(result.metrics.stage_times.run);
  });

  it('re-attaches to a container that ended on its own after its deadline without calling it a timeout', async () => {
    const req = request(fixture('exit3.sh', { timeout_seconds: 0.5 }));
    const container = await leaveContainer(req);
    await container.wait();
    await new Promise((resolve) => setTimeout(resolve, 600));
    const result = await executor.reattach(container.id, req);
    expect(checkResult(result)).toEqual([]);
    expect(result.timed_out).toBe(false);
    expect(result.exit_code).toBe(3);
    expect(result.error?.type).toBe('NonZeroExit');
    expect(await blobText(result.stdout.blob)).toBe('about to fail\n');
  });

  it('reports an unreachable engine as EngineUnavailable', async () => {
    const { config: away, cleanup: cleanupAway } = testConfig({
      dockerSocket: join(config.dataDir, 'no-such.sock'),
    });
    try {
      const result = await createDockerExecutor({
        config: away,
        store,
        identity: TEST_IDENTITY,
      }).run(request(fixture('hello.sh')));
      expect(checkResult(result)).toEqual([]);
      expect(result.error?.type).toBe('EngineUnavailable');
      expect(result.error?.message).toMatch(/unreachable/);
    } finally {
      cleanupAway();
    }
  });
});
