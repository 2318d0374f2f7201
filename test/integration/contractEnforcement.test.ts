import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { CURRENT_CONTRACT } from '../../src/contract/contract.js';
import type { JobResult } from '../../src/contract/resultSchema.js';
import type { ExecuteRequest } from '../../src/executor/Executor.js';
import { LABELS, createDockerExecutor, type DockerExecutor } from '../../src/executor/index.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import type { JobRecord } from '../../src/queue/types.js';
import { createFileBlobStore } from '../../src/storage/index.js';
import { LiveLogs } from '../../src/worker/LiveLogs.js';
import type { RecoverableExecutor } from '../../src/worker/ports.js';
import { WorkerPool } from '../../src/worker/WorkerPool.js';
import { buildContractImage, contractFixture, removeImage } from '../helpers/contractImage.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import { TEST_INSTANCE, TEST_RUNTIMES, testConfig } from '../helpers/testConfig.js';

const docker = new Docker({
  socketPath: process.env.RUNBOX_DOCKER_SOCKET ?? '/var/run/docker.sock',
});
const LEGACY_IMAGE = `runbox-test/contract-legacy-run:${process.pid}`;
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * The real DockerExecutor, except that results of the jobs named in `breakJobs` lose
 * metrics.stage_times on the way out: what an executor of an older build would return.
 */
function stageTimesDropping(real: DockerExecutor, breakJobs: Set<string>): RecoverableExecutor {
  return {
    async run(request: ExecuteRequest): Promise<JobResult> {
      const result = await real.run(request);
      if (breakJobs.has(request.jobId)) {
        delete (result.metrics as Partial<JobResult['metrics']>).stage_times;
      }
      return result;
    },
    findContainers: () => real.findContainers(),
    reattach: (id, request) => real.reattach(id, request),
    removeContainer: (id) => real.removeContainer(id),
  };
}

/** Every container `create` the engine reports for this instance while it listens. */
async function listenForCreates(instance: string) {
  const created: Array<{ job: string | undefined; image: string | undefined }> = [];
  const stream = (await docker.getEvents({
    filters: { type: ['container'], event: ['create'], label: [`${LABELS.instance}=${instance}`] },
  })) as NodeJS.ReadableStream & { destroy(): void };
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines.filter(Boolean)) {
      const event = JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } };
      const attributes = event.Actor?.Attributes ?? {};
      created.push({ job: attributes[LABELS.job], image: attributes.image });
    }
  });
  return { created, stop: () => stream.destroy() };
}

describe('the worker enforces the contract on what the executor and images give it', () => {
  let config: Readonly<Config>;
  let cleanup: () => void;
  let queue: SqliteQueue;
  let executor: DockerExecutor;
  let pool: WorkerPool | null = null;

  beforeAll(() => buildContractImage(LEGACY_IMAGE, contractFixture('legacy-flat-metrics.json')));
  afterAll(() => removeImage(LEGACY_IMAGE));

  beforeEach(async () => {
    ({ config, cleanup } = testConfig({
      workers: 1,
      runtimes: {
        ...TEST_RUNTIMES,
        legacy: { image: LEGACY_IMAGE, command: ['sh', '{script}'] },
      },
    }));
    queue = SqliteQueue.open(config);
    executor = createDockerExecutor({
      config,
      store: await createFileBlobStore(config),
      identity: { instance: TEST_INSTANCE, database: queue.databaseId },
    });
  });
  afterEach(async () => {
    await pool?.stop(1000);
    pool = null;
    queue.close();
    await expectNoLeftoverContainers(TEST_INSTANCE);
    cleanup();
  });

  async function submitShell(runtime: string, script: string): Promise<string> {
    const [outcome] = await queue.submit([
      {
        spec: { runtime, script: { path: 'job.sh', content: script }, timeout_seconds: 30 },
        maxAttempts: 3,
      },
    ]);
    return outcome!.job.id;
  }

  async function finalOf(id: string): Promise<JobRecord> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const job = (await queue.get(id))!;
      if (FINAL.has(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('a result missing metrics.stage_times fails that job as ContractViolation with the path; the next job runs normally', async () => {
    // Submitted before the pool starts, so one slot takes them in this order.
    const broken = await submitShell('shell', 'echo ran');
    const next = await submitShell('shell', 'echo next');
    pool = new WorkerPool({
      config,
      queue,
      executor: stageTimesDropping(executor, new Set([broken])),
      liveLogs: new LiveLogs(),
      pollMs: 50,
    });
    await pool.start();

    const failed = await finalOf(broken);
    expect(failed.status).toBe('failed');
    // A contract violation is a bug in a build, not bad luck: never retried.
    expect(failed.attempts).toBe(1);
    expect(failed.errorType).toBe('ContractViolation');
    expect(failed.result?.error).toEqual({
      type: 'ContractViolation',
      message: '/metrics/stage_times: required property missing',
      field: '/metrics/stage_times',
    });
    // What is recorded is itself a whole, valid result, not an empty record.
    expect(failed.result?.metrics.stage_times).toBeDefined();
    expect(failed.contractVersion).toBe(CURRENT_CONTRACT.version);

    const succeeded = await finalOf(next);
    expect(succeeded.status).toBe('succeeded');
    expect(succeeded.result?.error).toBeNull();
    expect(succeeded.result?.stdout.bytes).toBe('next\n'.length);
    expect(succeeded.result?.metrics.stage_times.run).toBeGreaterThan(0);
  });

  it('an image labelled with an incompatible contract is refused before any container is created', async () => {
    const events = await listenForCreates(TEST_INSTANCE);
    try {
      const refused = await submitShell('legacy', 'echo must not run');
      const control = await submitShell('shell', 'echo control');
      pool = new WorkerPool({
        config,
        queue,
        executor,
        liveLogs: new LiveLogs(),
        pollMs: 50,
      });
      await pool.start();

      const failed = await finalOf(refused);
      expect(failed.status).toBe('failed');
      expect(failed.attempts).toBe(1);
      expect(failed.errorType).toBe('ImageContractMismatch');
      expect(failed.result?.error).toMatchObject({ type: 'ImageContractMismatch', field: 'image' });
      expect(failed.result?.error?.message).toMatch(
        new RegExp(
          `image ${LEGACY_IMAGE} was built for contract runbox\\.result 0\\.9\\.0, this runbox speaks 1\\.1\\.0.*Rebuild the image`,
        ),
      );
      expect(failed.result?.exit_code).toBeNull();
      expect(failed.result?.metrics.stage_times).toMatchObject({ create: 0, inputs: 0, run: 0 });

      // The control job went through the same pool and did create a container, so the
      // listener sees creates: the refused job simply never made one.
      expect((await finalOf(control)).status).toBe('succeeded');
      await new Promise((r) => setTimeout(r, 300));
      expect(events.created.some((e) => e.job === control)).toBe(true);
      expect(events.created.filter((e) => e.job === refused || e.image === LEGACY_IMAGE)).toEqual(
        [],
      );
    } finally {
      events.stop();
    }
  });
});
