import { describe, expect, it } from 'vitest';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * The kernel's and the engine's bounds on what a job hands its process, at and one past
 * each, against a real `runbox serve` and dockerd: past them a job was stored and then
 * failed at run time (exit 1 "argument list too long", or Internal three times over from
 * a 431 or ENAMETOOLONG); now it is refused at submit naming the field and the limit,
 * and a job exactly at them runs.
 */
const TOKEN = 'process-limits-token';
const MAX_STRING = 128 * 1024;
const MAX_TOTAL = 1024 * 1024;

describe('process limits against runbox serve', () => {
  const sandbox = useProcessSandbox('proclimits');

  it('runs a job at MAX_ARG_STRLEN and 1 MiB of command, args and env; refuses one byte past, and names past 255 bytes', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { token: TOKEN });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const submit = async (body: unknown) => {
      const answer = await fetch(`${server.url}/v1/jobs`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
      return {
        status: answer.status,
        body: (await answer.json()) as {
          id: string;
          error?: { type: string; field: string; message: string };
        },
      };
    };
    // "sh", "job.sh" (the shell runtime's command), then the args and env.
    const script = { path: 'job.sh', content: 'printf "%s %s %s" "${#A}" "${#C}" "${#1}"' };
    const commandBytes = 'sh\0job.sh\0'.length;
    // Each NAME=value with its NUL exactly at the kernel's bound.
    const full = (name: string) => 'x'.repeat(MAX_STRING - name.length - 2);
    const env: Record<string, string> = {};
    for (const name of ['A', 'B1', 'B2', 'B3', 'B4', 'B5', 'B6']) env[name] = full(name);
    const arg = 'y'.repeat(1000);
    const used = commandBytes + 7 * MAX_STRING + arg.length + 1;
    env.C = 'z'.repeat(MAX_TOTAL - used - 'C=\0'.length);

    const atLimit = await submit({ runtime: 'shell', script, args: [arg], env });
    expect(atLimit.status).toBe(201);

    const overString = await submit({
      runtime: 'shell',
      script,
      env: { A: `${env.A!}x` },
    });
    expect(overString.body.error).toMatchObject({
      type: 'InvalidSpec',
      field: 'env.A',
      message: expect.stringContaining('at most 131072 per argument or NAME=value'),
    });
    const overArg = await submit({ runtime: 'shell', script, args: ['a'.repeat(MAX_STRING)] });
    expect(overArg.body.error).toMatchObject({ field: 'args.0' });
    const overTotal = await submit({
      runtime: 'shell',
      script,
      args: [arg],
      env: { ...env, C: `${env.C!}z` },
    });
    expect(overTotal.body.error).toMatchObject({
      type: 'InvalidSpec',
      field: 'env',
      message: expect.stringContaining(`at most ${MAX_TOTAL} reach a process`),
    });
    const longName = await submit({
      runtime: 'shell',
      script: { path: `dir/${'é'.repeat(128)}.sh`, content: 'true' },
    });
    expect(longName.body.error).toMatchObject({
      type: 'InvalidSpec',
      field: 'script.path',
      message: expect.stringContaining('at most 255 bytes'),
    });
    const longFile = await submit({
      runtime: 'shell',
      script,
      files: [{ path: 'n'.repeat(256), content: '' }],
    });
    expect(longFile.body.error).toMatchObject({ field: 'files.0.path' });

    let job = { status: '', attempts: 0 };
    for (let i = 0; i < 120 && !['succeeded', 'failed'].includes(job.status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const answer = await fetch(`${server.url}/v1/jobs/${atLimit.body.id}`, { headers });
      job = (await answer.json()) as typeof job;
    }
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1 });
    const log = await fetch(`${server.url}/v1/jobs/${atLimit.body.id}/logs`, { headers });
    expect(await log.text()).toBe(`${env.A!.length} ${env.C.length} ${arg.length}`);
  });

  it('runs a job whose values the create URL would triple, which failed Internal with a 431', async () => {
    // dockerode wrote the create options into the URL too, percent-encoded: past about
    // 1 MiB of request line the engine answered 431, though the process takes them. (So
    // did 100,000 one-letter variables; runc then takes minutes to start such a job.)
    const configFile = writeTestConfig(sandbox.dataDir, { token: TOKEN });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const script = { path: 'job.sh', content: 'printf "%s %s" "${#S1}" "${S4%%/*}"' };
    // 512 KiB that the process takes as it is, and the URL as 1.5 MiB of "%2F".
    const env: Record<string, string> = {};
    for (let i = 1; i <= 4; i++) env[`S${i}`] = '/'.repeat(MAX_STRING - 4);
    env.S4 = `end${env.S4!.slice(3)}`;
    const accepted = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ runtime: 'shell', script, env, max_attempts: 1 }),
    });
    expect(accepted.status).toBe(201);
    const { id } = (await accepted.json()) as { id: string };
    let job = { status: '', error: null as unknown };
    for (let i = 0; i < 240 && !['succeeded', 'failed'].includes(job.status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const answer = await fetch(`${server.url}/v1/jobs/${id}`, { headers });
      job = (await answer.json()) as typeof job;
    }
    expect(job).toMatchObject({ status: 'succeeded', error: null });
    const log = await fetch(`${server.url}/v1/jobs/${id}/logs`, { headers });
    expect(await log.text()).toBe(`${MAX_STRING - 4} end`);
  });
});
