import { afterAll, describe, expect, it } from 'vitest';
import {
  http,
  listAllJobs,
  report,
  shellJob,
  sleep,
  tempDataDir,
  waitAllFinal,
} from '../helpers/chaosKit.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import {
  runCliProcess,
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * Issue 7, "Auth": a non-loopback bind without a token refuses to start; a wrong or
 * missing token gets 401; neither the token nor job env values marked secret ever
 * appear in the server's logs or in an API answer, through a crash and a recovery too.
 */
const TOKEN = 'tok-7c1f0e2d9b8a-chaos-SECRET';
const SECRET = 's3cr3t-v4lue-4e91d2-chaos';
const WRONG = 'tok-wrong-5a5a5a-chaos';

describe('auth and secrets', () => {
  const data = tempDataDir('auth');
  const configFile = writeTestConfig(data.dir, {
    limits: { minFreeBytes: 1 },
    lease: { heartbeatMs: 500, expiryMs: 3000 },
    workerDeadMs: 3000,
  });
  const env = { RUNBOX_TOKEN: '' };
  const procs: RunboxProcess[] = [];

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await expectNoLeftoverContainers(TEST_INSTANCE).catch(() => {});
    data.cleanup();
  });

  it('refuses a non-loopback bind without a token', async () => {
    const refused = await runCliProcess(
      ['serve', '--config', configFile, '--data-dir', data.dir, '--host', '0.0.0.0', '--port', '0'],
      { env, timeoutMs: 20_000 },
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/token/i);
    expect(refused.stderr).not.toMatch(/listening on/);
    report('auth-refuses-open-bind', {
      exitCode: refused.code,
      stderr: refused.stderr.trim().slice(0, 200),
    });
  });

  it('answers 401 without the right token and never shows the token or secret values', async () => {
    const answers: string[] = [];
    const start = () =>
      startServerProcess({
        dataDir: data.dir,
        configFile,
        workers: 1,
        env: { RUNBOX_TOKEN: TOKEN },
        extraArgs: ['--host', '0.0.0.0'],
      });
    let server = await start();
    procs.push(server);
    const url = server.url;
    const tried: Record<string, number> = {};
    const probe = async (name: string, headers: Record<string, string>, path = '/v1/jobs') => {
      const r = await http(url, path, { headers });
      answers.push(r.text);
      tried[name] = r.status;
      return r.status;
    };
    expect(await probe('missing', {})).toBe(401);
    expect(await probe('wrong', { authorization: `Bearer ${WRONG}` })).toBe(401);
    expect(await probe('prefix', { authorization: `Bearer ${TOKEN.slice(0, -1)}` })).toBe(401);
    expect(await probe('longer', { authorization: `Bearer ${TOKEN}x` })).toBe(401);
    expect(
      await probe('basic', {
        authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`,
      }),
    ).toBe(401);
    expect(await probe('lowercase scheme', { authorization: `bearer ${WRONG}` })).toBe(401);
    expect(await probe('in query', {}, `/v1/jobs?token=${TOKEN}`)).toBe(401);
    expect(await probe('metrics', {}, '/metrics')).toBe(401);
    expect(await probe('workers', {}, '/v1/workers')).toBe(401);
    expect(await probe('healthz (open)', {}, '/healthz')).toBe(200);
    expect(await probe('right', { authorization: `Bearer ${TOKEN}` })).toBe(200);
    const unauthorizedSubmit = await http(url, '/v1/jobs', {
      body: shellJob('true', { env: { API_KEY: SECRET }, secret_env: ['API_KEY'] }),
    });
    expect(unauthorizedSubmit.status).toBe(401);
    answers.push(unauthorizedSubmit.text);

    // Jobs carrying a secret: one that runs, one whose image is missing, one in flight
    // when the server is killed -9 and recovered by the next start.
    const submit = async (body: Record<string, unknown>) => {
      const r = await http(url, '/v1/jobs', { body, token: TOKEN });
      answers.push(r.text);
      expect(r.status).toBe(201);
      return r.json.id as string;
    };
    const secretEnv = { env: { API_KEY: SECRET, PLAIN: 'visible' }, secret_env: ['API_KEY'] };
    const ids = [
      await submit(shellJob('test -n "$API_KEY" && echo has-key', secretEnv)),
      await submit({
        image: 'runbox-test/no-such-image:latest',
        command: ['true'],
        ...secretEnv,
        max_attempts: 1,
      }),
      await submit(shellJob('sleep 3; test -n "$API_KEY"', secretEnv)),
    ];
    for (let i = 0; i < 100; i++) {
      const j = await http(url, `/v1/jobs/${ids[2]}`, { token: TOKEN });
      if (j.json.status === 'running') break;
      await sleep(100);
    }
    await sleep(500);
    server.kill('SIGKILL');
    await server.exited;
    const firstStderr = server.stderr();
    server = await start();
    procs.push(server);
    const final = await waitAllFinal(server.url, ids, 120_000, TOKEN);
    for (const id of ids) {
      for (const path of [
        `/v1/jobs/${id}`,
        `/v1/jobs/${id}/logs`,
        `/v1/jobs/${id}/logs?stream=stderr`,
        `/v1/jobs/${id}/outputs`,
      ]) {
        answers.push((await http(server.url, path, { token: TOKEN })).text);
      }
    }
    answers.push(JSON.stringify(await listAllJobs(server.url, TOKEN)));
    answers.push((await http(server.url, '/metrics', { token: TOKEN })).text);
    const listedSpec = (await http(server.url, `/v1/jobs/${ids[0]}`, { token: TOKEN })).json.spec;
    const cli = await runCliProcess(['status', ids[0]!, '--server', server.url, '--json'], {
      env: { RUNBOX_TOKEN: TOKEN },
    });
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    procs.length = 0;
    const logs = firstStderr + server.stderr() + cli.stderr;

    const statuses = ids.map(
      (id) =>
        `${final.get(id)!.status}${final.get(id)!.error ? `:${final.get(id)!.error!.type}` : ''}`,
    );
    report('auth-and-secrets', {
      probes: tried,
      jobs: statuses,
      answersChecked: answers.length + 1,
      logBytesChecked: logs.length,
      tokenInLogs: logs.includes(TOKEN),
      secretInLogs: logs.includes(SECRET),
      secretInAnswers: answers.some((a) => a.includes(SECRET)) || cli.stdout.includes(SECRET),
    });
    expect(final.get(ids[0]!)!.status).toBe('succeeded');
    expect(final.get(ids[1]!)!.error?.type).toBe('ImageUnavailable');
    expect(final.get(ids[2]!)!.status).toBe('succeeded');
    expect(listedSpec.env).toEqual({ API_KEY: '[secret]', PLAIN: 'visible' });
    expect(cli.code).toBe(0);
    for (const text of [...answers, cli.stdout, logs]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(WRONG);
    }
  });
});
