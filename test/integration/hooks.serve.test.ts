import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import type { ConfigOverrides } from '../../src/config.js';
import type { ScheduleView } from '../../src/schedules/ScheduleService.js';
import { verifySignature } from '../../src/webhooks/signature.js';
import { databaseIdOf, expectNoLeftoverContainers } from '../helpers/leftovers.js';
import {
  runCliProcess,
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';

/**
 * Webhooks and schedules driven from outside: the built CLI against real `runbox serve`
 * processes, a receiver on loopback (allowed by the test's config), and kill -9.
 */

const SECRET = 'whsec-integration-secret';
const ENV = { RUNBOX_WEBHOOK_SECRET: SECRET };

interface Hook {
  url: string;
  received: Array<{ headers: IncomingMessage['headers']; body: string }>;
  statuses: number[];
  server: Server;
}

async function receiver(): Promise<Hook> {
  const hook = { received: [], statuses: [] } as unknown as Hook;
  hook.server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      hook.received.push({ headers: req.headers, body });
      res.statusCode = hook.statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => hook.server.listen(0, '127.0.0.1', r));
  hook.url = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}/hook`;
  return hook;
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const WEBHOOKS = { allowPrivate: true, backoffBaseMs: 300, backoffCapMs: 2000, pollMs: 100 };

describe('webhooks from runbox serve', () => {
  let dataDir: string;
  let hook: Hook;
  const servers: RunboxProcess[] = [];
  const configFile = (name: string, overrides: ConfigOverrides) => {
    const dir = join(dataDir, name);
    mkdirSync(dir, { recursive: true });
    return writeTestConfig(dir, { limits: { minFreeBytes: 0 }, ...overrides });
  };
  const serve = async (file: string, workers = 1) => {
    const server = await startServerProcess({ dataDir, configFile: file, workers, env: ENV });
    servers.push(server);
    return server;
  };
  const cli = (server: RunboxProcess, ...args: string[]) =>
    runCliProcess([...args, '--server', server.url], { env: ENV, cwd: dataDir });
  const deliveries = async (server: RunboxProcess, id: string) =>
    (
      (await (await fetch(`${server.url}/v1/jobs/${id}/webhooks`)).json()) as {
        deliveries: Array<{
          status: string;
          attempts: number;
          history: Array<{ status_code: number }>;
        }>;
      }
    ).deliveries;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-hooks-'));
    writeFileSync(join(dataDir, 'job.sh'), 'echo "done ✓"\n');
    hook = await receiver();
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.kill('SIGKILL');
      await s.exited;
    }
  });
  afterAll(async () => {
    await new Promise<void>((r) => hook.server.close(() => r()));
    await expectNoLeftoverContainers({ database: databaseIdOf(dataDir) });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('POSTs the signed job view; a receiver failing twice gets it on the third try', async () => {
    const server = await serve(configFile('a', { webhooks: WEBHOOKS }));
    hook.received.length = 0;
    hook.statuses.push(500, 502);
    const submit = await cli(server, 'submit', 'job.sh', '--webhook', hook.url, '--wait', '--json');
    expect(submit.code, submit.stderr).toBe(0);
    const job = JSON.parse(submit.stdout) as JobView;
    expect(job.spec.webhook_url).toBe(hook.url);
    await until('three attempts', () => (hook.received.length >= 3 ? true : undefined));
    const last = hook.received[2]!;
    expect(verifySignature(SECRET, last.headers['runbox-signature'] as string, last.body)).toEqual({
      ok: true,
    });
    const posted = JSON.parse(last.body) as JobView;
    expect(posted).toMatchObject({ id: job.id, status: 'succeeded' });
    expect(posted.result?.exit_code).toBe(0);
    const logs = await fetch(`${server.url}/v1/jobs/${job.id}/logs?stream=stdout`);
    expect(await logs.text()).toBe('done ✓\n');
    const [delivery] = await until('delivered', async () => {
      const list = await deliveries(server, job.id);
      return list[0]?.status === 'delivered' ? list : undefined;
    });
    expect(delivery!.history.map((h) => h.status_code)).toEqual([500, 502, 200]);
    const shown = await cli(server, 'webhooks', job.id);
    expect(shown.stdout).toContain(`job.succeeded to ${hook.url}: delivered after 3 attempt(s)`);
    expect(shown.stdout).toMatch(/^1 .* 500 +receiver answered 500$/m);
    expect(shown.stdout).toMatch(/^3 .* 200 *$/m);
  });

  it('refuses webhook URLs it will not call with 400 naming webhook_url', async () => {
    const server = await serve(configFile('b', { webhooks: WEBHOOKS }), 0);
    const count = async () =>
      ((await (await fetch(`${server.url}/v1/jobs`)).json()) as { jobs: unknown[] }).jobs.length;
    const before = await count();
    for (const [url, reason] of [
      ['http://169.254.169.254/latest/meta-data/', /never reach/],
      ['http://[fd00:ec2::254]/', /never reach/],
      ['file:///etc/passwd', /scheme file is not allowed/],
      ['https://user:pw@example.com/', /credentials/],
    ] as const) {
      const answer = await fetch(`${server.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ runtime: 'shell', command: ['true'], webhook_url: url }),
      });
      expect(answer.status, url).toBe(400);
      const { error } = (await answer.json()) as { error: { field: string; message: string } };
      expect(error.field).toBe('webhook_url');
      expect(error.message).toMatch(reason);
    }
    const cliRefusal = await cli(server, 'submit', 'job.sh', '--webhook', 'gopher://x/');
    expect(cliRefusal.code).toBe(65);
    expect(cliRefusal.stderr).toMatch(/InvalidSpec: webhook_url: scheme gopher/);
    // Nothing was stored for any refused request.
    expect(await count()).toBe(before);
  });

  it('never lets a webhook pointed at a runbox API act on it', async () => {
    // Seen: with allowPrivate and no token on loopback, a job whose webhook_url was this
    // server's /v1/jobs/<other>/cancel cancelled the other job when it ended.
    const server = await serve(configFile('self', { webhooks: WEBHOOKS }), 0);
    const submitted = async (...flags: string[]) => {
      const out = await cli(server, 'submit', 'job.sh', ...flags, '--json');
      expect(out.code, out.stderr).toBe(0);
      return (JSON.parse(out.stdout) as JobView).id;
    };
    const victim = await submitted();
    const trigger = await submitted('--webhook', `${server.url}/v1/jobs/${victim}/cancel`);
    expect((await cli(server, 'cancel', trigger)).code).toBe(0);
    const [delivery] = await until('an attempt on the runbox API', async () => {
      const list = await deliveries(server, trigger);
      return list[0]?.history.length ? list : undefined;
    });
    expect(delivery!.history[0]!.status_code).toBe(403);
    const status = await cli(server, 'status', victim, '--json');
    expect((JSON.parse(status.stdout) as JobView).status).toBe('queued');
  });

  it('still delivers after kill -9 between the finish and the delivery', async () => {
    // The first server's delivery loop looks once at start, then not for an hour: the job
    // finishes, its delivery row is committed, and nothing sends it before the kill.
    const first = await serve(configFile('c1', { webhooks: { ...WEBHOOKS, pollMs: 3_600_000 } }));
    hook.received.length = 0;
    const submit = await cli(first, 'submit', 'job.sh', '--webhook', hook.url, '--wait', '--json');
    expect(submit.code, submit.stderr).toBe(0);
    const job = JSON.parse(submit.stdout) as JobView;
    expect(await deliveries(first, job.id)).toMatchObject([{ status: 'pending', attempts: 0 }]);
    first.kill('SIGKILL');
    await first.exited;
    await new Promise((r) => setTimeout(r, 500));
    expect(hook.received).toHaveLength(0);

    const second = await serve(configFile('c2', { webhooks: WEBHOOKS }), 0);
    await until('the delivery after restart', () => (hook.received.length > 0 ? true : undefined));
    expect((JSON.parse(hook.received[0]!.body) as JobView).id).toBe(job.id);
    await until('delivered', async () =>
      (await deliveries(second, job.id))[0]?.status === 'delivered' ? true : undefined,
    );
    expect(hook.received).toHaveLength(1);
  });
});

describe('schedules in runbox serve', () => {
  let dataDir: string;
  const servers: RunboxProcess[] = [];
  const serve = async (workers: number) => {
    const configFile = writeTestConfig(dataDir, {
      limits: { minFreeBytes: 0 },
      schedules: { pollMs: 200 },
    });
    const server = await startServerProcess({ dataDir, configFile, workers });
    servers.push(server);
    return server;
  };
  const cli = (server: RunboxProcess, ...args: string[]) =>
    runCliProcess([...args, '--server', server.url], { cwd: dataDir });
  const jobs = async (server: RunboxProcess) =>
    ((await (await fetch(`${server.url}/v1/jobs?limit=1000`)).json()) as { jobs: JobView[] }).jobs;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-sched-'));
    writeFileSync(join(dataDir, 'job.sh'), 'echo tick\n');
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.kill('SIGTERM');
      await s.exited;
    }
  });
  afterAll(async () => {
    await expectNoLeftoverContainers({ database: databaseIdOf(dataDir) });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a job every 2 seconds in real time; pause, resume and rm from the CLI', async () => {
    const server = await serve(1);
    const add = await cli(
      server,
      'schedule',
      'add',
      'every2',
      'job.sh',
      '--cron',
      '*/2 * * * * *',
      '--tz',
      'Europe/Paris',
      '--json',
    );
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({
      name: 'every2',
      timezone: 'Europe/Paris',
      paused: false,
    });
    const done = await until(
      'two scheduled jobs to succeed',
      async () => {
        const list = (await jobs(server)).filter((j) => j.status === 'succeeded');
        return list.length >= 2 ? list : undefined;
      },
      30_000,
    );
    for (const job of done) {
      expect(job.idempotency_key).toMatch(/^schedule:every2:\d{4}-.*T.*:\d[02468]\.000Z$/);
      expect(job.result?.exit_code).toBe(0);
    }
    const pause = await cli(server, 'schedule', 'pause', 'every2');
    // No stale due time: resume picks the first one after it.
    expect(pause.stdout).toBe(
      'every2: */2 * * * * * (Europe/Paris, catch-up skip) paused (resume runs it from its next due time)\n',
    );
    const before = (await jobs(server)).length;
    await new Promise((r) => setTimeout(r, 3000));
    expect((await jobs(server)).length).toBe(before);
    const ls = await cli(server, 'schedule', 'ls');
    expect(ls.stdout).toMatch(
      /every2\s+\*\/2 \* \* \* \* \*\s+Europe\/Paris\s+skip\s+paused\s+-\s/,
    );
    expect((await cli(server, 'schedule', 'resume', 'every2')).code).toBe(0);
    await until('a job after resume', async () =>
      (await jobs(server)).length > before ? true : undefined,
    );
    const rm = await cli(server, 'schedule', 'rm', 'every2');
    expect(rm.stdout).toBe('removed every2\n');
    const gone = await cli(server, 'schedule', 'rm', 'every2');
    expect(gone.code).toBe(66);
    expect(gone.stderr).toMatch(/NotFound: no schedule named "every2"/);
    const bad = await cli(server, 'schedule', 'add', 'nœud', 'job.sh', '--cron', '* * * * *');
    expect(bad.code).toBe(65);
    expect(bad.stderr).toMatch(/InvalidSpec: name: "nœud" is not a schedule name/);
    const badCron = await cli(server, 'schedule', 'add', 'x', 'job.sh', '--cron', '99 * * * *');
    expect(badCron.stderr).toMatch(/InvalidSpec: cron:/);
    // --timezone, the name the API and its errors use, is --tz.
    const zone = await cli(
      server,
      'schedule',
      'add',
      'zone',
      'job.sh',
      '--cron',
      '0 3 * * *',
      '--timezone',
      'America/New_York',
      '--json',
    );
    expect(zone.code, zone.stderr).toBe(0);
    expect(JSON.parse(zone.stdout)).toMatchObject({ name: 'zone', timezone: 'America/New_York' });
    expect((await cli(server, 'schedule', 'rm', 'zone')).code).toBe(0);
    // Let the last scheduled jobs finish so no container is left behind.
    await until('queue to drain', async () =>
      (await jobs(server)).every((j) => j.status === 'succeeded' || j.status === 'failed')
        ? true
        : undefined,
    );
  });

  it('two serve processes on one database enqueue exactly one job per due second', async () => {
    // No workers: the jobs stay queued, and only the scheduling is under test.
    const a = await serve(0);
    const b = await serve(0);
    const add = await fetch(`${a.url}/v1/schedules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'both',
        cron: '* * * * * *',
        job: { runtime: 'shell', command: ['true'] },
      }),
    });
    expect(add.status).toBe(201);
    await new Promise((r) => setTimeout(r, 5000));
    const removed = (await (
      await fetch(`${b.url}/v1/schedules/both`, { method: 'DELETE' })
    ).json()) as ScheduleView;
    expect(removed.name).toBe('both');
    await new Promise((r) => setTimeout(r, 500));
    const seconds = (await jobs(a))
      .map((j) => j.idempotency_key!)
      .filter((k) => k.startsWith('schedule:both:'))
      .map((k) => Date.parse(k.slice('schedule:both:'.length)) / 1000)
      .sort((x, y) => x - y);
    expect(seconds.length).toBeGreaterThanOrEqual(3);
    // One job per due second, none missing between the first and the last.
    expect(seconds).toEqual(seconds.map((_, i) => seconds[0]! + i));
    // Each fire was claimed once, by one process or the other (each logs the fires it
    // claimed; which one wins a second is not fixed). A fire's line is written
    // after its commit and read over the process's stderr pipe, so it may come after the
    // job is listed; more lines than jobs still fails once they have arrived.
    const fired = (s: RunboxProcess) => (s.stderr().match(/schedule fired/g) ?? []).length;
    await until('a "schedule fired" line for every job', () =>
      fired(a) + fired(b) >= seconds.length ? true : undefined,
    ).catch(() => undefined);
    expect(fired(a) + fired(b)).toBe(seconds.length);
  });
});
