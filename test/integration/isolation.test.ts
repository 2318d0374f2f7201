import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { docker, http, listAllJobs, shellJob, sleep, waitAllFinal } from '../helpers/chaosKit.js';
import {
  databaseIdOf,
  expectNoLeftoverContainers,
  labelledContainers,
} from '../helpers/leftovers.js';
import {
  RUNBOX_BUNDLE,
  runCliProcess,
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * One machine, many runboxes (issue 11, items 2 and 3), driven from outside: real
 * `runbox serve` and `runbox run` processes on one Docker engine. Installations with
 * their own data dirs never touch each other's containers; a `runbox run` job is run
 * by that run process only, even with a server on the same database.
 */

const dirs: string[] = [];
const processes: RunboxProcess[] = [];

afterEach(async () => {
  for (const p of processes.splice(0)) {
    p.kill('SIGKILL');
    await p.exited;
  }
  // Each installation's own containers only: a user's server may share this engine.
  // Every check runs and every folder goes even when one check fails.
  const problems: unknown[] = [];
  for (const dir of dirs.splice(0)) {
    if (existsSync(join(dir, 'runbox.db'))) {
      await Promise.resolve()
        .then(() => expectNoLeftoverContainers({ database: databaseIdOf(dir) }))
        .catch((error: unknown) => problems.push(error));
    }
    rmSync(dir, { recursive: true, force: true });
  }
  await expectNoLeftoverContainers(TEST_INSTANCE).catch((error: unknown) => problems.push(error));
  if (problems.length > 0) throw problems[0];
});

function newDataDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `runbox-iso-${name}-`));
  dirs.push(dir);
  return dir;
}

/**
 * A runbox installation as a user has it: its own data dir and no instance name, so
 * its containers carry its database's own identity.
 */
async function install(name: string, overrides: Parameters<typeof writeTestConfig>[1] = {}) {
  const dataDir = newDataDir(name);
  const configFile = writeTestConfig(dataDir, { instance: undefined, ...overrides });
  const server = await startServerProcess({ dataDir, configFile, workers: 2 });
  processes.push(server);
  return { dataDir, configFile, server, url: server.url };
}

/** A job that runs for a while, then leaves its tag in an output file and on stdout. */
function taggedJob(tag: string, seconds: number) {
  return shellJob(`sleep ${seconds}\necho "$TAG" > "$RUNBOX_OUTPUTS/marker"\necho "ran $TAG"`, {
    env: { TAG: tag },
    max_attempts: 3,
  });
}

async function submit(url: string, body: unknown): Promise<string> {
  const answer = await http(url, '/v1/jobs', { body });
  expect(answer.status, answer.text).toBe(201);
  return answer.json.id as string;
}

async function untilRunning(url: string, ids: readonly string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const jobs = await listAllJobs(url);
    const running = jobs.filter((j) => ids.includes(j.id) && j.status === 'running');
    if (running.length === ids.length) return;
    if (Date.now() > deadline) throw new Error(`jobs not running in time: ${ids.join(' ')}`);
    await sleep(100);
  }
}

/** The container of a running job, once it exists (a job is running before it is created). */
async function containerOf(jobId: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [found] = await docker.listContainers({
      all: true,
      filters: { label: [`io.runbox.job=${jobId}`] },
    });
    if (found || Date.now() > deadline) return found;
    await sleep(100);
  }
}

/** Every job succeeded at its first attempt and left its own tag: run once, recorded once. */
async function expectRanOnce(url: string, tags: Map<string, string>): Promise<void> {
  const final = await waitAllFinal(url, [...tags.keys()], 90_000);
  for (const [id, tag] of tags) {
    const job = final.get(id)!;
    expect(job.status, `${tag}: ${JSON.stringify(job.error)}`).toBe('succeeded');
    expect(job.attempts, tag).toBe(1);
    expect((await http(url, `/v1/jobs/${id}/outputs/marker`)).text).toBe(`${tag}\n`);
    expect((await http(url, `/v1/jobs/${id}/logs?stream=stdout`)).text).toBe(`ran ${tag}\n`);
  }
}

async function stopAll(): Promise<void> {
  for (const p of processes.splice(0)) {
    p.kill('SIGTERM');
    expect(await p.exited, p.stderr()).toBe(0);
  }
}

describe('installations on one engine', () => {
  it('three servers with their own data dirs, each started while the others run jobs, run every job once at attempt 1', async () => {
    const installs = [];
    const tagsByInstall: Array<Map<string, string>> = [];
    const labelsSeen = new Map<string, Array<string | undefined>>();
    for (const name of ['a', 'b', 'c']) {
      // Started while the earlier installations' containers run: its startup recovery
      // sees them on the engine and must leave them alone.
      const inst = await install(name);
      const tags = new Map<string, string>();
      for (const n of [1, 2]) {
        const tag = `${name}-${n}`;
        tags.set(await submit(inst.url, taggedJob(tag, 5)), tag);
      }
      await untilRunning(inst.url, [...tags.keys()]);
      // Its containers carry its own database's id (the label recovery goes by), and
      // with no instance name configured, the same id as their instance name.
      const first = await containerOf([...tags.keys()][0]!);
      labelsSeen.set(inst.dataDir, [
        first?.Labels['io.runbox.database'],
        first?.Labels['io.runbox.instance'],
      ]);
      installs.push(inst);
      tagsByInstall.push(tags);
    }
    for (const [i, inst] of installs.entries()) await expectRanOnce(inst.url, tagsByInstall[i]!);
    const ids = installs.map((i) => databaseIdOf(i.dataDir));
    expect(new Set(ids).size).toBe(3);
    for (const [i, inst] of installs.entries()) {
      expect(labelsSeen.get(inst.dataDir)).toEqual([ids[i], ids[i]]);
    }
    await stopAll();
  });

  it("a test suite beside a user's server: the suite's servers, runs and leftover checks leave the user's job alone", async () => {
    const user = await install('user');
    const userJob = await submit(user.url, taggedJob('user', 8));
    await untilRunning(user.url, [userJob]);

    // The suite: a server under the test instance name, a `runbox run` left on the
    // default identity, and the suite's own leftover check, all while the user's job runs.
    const suiteDir = newDataDir('suite');
    const suiteConfig = writeTestConfig(suiteDir);
    const suiteServer = await startServerProcess({
      dataDir: suiteDir,
      configFile: suiteConfig,
      workers: 1,
    });
    processes.push(suiteServer);
    const suiteJob = await submit(suiteServer.url, taggedJob('suite', 1));
    const runDir = newDataDir('suite-run');
    const script = join(runDir, 'hello.sh');
    writeFileSync(script, 'echo hello from the suite\n');
    const run = await runCliProcess([
      'run',
      script,
      '--config',
      writeTestConfig(runDir, { instance: undefined }),
      '--data-dir',
      runDir,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('hello from the suite\n');
    await expectRanOnce(suiteServer.url, new Map([[suiteJob, 'suite']]));
    expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);
    await expectNoLeftoverContainers(TEST_INSTANCE);

    await expectRanOnce(user.url, new Map([[userJob, 'user']]));
    await stopAll();
  });
});

describe('runbox run beside runbox serve on the same data dir', () => {
  it('every run executes its own job and shows its output and exit code, while the server has free slots', async () => {
    const dataDir = newDataDir('shared');
    const configFile = writeTestConfig(dataDir);
    const server = await startServerProcess({ dataDir, configFile, workers: 2 });
    processes.push(server);
    // One of the server's own jobs runs meanwhile: every run's startup recovery sees its
    // container (same database, same identity) and must leave it to the server. One of
    // the server's two slots stays free for the runs' jobs to tempt.
    const serverJob = await submit(server.url, taggedJob('server', 12));
    await untilRunning(server.url, [serverJob]);
    for (let i = 1; i <= 6; i++) {
      const script = join(dataDir, `run ${i} é.sh`);
      writeFileSync(script, `echo "run ${i} out"\necho "run ${i} err" >&2\nexit ${10 + i}\n`);
      const run = await runCliProcess([
        'run',
        script,
        '--config',
        configFile,
        '--data-dir',
        dataDir,
      ]);
      expect(run.code, `run ${i}: ${run.stderr}`).toBe(10 + i);
      expect(run.stdout, `run ${i}`).toBe(`run ${i} out\n`);
      expect(run.stderr, `run ${i}`).toContain(`run ${i} err\n`);
    }
    await expectRanOnce(server.url, new Map([[serverJob, 'server']]));
    // Seven jobs, each run once: the six runs' and the server's own.
    const jobs = await listAllJobs(server.url);
    expect(jobs).toHaveLength(7);
    for (const job of jobs) expect(job.attempts).toBe(1);
    await stopAll();
  });

  it('a run killed -9 leaves its job to nobody: it fails WorkerLost instead of running in the server', async () => {
    const dataDir = newDataDir('orphan');
    const configFile = writeTestConfig(dataDir, {
      lease: { heartbeatMs: 300, expiryMs: 2000 },
      workerDeadMs: 2000,
    });
    const server = await startServerProcess({ dataDir, configFile, workers: 2 });
    processes.push(server);
    const script = join(dataDir, 'long.sh');
    writeFileSync(script, 'echo started\nsleep 30\n');
    const run = spawn(
      process.execPath,
      [RUNBOX_BUNDLE, 'run', script, '--config', configFile, '--data-dir', dataDir],
      { stdio: 'ignore' },
    );
    const runEnded = new Promise((resolve) => run.on('exit', resolve));
    let jobId = '';
    const deadline = Date.now() + 30_000;
    while (!jobId) {
      const running = (await listAllJobs(server.url)).find((j) => j.status === 'running');
      if (running) jobId = running.id;
      else if (Date.now() > deadline) throw new Error('the run never started its job');
      else await sleep(100);
    }
    // Killed once its container exists (a job is running from its claim, before that).
    expect(await containerOf(jobId)).toBeDefined();
    run.kill('SIGKILL');
    await runEnded;

    const [job] = (await waitAllFinal(server.url, [jobId], 30_000)).values();
    expect(job!.status).toBe('failed');
    expect(job!.error!.type).toBe('WorkerLost');
    expect(job!.error!.message).toMatch(/runbox run process/);
    expect(job!.attempts).toBe(1);

    // Its container outlived it; the server's reaper that failed the job removes it,
    // without a restart.
    const cleanBy = Date.now() + 20_000;
    while ((await labelledContainers(TEST_INSTANCE)).length > 0 && Date.now() < cleanBy) {
      await sleep(200);
    }
    expect(server.stderr()).toMatch(/removing the container of a lost attempt/);
    expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);
    await stopAll();
  });
});

describe('runbox run without a Docker engine', () => {
  it('exits 69 within 3 s naming the socket; serve stays up with /healthz 503, healthcheck exits 1', async () => {
    const dataDir = newDataDir('noengine');
    const configFile = writeTestConfig(dataDir);
    const nothing = join(dataDir, 'nothing-listens.sock');
    const script = join(dataDir, 'hello.sh');
    writeFileSync(script, 'echo hello\n');
    const started = Date.now();
    const run = await runCliProcess(
      ['run', script, '--config', configFile, '--data-dir', dataDir],
      {
        env: { RUNBOX_DOCKER_SOCKET: nothing },
        timeoutMs: 60_000,
      },
    );
    const seconds = (Date.now() - started) / 1000;
    expect(run.code, run.stderr).toBe(69);
    expect(run.stderr).toMatch(/Docker engine .* is unreachable/);
    expect(run.stderr).toContain(nothing);
    expect(run.stdout).toBe('');
    // README: "With no Docker engine answering it exits 69 within 3 s, naming the socket."
    expect(seconds).toBeLessThan(3);

    const server = await startServerProcess({
      dataDir,
      configFile,
      workers: 1,
      env: { RUNBOX_DOCKER_SOCKET: nothing },
    });
    processes.push(server);
    await sleep(500);
    const health = await http(server.url, '/healthz');
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({ status: 'degraded', engine: 'unavailable' });
    // README: `runbox healthcheck`: 0 healthy, 1 not, 69 no answer. A server that answers
    // 503 is the "not" case.
    const check = await runCliProcess(['healthcheck', '--server', server.url]);
    expect(check.code, check.stderr).toBe(1);
    await stopAll();
  });
});
