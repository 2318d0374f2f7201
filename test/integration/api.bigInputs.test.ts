import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { waitFor } from '../helpers/queueProbe.js';
import { runCliProcess, startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * Jobs with large input files against a real `runbox serve`. A page of 36 jobs each
 * carrying 11 MiB of binary input was one string too long for V8: GET /v1/jobs answered
 * 400 InvalidSpec "Invalid string length", `runbox ls` failed, and the dashboard
 * fetched such a page every 3 s. A page now lists each input without its content.
 */
describe('jobs with large inputs, listed and read', () => {
  const sandbox = useProcessSandbox('biginputs');

  it('a page lists inputs by path and decoded size; the job itself has them byte for byte', async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const inputs = [randomBytes(11 * 1024 * 1024), randomBytes(9 * 1024 * 1024 + 1)];
    const ids: string[] = [];
    for (const input of inputs) {
      const answer = await fetch(`${server.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          runtime: 'shell',
          command: ['true'],
          // Kept queued: the page is read while the inputs are all stored.
          run_at: '2099-01-01T00:00:00Z',
          files: [
            { path: 'in/data ☃.bin', content: input.toString('base64'), encoding: 'base64' },
            { path: 'note.txt', content: 'naïve\n', mode: 0o600 },
          ],
        }),
      });
      expect(answer.status).toBe(201);
      ids.push(((await answer.json()) as { id: string }).id);
    }

    const page = await fetch(`${server.url}/v1/jobs?limit=50`);
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text.length).toBeLessThan(16 * 1024);
    const listed = (JSON.parse(text) as { jobs: Array<{ id: string; spec: { files: unknown } }> })
      .jobs;
    expect(listed.map((j) => j.id)).toEqual([...ids].reverse());
    expect(listed.map((j) => j.spec.files)).toEqual(
      [...inputs].reverse().map((input) => [
        { path: 'in/data ☃.bin', encoding: 'base64', bytes: input.length },
        { path: 'note.txt', mode: 0o600, bytes: 7 },
      ]),
    );

    const one = (await (await fetch(`${server.url}/v1/jobs/${ids[0]!}`)).json()) as {
      spec: { files: Array<{ content: string }> };
    };
    const back = Buffer.from(one.spec.files[0]!.content, 'base64');
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(back)).toBe(sha(inputs[0]!));

    // What the dashboard's job page polls: the same job, its inputs by size only.
    const brief = await fetch(`${server.url}/v1/jobs/${ids[0]!}/brief`);
    expect(brief.status).toBe(200);
    const briefText = await brief.text();
    expect(briefText.length).toBeLessThan(4 * 1024);
    const briefJob = JSON.parse(briefText) as { id: string; spec: { files: unknown } };
    expect(briefJob.id).toBe(ids[0]);
    expect(briefJob.spec.files).toEqual(listed[listed.length - 1]!.spec.files);
    const unknown = await fetch(`${server.url}/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/brief`);
    expect(unknown.status).toBe(404);

    const ls = await runCliProcess(['ls', '--server', server.url, '--json']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.length).toBeLessThan(16 * 1024);
  });

  it('a page of schedules lists their job inputs the same way; one schedule has them whole', async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const input = randomBytes(6 * 1024 * 1024);
    const names = ['big-a', 'big-b', 'big-c'];
    for (const name of names) {
      const added = await fetch(`${server.url}/v1/schedules`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name,
          cron: '0 0 1 1 *',
          job: {
            runtime: 'shell',
            command: ['true'],
            files: [
              { path: 'in/data ☃.bin', content: input.toString('base64'), encoding: 'base64' },
              { path: 'note.txt', content: 'naïve\n', mode: 0o600 },
            ],
          },
        }),
      });
      expect(added.status).toBe(201);
    }

    const page = await fetch(`${server.url}/v1/schedules`);
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text.length).toBeLessThan(16 * 1024);
    const listed = (JSON.parse(text) as { schedules: Array<{ name: string; job: unknown }> })
      .schedules;
    expect(listed.map((s) => s.name)).toEqual(names);
    for (const s of listed) {
      expect((s.job as { files: unknown }).files).toEqual([
        { path: 'in/data ☃.bin', encoding: 'base64', bytes: input.length },
        { path: 'note.txt', mode: 0o600, bytes: 7 },
      ]);
    }

    const one = (await (await fetch(`${server.url}/v1/schedules/big-b`)).json()) as {
      job: { files: Array<{ content: string }> };
    };
    expect(Buffer.from(one.job.files[0]!.content, 'base64').equals(input)).toBe(true);
    expect(one.job.files[1]!.content).toBe('naïve\n');

    const ls = await runCliProcess(['schedule', 'ls', '--server', server.url, '--json']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.length).toBeLessThan(16 * 1024);
  });

  it('submit --wait polls the brief job, then prints the job whole once (--json)', async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const input = randomBytes(3 * 1024 * 1024);
    const file = join(sandbox.dataDir, 'in ☃.bin');
    writeFileSync(file, input);
    // Longer than one 5 s server-side wait, so at least one poll comes back unfinished.
    const script = join(sandbox.dataDir, 'slow.sh');
    writeFileSync(script, 'sleep 7; sha256sum "in ☃.bin"\n');
    const submitted = await runCliProcess(
      ['submit', script, '--file', `${file}:in ☃.bin`, '--wait', '--json', '--server', server.url],
      { timeoutMs: 90_000 },
    );
    expect(submitted.code, submitted.stderr).toBe(0);
    const job = JSON.parse(submitted.stdout) as {
      id: string;
      status: string;
      spec: { files: Array<{ content: string }> };
    };
    expect(job.status).toBe('succeeded');
    expect(Buffer.from(job.spec.files[0]!.content, 'base64').equals(input)).toBe(true);
    // The server logs a request once it has answered, on another pipe than the answer:
    // wait until the whole job's read is logged, then count every read.
    const readsLogged = () =>
      server
        .stderr()
        .split('\n')
        .filter((line) => line.includes(`"url":"/v1/jobs/${job.id}`))
        .map((line) => (JSON.parse(line) as { url: string }).url);
    const reads = await waitFor("the job's reads logged", () => {
      const urls = readsLogged();
      return urls.includes(`/v1/jobs/${job.id}`) && urls;
    });
    expect(
      reads.filter((url) => url.startsWith(`/v1/jobs/${job.id}/brief?wait=true`)).length,
    ).toBeGreaterThanOrEqual(2);
    expect(reads.filter((url) => url === `/v1/jobs/${job.id}`)).toHaveLength(1);
    expect(reads.filter((url) => url.startsWith(`/v1/jobs/${job.id}?`))).toEqual([]);
  }, 120_000);
});
