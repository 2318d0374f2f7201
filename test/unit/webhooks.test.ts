import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { JobService, toView } from '../../src/api/jobService.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { deleteFinishedBefore } from '../../src/queue/sqlite/retention.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { DeliveryLoop, backoffMs } from '../../src/webhooks/DeliveryLoop.js';
import { signatureHeader, verifySignature } from '../../src/webhooks/signature.js';
import { SqliteWebhookStore } from '../../src/webhooks/sqlite/SqliteWebhookStore.js';
import {
  addressRefusal,
  checkWebhookUrl,
  resolveWebhookAddresses,
  type WebhookPolicy,
} from '../../src/webhooks/urlPolicy.js';
import { validResult } from '../helpers/results.js';
import { testConfig } from '../helpers/testConfig.js';

const SECRET = 'whsec-test-ünïcode-secret';
const policy = (over: Partial<WebhookPolicy> = {}): WebhookPolicy => ({
  allowHosts: [],
  allowPrivate: false,
  secret: SECRET,
  url: null,
  ...over,
});

describe('webhook URL policy', () => {
  it('never lets a webhook reach link-local or cloud metadata addresses, however written', () => {
    for (const address of [
      '169.254.169.254',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      '64:ff9b::169.254.169.254',
      '64:ff9b::a9fe:a9fe',
      '::ffff:0:169.254.169.254', // IPv4-translated
      '::169.254.169.254', // IPv4-compatible (deprecated)
      '::0.0.0.2',
      '2002:a9fe:a9fe::1', // 6to4: its relay forwards to 169.254.169.254
      '0:0:0:0:0:FFFF:A9FE:A9FE',
      'fd00:ec2::254',
      'fe80::1',
      '100.100.100.200',
      '0.0.0.0',
      '::',
      '224.0.0.1',
    ]) {
      expect(addressRefusal(address, true), address).toMatch(/never reach/);
    }
  });

  it('refuses loopback and private addresses unless the operator allows them', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '::1',
      'fd12::1',
      '192.0.0.170', // IETF protocol assignments
      '64:ff9b:1::a00:1', // local-use NAT64: the network's own translator
      '2002:a00:1::1', // 6to4 of 10.0.0.1
      '::ffff:127.0.0.1',
      '::10.1.2.3',
    ]) {
      expect(addressRefusal(address, false), address).toMatch(/webhooks.allowPrivate/);
      expect(addressRefusal(address, true), address).toBeUndefined();
    }
    expect(addressRefusal('93.184.216.34', false)).toBeUndefined();
    expect(addressRefusal('2606:4700::1111', false)).toBeUndefined();
    // A public IPv4 address behind 6to4 or NAT64 is public.
    expect(addressRefusal('2002:5db8:d822::1', false)).toBeUndefined();
    expect(addressRefusal('64:ff9b::93.184.216.34', false)).toBeUndefined();
  });

  it('refuses bad URLs at submit with InvalidSpec naming webhook_url and the reason', () => {
    const refused = (url: string, p = policy()) => {
      try {
        checkWebhookUrl(url, p);
      } catch (error) {
        return { field: (error as { field: string }).field, message: (error as Error).message };
      }
      return null;
    };
    expect(refused('ftp://example.com/x')).toEqual({
      field: 'webhook_url',
      message: expect.stringMatching(/scheme ftp is not allowed/),
    });
    expect(refused('not a url')?.message).toMatch(/is not a URL/);
    expect(refused('https://user:pw@example.com/')?.message).toMatch(/credentials/);
    // An empty user and password, which URL reports as none, are credentials written.
    for (const url of [
      'http://:@example.com/x',
      'http://@example.com/x',
      'https://:@example.com',
    ]) {
      expect(refused(url)?.message, url).toMatch(/must not carry credentials/);
    }
    expect(refused('https://example.com/a@b')).toBeNull();
    expect(refused('http://169.254.169.254/latest/meta-data/')?.message).toMatch(/never reach/);
    expect(refused('http://[::ffff:169.254.169.254]/')?.message).toMatch(/never reach/);
    expect(refused('http://127.0.0.1:9/')?.message).toMatch(/allowPrivate/);
    expect(refused('https://example.com/', policy({ secret: null }))?.message).toMatch(
      /no webhook signing secret/,
    );
    expect(
      refused('https://evil.example.net/', policy({ allowHosts: ['hooks.example.com', '*.ok.io'] }))
        ?.message,
    ).toMatch(/not in the server's webhooks.allowHosts/);
    expect(refused('https://a.ok.io/', policy({ allowHosts: ['*.ok.io'] }))).toBeNull();
    expect(refused('https://ok.io/', policy({ allowHosts: ['*.ok.io'] }))?.message).toMatch(
      /allowHosts/,
    );
    expect(refused(`https://example.com/${'a'.repeat(2100)}`)?.message).toMatch(/2048/);
    // 2,048 characters as the schema's maxLength counts them, not UTF-16 units.
    const host = 'https://example.com/';
    expect(refused(host + '😀'.repeat(2048 - host.length))).toBeNull();
    expect(refused(host + '😀'.repeat(2049 - host.length))).toEqual({
      field: 'webhook_url',
      message: 'webhook_url: is longer than 2048 characters',
    });
    // A non-ASCII host is a name like any other (punycode), judged when resolved.
    expect(refused('https://bücher.example/hook')).toBeNull();
  });

  it('refuses control characters and spaces, which a URL parser drops or rewrites', () => {
    // Seen from outside: "http://127.0.0.1:7401/ok\u001b[31mFORGED\n\tline" was accepted
    // and stored as typed, POSTed to /ok%1B[31mFORGEDline (the parser drops tabs and
    // newlines), and `runbox webhooks` printed the escape and newline to the terminal.
    const refusal = (url: string) => {
      try {
        checkWebhookUrl(url, policy({ allowPrivate: true }));
      } catch (error) {
        return (error as Error).message;
      }
      return null;
    };
    expect(refusal('http://127.0.0.1:7401/ok\u001b[31mFORGED\n\tline')).toBe(
      'webhook_url: has a control character (U+001B) at 24; percent-encode it or leave it out',
    );
    expect(refusal('http://exa\tmple.com/')).toMatch(/control character \(U\+0009\) at 10;/);
    expect(refusal('http://example.com/a b')).toMatch(/a space at 20;/);
    expect(refusal(' http://example.com/')).toMatch(/a space at 0;/);
    expect(refusal('http://example.com/\u0000')).toMatch(/\(U\+0000\) at 19;/);
    expect(refusal('http://example.com/\u007f')).toMatch(/\(U\+007F\) at 19;/);
    expect(refusal('http://example.com/a%20b')).toBeNull();
    // Port 0: nothing listens there, so every try would fail for the whole retry window.
    expect(refusal('http://example.com:0/')).toMatch(/webhook_url: has port 0, which nothing/);
    expect(refusal('http://example.com:00/x')).toMatch(/has port 0/);
    expect(refusal('http://example.com:1/')).toBeNull();
  });

  it('refuses a URL the parser reads with another host or path than written', () => {
    // Seen from outside: "http://evil.example\@good.example/" was stored and shown as
    // typed (good.example, to a reader) and POSTed to evil.example; "https:///x" to host x.
    const refusal = (url: string) => {
      try {
        checkWebhookUrl(url, policy({}));
      } catch (error) {
        return (error as Error).message;
      }
      return null;
    };
    expect(refusal('http://evil.example\\@good.example/')).toBe(
      'webhook_url: has a backslash at 19, which a URL parser reads as "/"; write "/" or ' +
        'percent-encode it (%5C)',
    );
    expect(refusal('https://example.com\\hook')).toMatch(/a backslash at 19/);
    for (const url of [
      'https:///x',
      'https:example.com/hook',
      'http:/example.com/',
      'https:\\\\x',
    ]) {
      expect(refusal(url), url).toMatch(
        /^webhook_url: must start with http:\/\/ or https:\/\/ and the host; a URL parser reads /,
      );
    }
    expect(refusal('HTTPS://example.com/hook')).toBeNull();
  });

  it('checks every address a name resolves to at delivery time (DNS rebinding)', async () => {
    const resolveTo =
      (...addresses: string[]) =>
      async () =>
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const);
    await expect(
      resolveWebhookAddresses('https://hooks.example.com/', policy(), resolveTo('93.184.216.34')),
    ).resolves.toEqual([{ address: '93.184.216.34', family: 4 }]);
    // A public answer beside a private one does not get the private one through.
    await expect(
      resolveWebhookAddresses(
        'https://rebind.example.com/',
        policy(),
        resolveTo('93.184.216.34', '169.254.169.254'),
      ),
    ).rejects.toMatchObject({
      field: 'webhook_url',
      message: expect.stringMatching(/rebind.example.com resolves to 169.254.169.254/),
    });
    await expect(
      resolveWebhookAddresses('https://x.example.com/', policy(), resolveTo('10.0.0.5')),
    ).rejects.toThrow(/allowPrivate/);
  });
});

describe('webhook signatures', () => {
  const body = JSON.stringify({ id: 'job-1', status: 'succeeded', name: 'ünïcode ✓' });

  it('verify with the secret, and fail for another body, another secret or an old timestamp', () => {
    const now = 1_800_000_000;
    const header = signatureHeader(SECRET, now, body);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(SECRET, header, body, { nowSeconds: now })).toEqual({ ok: true });
    expect(verifySignature(SECRET, header, `${body} `, { nowSeconds: now }).ok).toBe(false);
    expect(verifySignature('other', header, body, { nowSeconds: now }).ok).toBe(false);
    expect(verifySignature(SECRET, header, body, { nowSeconds: now + 301 })).toEqual({
      ok: false,
      reason: expect.stringMatching(/replay/),
    });
    expect(verifySignature(SECRET, undefined, body).ok).toBe(false);
    expect(verifySignature(SECRET, 't=x,v1=00', body).ok).toBe(false);
  });

  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffMs(n, 100, 1000))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
  });
});

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A receiver on loopback answering with the statuses given, then 200. */
async function receiver(statuses: number[] = []): Promise<{
  url: string;
  received: Received[];
  server: Server;
}> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = statuses.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook?src=runbox`, received, server };
}

describe('durable deliveries', () => {
  const cleanups: Array<() => void | Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function setup(over: Partial<Config['webhooks']> = {}) {
    const { config, cleanup } = testConfig({
      limits: { minFreeBytes: 0 },
      webhooks: {
        secret: SECRET,
        allowPrivate: true,
        backoffBaseMs: 1000,
        backoffCapMs: 60_000,
        retryForMs: 10 * 60_000,
        timeoutMs: 2000,
        ...over,
      },
    });
    const queue = SqliteQueue.open(config);
    cleanups.push(cleanup, () => queue.close());
    const jobs = new JobService(config, queue);
    const store = new SqliteWebhookStore(queue.db);
    // The queue stamps the finish with the real clock; the loop's clock starts there.
    let clock = 0;
    const loop = new DeliveryLoop({
      config,
      store,
      jobView: async (id) => {
        const job = await queue.get(id);
        return job ? toView(job) : null;
      },
      now: () => clock,
    });
    const finish = async (id: string) => {
      const [held] = await queue.claim({ workerId: 'w1', limit: 1 });
      expect(held!.id).toBe(id);
      const recorded = queue.finish([{ id, token: held!.token, result: validResult() }]);
      queue.batcher.flush();
      await recorded;
      clock = (await queue.get(id))!.updatedAt;
    };
    return {
      config,
      queue,
      jobs,
      store,
      loop,
      finish,
      advance: (ms: number) => (clock += ms),
    };
  }

  const submit = async (jobs: JobService, queue: SqliteQueue, body: Record<string, unknown>) => {
    const submitted = jobs.submit({ runtime: 'shell', command: ['true'], ...body });
    queue.batcher.flush();
    return (await submitted).job;
  };

  it('writes the delivery in the transaction that ends the job, for every way a job ends', async () => {
    const { queue, jobs, store, finish } = setup();
    const a = await submit(jobs, queue, { webhook_url: 'http://127.0.0.1:9/a' });
    const b = await submit(jobs, queue, { webhook_url: 'http://127.0.0.1:9/b' });
    const none = await submit(jobs, queue, {});
    expect(await store.listForJob(a.id)).toEqual([]);
    await finish(a.id);
    await jobs.cancel(b.id);
    await finish(none.id);
    expect(await store.listForJob(a.id)).toMatchObject([
      { url: 'http://127.0.0.1:9/a', event: 'job.succeeded', status: 'pending', attempts: 0 },
    ]);
    expect(await store.listForJob(b.id)).toMatchObject([{ event: 'job.cancelled' }]);
    expect(await store.listForJob(none.id)).toEqual([]);
    // A final job touched again (a repeated cancel) gets no second delivery.
    queue.db
      .prepare("UPDATE jobs SET status = 'cancelled', final_work = final_work WHERE id = ?")
      .run(b.id);
    expect(await store.listForJob(b.id)).toHaveLength(1);
  });

  it('never gives a delivery the id of one that retention deleted (receivers drop duplicates by it)', async () => {
    const { queue, jobs, store, finish } = setup();
    const first = await submit(jobs, queue, { webhook_url: 'http://127.0.0.1:9/a' });
    await finish(first.id);
    const [old] = await store.listForJob(first.id);
    // A quiet week: the delivery has ended, and retention removes every finished job and
    // its deliveries with it.
    queue.db.prepare("UPDATE webhook_deliveries SET status = 'delivered'").run();
    deleteFinishedBefore(queue.db, Date.now() + 1);
    expect(await queue.get(first.id)).toBeNull();
    const next = await submit(jobs, queue, { webhook_url: 'http://127.0.0.1:9/a' });
    await finish(next.id);
    const [fresh] = await store.listForJob(next.id);
    expect(fresh!.id).toBeGreaterThan(old!.id);
  });

  it('keeps a job past jobRetentionMs while its webhook is still being tried', async () => {
    const hook = await receiver([500]);
    cleanups.push(() => new Promise<void>((r) => hook.server.close(() => r())));
    const { queue, jobs, store, loop, finish, advance } = setup();
    const job = await submit(jobs, queue, { webhook_url: hook.url });
    await finish(job.id);
    expect(await loop.turn()).toBe(1);
    // Retention shorter than retryForMs: the job, and so its delivery, stays.
    expect(deleteFinishedBefore(queue.db, Date.now() + 1).jobIds).toEqual([]);
    expect(await store.listForJob(job.id)).toMatchObject([{ status: 'pending', attempts: 1 }]);
    advance(1000);
    expect(await loop.turn()).toBe(1);
    expect(hook.received).toHaveLength(2);
    expect(deleteFinishedBefore(queue.db, Date.now() + 1).jobIds).toEqual([job.id]);
    expect(await queue.get(job.id)).toBeNull();
  });

  it('POSTs the job view signed; a receiver failing twice gets it on the third try', async () => {
    const hook = await receiver([500, 503]);
    cleanups.push(() => new Promise<void>((r) => hook.server.close(() => r())));
    const { queue, jobs, store, loop, finish, advance } = setup();
    const job = await submit(jobs, queue, { webhook_url: hook.url });
    await finish(job.id);

    expect(await loop.turn()).toBe(1);
    expect(hook.received).toHaveLength(1);
    // Not due again before its backoff.
    advance(999);
    expect(await loop.turn()).toBe(0);
    advance(1);
    expect(await loop.turn()).toBe(1);
    advance(1999);
    expect(await loop.turn()).toBe(0);
    advance(1);
    expect(await loop.turn()).toBe(1);
    advance(3600_000);
    expect(await loop.turn()).toBe(0);

    expect(hook.received).toHaveLength(3);
    const last = hook.received[2]!;
    expect(verifySignature(SECRET, last.headers['runbox-signature'] as string, last.body)).toEqual({
      ok: true,
    });
    expect(JSON.parse(last.body)).toEqual(toView((await queue.get(job.id))!));
    expect(last.headers['runbox-event']).toBe('job.succeeded');
    expect(last.headers['runbox-attempt']).toBe('3');
    // The same delivery id on every try: receivers drop duplicates by it.
    expect(new Set(hook.received.map((r) => r.headers['runbox-delivery'])).size).toBe(1);

    const [delivery] = await store.listForJob(job.id);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, lastStatusCode: 200 });
    expect(delivery!.history.map((h) => [h.attempt, h.statusCode])).toEqual([
      [1, 500],
      [2, 503],
      [3, 200],
    ]);
    expect(delivery!.history[0]!.error).toMatch(/answered 500/);
  });

  it('counts the attempt of a process killed mid-POST, so no attempt number is sent twice', async () => {
    // Seen from outside: serve was killed -9 during attempt 2; after its lease ran out the
    // next serve sent "Runbox-Attempt: 2" again, and the history never showed the lost try.
    const hook = await receiver([]);
    cleanups.push(() => new Promise<void>((r) => hook.server.close(() => r())));
    const { queue, jobs, store, loop, finish, advance } = setup({ timeoutMs: 2000 });
    const job = await submit(jobs, queue, { webhook_url: hook.url });
    await finish(job.id);
    const leaseMs = 2000 + 30_000;
    // The killed process: it claimed, POSTed, and never recorded an outcome.
    const killedAt = advance(0);
    const [lost] = await store.claimDue('killed-owner', killedAt, leaseMs, 16);
    expect(lost!.attempts).toBe(0);
    advance(leaseMs - 1);
    expect(await loop.turn()).toBe(0);
    advance(1);
    expect(await loop.turn()).toBe(1);

    expect(hook.received.map((r) => r.headers['runbox-attempt'])).toEqual(['2']);
    const [delivery] = await store.listForJob(job.id);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200 });
    expect(delivery!.history).toMatchObject([
      {
        attempt: 1,
        startedAt: killedAt,
        durationMs: leaseMs,
        statusCode: null,
        error: expect.stringMatching(/^no outcome recorded: the process sending it stopped/),
      },
      { attempt: 2, statusCode: 200, error: null },
    ]);
  });

  it('tries every address the name resolves to, as a browser or curl would', async () => {
    // A receiver whose name has an AAAA record the box cannot reach (no IPv6 route, or
    // listening on IPv4 only) failed every try on the first address, while curl got
    // through on the next: here ::1 refuses and 127.0.0.1 answers.
    const hook = await receiver([]);
    cleanups.push(() => new Promise<void>((r) => hook.server.close(() => r())));
    const { config, queue, jobs, store, finish } = setup();
    const port = new URL(hook.url).port;
    const job = await submit(jobs, queue, { webhook_url: `http://hooks.test:${port}/hook` });
    await finish(job.id);
    const looked: string[] = [];
    const loop = new DeliveryLoop({
      config,
      store,
      jobView: async (id) => toView((await queue.get(id))!),
      resolve: async (host) => {
        looked.push(host);
        return [
          { address: '::1', family: 6 },
          { address: '127.0.0.1', family: 4 },
        ];
      },
    });
    expect(await loop.turn()).toBe(1);
    expect(looked).toEqual(['hooks.test']);
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]!.headers.host).toBe(`hooks.test:${port}`);
    expect((await store.listForJob(job.id))[0]).toMatchObject({
      status: 'delivered',
      attempts: 1,
      lastStatusCode: 200,
    });
  });

  it('keeps retrying other deliveries on time while a receiver hangs', async () => {
    // Seen from outside: beside a receiver that hung until the 3 s timeout, a receiver
    // answering 500 with a 1 s backoff was retried every 4 s (each turn awaited the hang).
    let failures = 0;
    const server = createServer((req, res) => {
      req.resume();
      if (req.url === '/fail') {
        failures++;
        res.statusCode = 500;
        res.end();
      } // anything else: never answered
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { config, queue, jobs, store, finish } = setup({
      backoffBaseMs: 50,
      backoffCapMs: 50,
      timeoutMs: 5000,
      pollMs: 20,
    });
    await finish((await submit(jobs, queue, { webhook_url: `${base}/hang` })).id);
    await finish((await submit(jobs, queue, { webhook_url: `${base}/fail` })).id);
    const loop = new DeliveryLoop({
      config,
      store,
      jobView: async (id) => toView((await queue.get(id))!),
    });
    loop.start();
    await new Promise((r) => setTimeout(r, 1500));
    server.closeAllConnections();
    await loop.stop();
    expect(failures).toBeGreaterThanOrEqual(5);
  });

  it('leaves deliveries untouched in a process without the secret, for one that has it, and says so when it starts', async () => {
    const hook = await receiver([]);
    cleanups.push(() => new Promise<void>((r) => hook.server.close(() => r())));
    const { config, queue, jobs, store, loop, finish, advance } = setup({ retryForMs: 60_000 });
    const job = await submit(jobs, queue, { webhook_url: hook.url });
    await finish(job.id);
    // A second server on this database, started without RUNBOX_WEBHOOK_SECRET: it used
    // to claim the delivery each turn, count attempts and push it back by the backoff,
    // until retryForMs had passed and it was failed unsent.
    let clock = (await queue.get(job.id))!.updatedAt;
    const lines: string[] = [];
    const unsigned = new DeliveryLoop({
      config: { webhooks: { ...config.webhooks, secret: null } },
      store,
      jobView: async (id) => toView((await queue.get(id))!),
      now: () => clock,
      logger: createLogger('info', (line) => lines.push(line)),
    });
    for (let i = 0; i < 8; i++) {
      expect(await unsigned.turn()).toBe(0);
      clock += 10_000;
    }
    // A server restarted without the secret held them pending with no word of why.
    unsigned.start();
    await unsigned.stop();
    const warned = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(warned).toEqual([
      expect.objectContaining({
        level: 'warn',
        pending: 1,
        msg: expect.stringMatching(/RUNBOX_WEBHOOK_SECRET/),
      }),
    ]);
    expect((await store.listForJob(job.id))[0]).toMatchObject({ status: 'pending', attempts: 0 });
    advance(80_000);
    expect(await loop.turn()).toBe(1);
    expect((await store.listForJob(job.id))[0]).toMatchObject({ status: 'delivered' });
  });

  it('delivers a backlog as fast as the receiver answers, not 16 a poll', async () => {
    // Seen from outside: 400 due deliveries to a receiver answering 200 at once went out
    // 16 a second (one batch per pollMs), so a busy server fell behind for good.
    const hook = await receiver([]);
    cleanups.push(() => new Promise<void>((r) => hook.server.close(() => r())));
    const { config, queue, jobs, store } = setup({ pollMs: 60_000 });
    for (let i = 0; i < 40; i++) {
      await jobs.cancel((await submit(jobs, queue, { webhook_url: hook.url })).id);
    }
    const loop = new DeliveryLoop({
      config,
      store,
      jobView: async (id) => toView((await queue.get(id))!),
    });
    loop.start();
    for (let waited = 0; hook.received.length < 40 && waited < 5000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await loop.stop();
    expect(hook.received).toHaveLength(40);
  });

  it('takes the status line as the answer, though the body after it never ends', async () => {
    // Seen from outside: a receiver that answered 200 and then streamed its body without
    // end was recorded "no answer within 2000 ms" (no status), retried, and finally
    // failed, though it had taken every try.
    const trickles = new Set<NodeJS.Timeout>();
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(req.url === '/ok' ? 200 : 500);
      trickles.add(setInterval(() => res.write('.'), 20));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const t of trickles) clearInterval(t);
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { queue, jobs, store, loop, finish } = setup({ timeoutMs: 1500 });
    const ok = await submit(jobs, queue, { webhook_url: `${base}/ok` });
    const refused = await submit(jobs, queue, { webhook_url: `${base}/refused` });
    await finish(ok.id);
    await finish(refused.id);
    const started = Date.now();
    expect(await loop.turn()).toBe(2);
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await store.listForJob(ok.id))[0]).toMatchObject({
      status: 'delivered',
      attempts: 1,
      lastStatusCode: 200,
      lastError: null,
    });
    expect((await store.listForJob(refused.id))[0]).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastStatusCode: 500,
      lastError: 'receiver answered 500',
    });
  });

  it('says in last_error what the connection met, not only its code', async () => {
    // Seen from outside: `runbox webhooks` showed "EPROTO" for an https URL whose port
    // speaks plain http, and "ECONNREFUSED" without the address refused.
    const server = createServer((req, res) => {
      if (req.url === '/close') req.socket.destroy();
      else res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { queue, jobs, store, loop, finish } = setup();
    const cases = [
      // OpenSSL's source path ("../deps/openssl/.../ssl3_record.c:350:") was shown too.
      [
        `https://127.0.0.1:${port}/`,
        `write EPROTO SSL routines: wrong version number at 127.0.0.1:${port}`,
      ],
      [`http://127.0.0.1:${closedPort}/`, `connect ECONNREFUSED 127.0.0.1:${closedPort}`],
      [`http://127.0.0.1:${port}/close`, `ECONNRESET (socket hang up) at 127.0.0.1:${port}`],
    ] as const;
    const ids: string[] = [];
    for (const [url] of cases) {
      const job = await submit(jobs, queue, { webhook_url: url });
      await finish(job.id);
      ids.push(job.id);
    }
    expect(await loop.turn()).toBe(3);
    for (const [i, [url, error]] of cases.entries()) {
      const [delivery] = await store.listForJob(ids[i]!);
      expect(delivery!.lastError, url).toBe(error);
    }
  });

  it('gives up once retryForMs has passed since the job ended, and records why', async () => {
    const hook = await receiver([500, 500, 500, 500, 500]);
    cleanups.push(() => new Promise<void>((r) => hook.server.close(() => r())));
    const { queue, jobs, store, loop, finish, advance } = setup({ retryForMs: 2500 });
    const job = await submit(jobs, queue, { webhook_url: hook.url });
    await finish(job.id);
    for (let i = 0; i < 6; i++) {
      await loop.turn();
      advance(1000);
    }
    const [delivery] = await store.listForJob(job.id);
    // Tries at 0 and 1 s; the next (3 s) would be past 2.5 s: failed after the second.
    expect(delivery).toMatchObject({ status: 'failed', attempts: 2, lastStatusCode: 500 });
    expect(hook.received).toHaveLength(2);
  });

  it('refuses at delivery time an address the policy forbids, without retrying', async () => {
    const { config, queue, jobs, store, finish } = setup();
    const job = await submit(jobs, queue, { webhook_url: 'http://127.0.0.1:9/x' });
    await finish(job.id);
    // The operator tightened the policy after the job was submitted.
    const strict = new DeliveryLoop({
      config: { webhooks: { ...config.webhooks, allowPrivate: false } },
      store,
      jobView: async (id) => toView((await queue.get(id))!),
    });
    await strict.turn();
    const [delivery] = await store.listForJob(job.id);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: null });
    expect(delivery!.lastError).toMatch(/webhook_url: 127.0.0.1 is a loopback or private/);
  });

  it('hands each due delivery to one of two loops on one database', async () => {
    const hook = await receiver();
    cleanups.push(() => new Promise<void>((r) => hook.server.close(() => r())));
    const first = setup();
    const jobIds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const job = await submit(first.jobs, first.queue, { webhook_url: hook.url });
      await first.finish(job.id);
      jobIds.push(job.id);
    }
    const other = SqliteQueue.open(first.config);
    cleanups.push(() => other.close());
    const second = new DeliveryLoop({
      config: first.config,
      store: new SqliteWebhookStore(other.db),
      jobView: async (id) => toView((await other.get(id))!),
    });
    const [a, b] = await Promise.all([first.loop.turn(), second.turn()]);
    expect(a + b).toBe(10);
    expect(hook.received).toHaveLength(10);
    const ids = hook.received.map((r) => (JSON.parse(r.body) as { id: string }).id).sort();
    expect(ids).toEqual(jobIds.sort());
  });

  it('gives every job the server-wide webhook unless it names its own', async () => {
    const { config, cleanup } = testConfig({
      limits: { minFreeBytes: 0 },
      webhooks: { secret: SECRET, allowPrivate: true, url: 'http://127.0.0.1:9/all' },
    });
    const queue = SqliteQueue.open(config);
    cleanups.push(cleanup, () => queue.close());
    const jobs = new JobService(config, queue);
    const plain = await submit(jobs, queue, {});
    const own = await submit(jobs, queue, { webhook_url: 'http://127.0.0.1:9/own' });
    expect(plain.spec.webhook_url).toBe('http://127.0.0.1:9/all');
    expect(own.spec.webhook_url).toBe('http://127.0.0.1:9/own');
  });
});

describe('config', () => {
  it('refuses a server-wide webhook URL without a secret, naming the key', () => {
    expect(() => testConfig({ webhooks: { url: 'https://example.com/' } })).toThrow(
      /webhooks.secret: must be set/,
    );
    expect(() => testConfig({ webhooks: { url: 'gopher://x', secret: 's' } })).toThrow(
      /webhooks.url: scheme gopher/,
    );
  });
});
