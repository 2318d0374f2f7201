import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { databaseIdOf, labelledContainers } from '../helpers/leftovers.js';
import {
  api,
  watchContainerStarts,
  containersOfJob,
  docker,
  getJob,
  shellJob,
  submit,
  waitFor,
} from '../helpers/queueProbe.js';
import {
  RUNBOX_BUNDLE,
  runCliProcess,
  startServerProcess,
  writeTestConfig,
} from '../helpers/serverProcess.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * kill -9 of `runbox serve` while jobs run and more are queued. After a restart every
 * job ends exactly once: one container start per job (the engine's event log, not
 * runbox's own bookkeeping), one recorded result holding the job's own marker, and
 * no labelled container left behind.
 */

/** Each job writes its marker to /outputs and stdout, after sleeping `seconds`. */
function markerJob(marker: string, seconds: number) {
  return shellJob(
    `sleep ${seconds}\necho "${marker}" > "$RUNBOX_OUTPUTS/marker"\necho "done ${marker}"\n`,
  );
}

describe('runbox serve killed with SIGKILL', () => {
  const sandbox = useProcessSandbox('crash');

  // Seen under load (CI with other work beside it): the restart came after the leases had
  // run out, the API's own reaper requeued both running jobs before the pool's recovery
  // could adopt them, and recovery then removed their containers: both ran twice. The
  // second case makes that certain: leases of 400 ms, reaped every 50 ms.
  it.each([
    { when: 'within their leases', lease: { heartbeatMs: 300, expiryMs: 3000 }, downMs: 0 },
    { when: 'after their leases ran out', lease: { heartbeatMs: 50, expiryMs: 400 }, downMs: 500 },
  ])(
    'restarted $when: re-attaches to surviving containers, reruns nothing, and runs the queued jobs once',
    async ({ lease, downMs }) => {
      const watch = await watchContainerStarts(TEST_INSTANCE);
      const configFile = writeTestConfig(sandbox.dataDir, {
        lease,
        retry: { baseMs: 100, capMs: 200 },
      });
      const first = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 2 });
      sandbox.processes.push(first);

      // Two slots: `ends` finishes while the server is dead (its result is only in the
      // exited container), `outlives` is still running when the new server starts.
      const ends = await submit(first.url, { ...markerJob('m-ends', 1), priority: -2 });
      const outlives = await submit(first.url, { ...markerJob('m-outlives', 6), priority: -1 });
      const queued: JobView[] = [];
      for (let i = 0; i < 4; i++) queued.push(await submit(first.url, markerJob(`m-q${i}`, 0)));
      const all = [ends, outlives, ...queued];
      const markers = new Map([
        [ends.id, 'm-ends'],
        [outlives.id, 'm-outlives'],
        ...queued.map((j, i) => [j.id, `m-q${i}`] as const),
      ]);

      // Both slots hold a started container; the rest wait.
      await waitFor('two running containers', async () => {
        const running = (await labelledContainers(TEST_INSTANCE)).filter(
          (c) => c.State === 'running',
        );
        return running.length === 2;
      });
      const beforeKill = await Promise.all(all.map((j) => getJob(first.url, j.id)));
      expect(
        beforeKill
          .filter((j) => j.status === 'running')
          .map((j) => j.id)
          .sort(),
      ).toEqual([ends.id, outlives.id].sort());
      expect(beforeKill.filter((j) => j.status === 'queued')).toHaveLength(4);

      first.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      // Let `ends` finish in its container while no runbox is there.
      await waitFor('the short job to exit while runbox is down', async () => {
        const states = (await labelledContainers(TEST_INSTANCE)).map((c) => c.State);
        return states.includes('exited') && states.includes('running');
      });
      await new Promise((resolve) => setTimeout(resolve, downMs));

      const second = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 2 });
      sandbox.processes.push(second);
      const final = await waitFor(
        'every job final',
        async () => {
          const jobs = await Promise.all(all.map((j) => getJob(second.url, j.id)));
          return jobs.every((j) => ['succeeded', 'failed', 'cancelled'].includes(j.status)) && jobs;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );

      // Exactly once, as runbox recorded it: every job succeeded on its first attempt
      // (the two re-attached ones were not rerun), with its own marker and stdout.
      for (const job of final) {
        expect(job.status, `${job.id}: ${JSON.stringify(job.error)}`).toBe('succeeded');
        expect(job.attempts).toBe(1);
        const marker = markers.get(job.id)!;
        expect(job.result?.outputs.map((o) => o.path)).toEqual(['marker']);
        const file = await fetch(new URL(`/v1/jobs/${job.id}/outputs/marker`, second.url));
        expect(file.status).toBe(200);
        expect(await file.text()).toBe(`${marker}\n`);
        const stdout = await fetch(new URL(`/v1/jobs/${job.id}/logs`, second.url));
        expect(await stdout.text()).toBe(`done ${marker}\n`);
      }

      // Exactly once, as the engine saw it: one container start per job, attempt 1.
      const starts = await watch.stop();
      for (const job of all) expect(starts.get(job.id), job.id).toEqual([1]);
      expect([...starts.keys()].sort()).toEqual(all.map((j) => j.id).sort());

      // Nothing left to clean by hand: no container, and the dead worker is marked.
      expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);
      const { body } = await api<{ workers: Array<{ pid: number; state: string }> }>(
        second.url,
        'GET',
        '/v1/workers',
      );
      // Dead, not stopped: it never stopped, and an alert on dead workers must see it.
      expect(body.workers.find((w) => w.pid === first.child.pid)?.state).toBe('dead');
      expect(body.workers.find((w) => w.pid === second.child.pid)?.state).toBe('alive');

      second.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    },
  );

  it('keeps every submission it acknowledged before the kill', async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const first = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(first);
    const acknowledged: string[] = [];
    let killed = false;
    const submits = Array.from({ length: 300 }, async (_, i) => {
      try {
        const response = await fetch(new URL('/v1/jobs', first.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ runtime: 'shell', command: ['true'], idempotency_key: `k${i}` }),
        });
        if (response.status === 201) {
          const { id } = (await response.json()) as { id: string };
          // Only what the client saw before the kill counts as acknowledged.
          if (!killed) acknowledged.push(id);
        }
      } catch {
        // Cut off by the kill: never acknowledged.
      }
      if (!killed && acknowledged.length >= 100) {
        killed = true;
        first.kill('SIGKILL');
      }
    });
    await Promise.all(submits);
    expect(killed).toBe(true);
    // The kill landed while submits were still in flight.
    expect(acknowledged.length).toBeLessThan(300);
    await first.exited;

    const second = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(second);
    for (const id of acknowledged) expect((await getJob(second.url, id)).status).toBe('queued');
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('runbox run on the same database leaves a crashed server’s job to the server', async () => {
    const watch = await watchContainerStarts(TEST_INSTANCE);
    const configFile = writeTestConfig(sandbox.dataDir);
    const first = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(first);
    const long = await submit(first.url, markerJob('m-long', 6));
    await waitFor('the long job running', async () =>
      (await containersOfJob(TEST_INSTANCE, long.id)).includes('running'),
    );
    first.kill('SIGKILL');
    await first.exited;

    const script = join(sandbox.dataDir, 'quick.sh');
    writeFileSync(script, 'echo quick\n');
    const started = Date.now();
    const run = await runCliProcess([
      'run',
      script,
      '--config',
      configFile,
      '--data-dir',
      sandbox.dataDir,
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('quick\n');
    // It did not adopt the server's job and wait for it (6 s) before exiting.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await containersOfJob(TEST_INSTANCE, long.id)).toContain('running');

    const second = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(second);
    const final = await waitFor('the long job adopted and finished', async () => {
      const j = await getJob(second.url, long.id);
      return j.status !== 'running' && j;
    });
    expect(final).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect((await watch.stop()).get(long.id)).toEqual([1]);
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it("removes a labelled container of its database that belongs to no job, and leaves other databases' alone, even under its instance name", async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    // A first start creates the database, and with it the id its containers carry.
    const first = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const database = databaseIdOf(sandbox.dataDir);
    const labels = (db: string) => ({
      'io.runbox.instance': TEST_INSTANCE,
      'io.runbox.database': db,
      'io.runbox.job': '01GHOSTGHOSTGHOSTGHOSTGHOS',
      'io.runbox.attempt': '1',
    });
    const ghost = await docker.createContainer({
      Image: 'runbox-test/shell:latest',
      Cmd: ['sleep', '60'],
      Labels: labels(database),
    });
    await ghost.start();
    const other = await docker.createContainer({
      Image: 'runbox-test/shell:latest',
      Cmd: ['sleep', '60'],
      Labels: labels(`${database}-other`),
    });
    await other.start();
    try {
      const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
      sandbox.processes.push(server);
      // Recovery runs before the pool reports itself running.
      await waitFor(
        'the ghost container removed',
        async () => (await labelledContainers({ database })).length === 0,
      );
      expect((await other.inspect()).State.Running).toBe(true);
      server.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      await other.remove({ force: true });
    }
  });

  it('takes a worker killed but not yet reaped by its parent (a zombie) for dead, and adopts its container', async () => {
    const watch = await watchContainerStarts(TEST_INSTANCE);
    // Long lease and worker age-out: only the pid check can free the job in time.
    const configFile = writeTestConfig(sandbox.dataDir, {
      lease: { heartbeatMs: 300, expiryMs: 120_000 },
      workerDeadMs: 120_000,
    });
    const apiServer = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile,
      workers: 0,
    });
    sandbox.processes.push(apiServer);
    // The worker's parent becomes `sleep`, which never waits for it: killed, it stays a zombie.
    const args = [RUNBOX_BUNDLE, 'worker', '--config', configFile, '--data-dir', sandbox.dataDir];
    const parent = spawn(
      'sh',
      ['-c', '"$0" "$@" & echo $!; exec sleep 600', process.execPath, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let parentErr = '';
    parent.stderr.on('data', (c: Buffer) => (parentErr += c.toString()));
    try {
      const workerPid = await new Promise<number>((resolve) =>
        parent.stdout.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))),
      );
      await waitFor('the worker pool running', () => /worker pool running/.test(parentErr));
      const job = await submit(apiServer.url, markerJob('m-zombie', 5));
      await waitFor('the job running in its container', async () =>
        (await containersOfJob(TEST_INSTANCE, job.id)).includes('running'),
      );
      process.kill(workerPid, 'SIGKILL');
      const state = () => /\) (\S)/.exec(readFileSync(`/proc/${workerPid}/stat`, 'latin1'))?.[1];
      await waitFor('the killed worker a zombie', () => state() === 'Z');

      const second = await startServerProcess({
        dataDir: sandbox.dataDir,
        configFile,
        command: 'worker',
        workers: 1,
      });
      sandbox.processes.push(second);
      expect(second.stderr()).toMatch(/worker process is gone/);
      const final = await waitFor(
        'the job adopted and finished',
        async () => {
          const j = await getJob(apiServer.url, job.id);
          return j.status !== 'running' && j;
        },
        { timeoutMs: 30_000 },
      );
      expect(final).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect((await watch.stop()).get(job.id)).toEqual([1]);
      const { body } = await api<{ workers: Array<{ pid: number; state: string }> }>(
        apiServer.url,
        'GET',
        '/v1/workers',
      );
      // Seen: "stopped", so runbox_workers{state="dead"} never counted a killed worker.
      // Its heartbeat is fresh (workerDeadMs 120 s): only the pid check can call it dead.
      expect(body.workers.find((w) => w.pid === workerPid)?.state).toBe('dead');
      const metrics = await (await fetch(new URL('/metrics', apiServer.url))).text();
      expect(metrics).toMatch(/^runbox_workers\{state="dead"[^}]*\} 1$/m);
      expect(metrics).toMatch(/^runbox_workers\{state="stopped"[^}]*\} 0$/m);
      second.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('requeues a job whose container vanished in the crash (WorkerLost), and runs it as attempt 2', async () => {
    const watch = await watchContainerStarts(TEST_INSTANCE);
    const configFile = writeTestConfig(sandbox.dataDir, {
      lease: { heartbeatMs: 300, expiryMs: 3000 },
      retry: { baseMs: 100, capMs: 200 },
    });
    const first = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(first);
    const job = await submit(first.url, markerJob('m-lost', 30));
    const containerId = await waitFor('the container running', async () => {
      const running = (await labelledContainers(TEST_INSTANCE)).find((c) => c.State === 'running');
      return running?.Id;
    });
    first.kill('SIGKILL');
    await first.exited;
    // The container dies with the host's crash: nothing to re-attach to.
    await docker.getContainer(containerId).remove({ force: true });

    const second = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(second);
    const lost = await waitFor('the job requeued as WorkerLost', async () => {
      const j = await getJob(second.url, job.id);
      return j.error?.type === 'WorkerLost' && j;
    });
    expect(lost.attempts).toBeGreaterThanOrEqual(1);
    // It runs again as attempt 2; cancel it there (it sleeps 30 s).
    await waitFor('attempt 2 running in its container', async () => {
      const j = await getJob(second.url, job.id);
      const states = await containersOfJob(TEST_INSTANCE, job.id);
      return j.status === 'running' && j.attempts === 2 && states.includes('running');
    });
    await api(second.url, 'POST', `/v1/jobs/${job.id}/cancel`);
    const final = await waitFor('cancelled', async () => {
      const j = await getJob(second.url, job.id);
      return j.status === 'cancelled' && j;
    });
    expect(final.attempts).toBe(2);
    const starts = await watch.stop();
    expect(starts.get(job.id)).toEqual([1, 2]);
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  // Startup recovery finds the job still leased to the dead worker; the reaper finds its
  // lease already run out when the new build starts after expiryMs.
  for (const [when, expiryMs] of [
    ['within the lease', 60_000],
    ['after the lease ran out', 3000],
  ] as const)
    it(`removes the container a runbox from before migration 002 left for a job it ran (no database label) and runs the job once more, leaving an unknown one alone (restarted ${when})`, async () => {
      const configFile = writeTestConfig(sandbox.dataDir, {
        lease: { heartbeatMs: 300, expiryMs },
        retry: { baseMs: 100, capMs: 200 },
      });
      const first = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
      sandbox.processes.push(first);
      const job = await submit(first.url, markerJob('m-legacy', 30));
      const containerId = await waitFor('the container running', async () => {
        const running = (await labelledContainers(TEST_INSTANCE)).find(
          (c) => c.State === 'running',
        );
        return running?.Id;
      });
      first.kill('SIGKILL');
      await first.exited;
      // What that build left instead: the job's labels, and no io.runbox.database.
      await docker.getContainer(containerId).remove({ force: true });
      const legacy = (jobId: string) =>
        docker.createContainer({
          Image: 'runbox-test/shell:latest',
          Cmd: ['sleep', '60'],
          Labels: {
            'io.runbox.instance': TEST_INSTANCE,
            'io.runbox.job': jobId,
            'io.runbox.attempt': '1',
          },
        });
      const old = await legacy(job.id);
      await old.start();
      const unknown = await legacy('01UNKNOWNUNKNOWNUNKNOWNUNK');
      await unknown.start();
      try {
        const second = await startServerProcess({
          dataDir: sandbox.dataDir,
          configFile,
          workers: 1,
        });
        sandbox.processes.push(second);
        await waitFor('attempt 2 running', async () => {
          const j = await getJob(second.url, job.id);
          return j.status === 'running' && j.attempts === 2;
        });
        const gone = await old.inspect().then(
          () => false,
          (error: { statusCode?: number }) => error.statusCode === 404,
        );
        expect(gone, second.stderr()).toBe(true);
        expect((await unknown.inspect()).State.Running).toBe(true);
        await api(second.url, 'POST', `/v1/jobs/${job.id}/cancel`);
        await waitFor(
          'cancelled',
          async () => (await getJob(second.url, job.id)).status === 'cancelled',
        );
        second.kill('SIGTERM');
        expect(await second.exited).toBe(0);
      } finally {
        await old.remove({ force: true }).catch(() => undefined);
        await unknown.remove({ force: true });
      }
    });
});
