import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  entriesUnder,
  filesUnder,
  http,
  integrityCheck,
  listAllJobs,
  report,
  seededRandom,
  shellJob,
  sleep,
  tempDataDir,
  waitAllFinal,
  watchContainers,
  type JobView,
} from '../helpers/chaosKit.js';
import { expectNoLeftoverContainers, labelledContainers } from '../helpers/leftovers.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * Issue 7, "kill -9 loop": ten rounds of start, submit a mix of jobs, SIGKILL at a
 * random moment, restart; then one clean run to completion. A client that lost its
 * answer in a crash resubmits with the same idempotency key, as a real client would.
 */
const ROUNDS = 10;
const SEED = Number(process.env.CHAOS_SEED ?? 7);

type Kind = 'quick' | 'sleep' | 'outputs' | 'failing';
const KINDS: Kind[] = ['quick', 'quick', 'sleep', 'outputs', 'failing'];

/** Every job writes /outputs/marker holding its own key: the side effect we count. */
function jobFor(kind: Kind, key: string) {
  const marker = 'echo "$TAG" > "$RUNBOX_OUTPUTS/marker"';
  const script = {
    quick: marker,
    sleep: `sleep 2\n${marker}`,
    outputs: `${marker}\nfor i in 1 2 3; do head -c 65536 /dev/urandom > "$RUNBOX_OUTPUTS/data$i"; done`,
    failing: `${marker}\necho failing on purpose >&2\nexit 3`,
  }[kind];
  return shellJob(script, { env: { TAG: key }, idempotency_key: key, max_attempts: 10 });
}

describe('kill -9 loop', () => {
  const data = tempDataDir('kill9');
  const configFile = writeTestConfig(data.dir, {
    lease: { heartbeatMs: 500, expiryMs: 3000 },
    retry: { baseMs: 200, capMs: 1000 },
    workerDeadMs: 3000,
    limits: { minFreeBytes: 1 },
  });
  let server: RunboxProcess | null = null;

  afterAll(async () => {
    server?.kill('SIGKILL');
    await expectNoLeftoverContainers(TEST_INSTANCE).catch(() => {});
    data.cleanup();
  });

  it('keeps every submitted job, records each exactly once, and leaves a sound database', async () => {
    const started = Date.now();
    const random = seededRandom(SEED);
    const containers = await watchContainers();
    const kindOf = new Map<string, Kind>();
    const idOf = new Map<string, string>();
    let uncertain: string[] = [];
    let requestsTried = 0;
    let serverErrors = 0;

    const submit = async (url: string, key: string): Promise<boolean> => {
      requestsTried += 1;
      try {
        const answer = await http(url, '/v1/jobs', { body: jobFor(kindOf.get(key)!, key) });
        if (answer.status >= 500) serverErrors += 1;
        if (answer.status !== 201 && answer.status !== 200) return false;
        idOf.set(key, answer.json.id as string);
        return true;
      } catch {
        return false; // the answer was lost in the crash: the client does not know
      }
    };

    const killedAfterMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      server = await startServerProcess({ dataDir: data.dir, configFile, workers: 2 });
      const url = server.url;
      // What a client could not confirm last round, it sends again with the same key.
      const retry = uncertain;
      uncertain = [];
      for (const key of retry) if (!(await submit(url, key))) uncertain.push(key);

      const killAt = 300 + Math.floor(random() * 3200);
      killedAfterMs.push(killAt);
      let alive = true;
      const submitter = (async () => {
        for (let i = 0; alive; i++) {
          const key = `r${round}-j${i}`;
          kindOf.set(key, KINDS[Math.floor(random() * KINDS.length)]!);
          if (!(await submit(url, key))) uncertain.push(key);
          await sleep(150 + Math.floor(random() * 200));
        }
      })();
      await sleep(killAt);
      server.kill('SIGKILL');
      await server.exited;
      alive = false;
      await submitter;
      server = null;
    }

    // A last, clean run: everything left over is finished.
    server = await startServerProcess({ dataDir: data.dir, configFile, workers: 2 });
    for (const key of uncertain) expect(await submit(server.url, key)).toBe(true);
    const keys = [...kindOf.keys()];
    const ids = keys.map((k) => idOf.get(k)!);
    const final = await waitAllFinal(server.url, ids, 240_000);

    // Exactly one job per key, and exactly one final result each.
    const everyJob = await listAllJobs(server.url);
    const perKey = new Map<string, JobView[]>();
    for (const job of everyJob) {
      const list = perKey.get(job.idempotency_key ?? '') ?? [];
      list.push(job);
      perKey.set(job.idempotency_key ?? '', list);
    }
    expect(everyJob.length).toBe(keys.length);
    let markersChecked = 0;
    const jobsLost = keys.filter((k) => (perKey.get(k)?.length ?? 0) !== 1).length;
    for (const key of keys) {
      const job = final.get(idOf.get(key)!)!;
      expect(job.finished_at, key).not.toBeNull();
      expect(job.result, key).not.toBeNull();
      const markers = job.result!.outputs.filter((o) => o.path === 'marker');
      expect(markers.length, `${key} markers`).toBe(1);
      const body = await http(server.url, `/v1/jobs/${job.id}/outputs/marker`);
      expect(body.status).toBe(200);
      expect(body.text).toBe(`${key}\n`);
      markersChecked += 1;
      if (kindOf.get(key) === 'failing') {
        expect(job.status, key).toBe('failed');
        expect(job.error?.type, key).toBe('NonZeroExit');
        expect(job.result!.exit_code).toBe(3);
      } else {
        expect(job.status, `${key}: ${JSON.stringify(job.error)}`).toBe('succeeded');
      }
      if (kindOf.get(key) === 'outputs') expect(job.result!.outputs.length).toBe(4);
    }

    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = null;
    const events = await containers.stop();

    // Each attempt ran in at most one container, and no attempt number exceeds the
    // recorded attempts: nothing ran that the database does not account for.
    const creates = events.filter((e) => e.action === 'create');
    const perAttempt = new Map<string, number>();
    for (const e of creates) {
      const k = `${e.job}#${e.attempt}`;
      perAttempt.set(k, (perAttempt.get(k) ?? 0) + 1);
    }
    const doubled = [...perAttempt].filter(([, n]) => n > 1);
    expect(doubled).toEqual([]);
    const attemptsOf = new Map([...final.values()].map((j) => [j.id, j.attempts]));
    for (const e of creates) expect(e.attempt).toBeLessThanOrEqual(attemptsOf.get(e.job) ?? 0);
    const exitedZero = events.filter((e) => e.action === 'die' && e.exitCode === 0).length;

    expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);
    expect(integrityCheck(join(data.dir, 'runbox.db'))).toBe('ok');
    expect(filesUnder(join(data.dir, 'scratch'))).toEqual([]);
    expect(existsSync(join(data.dir, 'blobs', 'tmp'))).toBe(true);
    expect(entriesUnder(join(data.dir, 'blobs', 'tmp'))).toEqual([]);
    expect(serverErrors).toBe(0);

    const statuses = [...final.values()].reduce<Record<string, number>>((acc, j) => {
      acc[j.status] = (acc[j.status] ?? 0) + 1;
      return acc;
    }, {});
    report('kill9-loop', {
      seed: SEED,
      roundsSurvived: ROUNDS,
      killedAfterMs,
      requestsTried,
      jobs: keys.length,
      resubmittedAfterLostAnswer: requestsTried - keys.length,
      statuses,
      jobsLost,
      markersChecked,
      containersCreated: creates.length,
      extraAttempts: [...final.values()].reduce((n, j) => n + j.attempts - 1, 0),
      exitedZero,
      integrity: 'ok',
      seconds: Math.round((Date.now() - started) / 1000),
    });
    expect(jobsLost).toBe(0);
  });
});
