import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { http } from '../helpers/chaosKit.js';
import { keepScreenshot, launchChromium } from '../helpers/browser.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { waitFor } from '../helpers/queueProbe.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';
import { tcpRelay } from '../helpers/tcpRelay.js';

/**
 * Issue 18, the web dashboard, in a real browser (Debian's Chromium driven by
 * playwright-core) against a real `runbox serve` running real jobs. Screenshots go to
 * test-artifacts/dashboard/.
 */

const TOKEN = 'dashboard-token-ø-1234567890';
// Bytes that are not UTF-8, and a name that is not ASCII: the download must be exact.
const OUTPUT_HEX = '00ff80fe0a7265706f7274e282ac0a';
const OUTPUT_NAME = 'résumé ✓.bin';

/**
 * Prints tick 1..7 every half second, tick 8 after 12 s more, writes an output, exits 0.
 * The pause is the page's time to show a line while the job runs: with 4 s in all, a
 * loaded machine started Chromium and opened the page after the job had ended.
 */
const TICKING_JOB = {
  runtime: 'shell',
  env: { API_KEY: 'hunter2-do-not-show', PLAIN: 'visible-value' },
  secret_env: ['API_KEY'],
  // The page polls the job: its inputs are listed by size, never downloaded (a job with
  // 100 MiB of inputs made every poll 130 MB).
  files: [{ path: 'in/data.txt', content: 'input-content-marker '.repeat(50_000) }],
  command: [
    'sh',
    '-c',
    'for i in 1 2 3 4 5 6 7; do echo "tick $i"; echo "err $i" >&2; sleep 0.5; done; ' +
      'sleep 12; echo "tick 8"; echo "err 8" >&2; ' +
      `printf '${OUTPUT_HEX.replace(/(..)/g, '\\x$1')}' > "/outputs/${OUTPUT_NAME}"`,
  ],
};
const SLEEPING_JOB = { runtime: 'shell', command: ['sh', '-c', 'echo started; sleep 120'] };

async function waitStatus(url: string, id: string, want: string[], token?: string) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const answer = await http(url, `/v1/jobs/${id}`, token ? { token } : {});
    if (want.includes(answer.json.status)) return answer.json;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${answer.json.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('web dashboard in Chromium', () => {
  const sandbox = useProcessSandbox('dashboard');
  let browser: Browser;
  // Script errors in the dashboard fail the test that caused them.
  const pageErrors: string[] = [];
  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function page(): Promise<Page> {
    const context = await browser.newContext({ acceptDownloads: true });
    const p = await context.newPage();
    p.on('pageerror', (error) => pageErrors.push(error.message));
    return p;
  }

  it('lists jobs with filters and paging, and finds one by id', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1 } });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const batch = await http(server.url, '/v1/jobs/batch', {
      body: { jobs: Array.from({ length: 30 }, (_, i) => ({ ...SLEEPING_JOB, args: [`n${i}`] })) },
    });
    expect(batch.status).toBe(201);
    const ids: string[] = batch.json.jobs.map((j: { id: string }) => j.id);

    const p = await page();
    await p.goto(`${server.url}/`);
    const rows = p.locator('table.jobs tbody tr[data-job]');
    await expect.poll(() => rows.count()).toBe(25);
    // Newest first: the last submitted is on top.
    expect(await rows.first().getAttribute('data-job')).toBe(ids[29]);
    await expect.poll(() => p.locator('.activity [data-finished-hour]').count()).toBe(1);
    expect(await p.textContent('figcaption')).toContain('due now: 30');
    await keepScreenshot(p, 'jobs-list');

    await p.click('#older');
    await expect.poll(() => rows.count()).toBe(5);
    expect(await rows.last().getAttribute('data-job')).toBe(ids[0]);
    await p.click('#newer');
    await expect.poll(() => rows.count()).toBe(25);

    await p.click('[data-filter="running"]');
    await expect.poll(() => p.locator('td.empty').count()).toBe(1);
    await p.click('[data-filter="queued"]');
    await expect.poll(() => rows.count()).toBe(25);

    // An id in lower case (ULIDs read in any case) opens the job, shown as stored: it was
    // shown as typed.
    await p.fill('#search', ids[3]!.toLowerCase());
    await p.press('#search', 'Enter');
    await expect.poll(() => p.textContent('#job-id')).toBe(ids[3]);
    await expect.poll(() => p.textContent('#job-status')).toBe('queued');
    expect(
      await p
        .locator('a[download]')
        .evaluateAll((links) => links.map((a) => a.getAttribute('download'))),
    ).toEqual([`${ids[3]}.stdout`, `${ids[3]}.stderr`]);
    await p.goto(`${server.url}/`);
    await p.fill('#search', ids[3]!);
    await p.press('#search', 'Enter');
    await expect.poll(() => p.textContent('#job-id')).toBe(ids[3]);
    await expect.poll(() => p.textContent('#job-status')).toBe('queued');
    // Cancelling a queued job from its page.
    await p.click('#cancel');
    await expect.poll(() => p.textContent('#job-status')).toBe('cancelled');
    expect((await http(server.url, `/v1/jobs/${ids[3]}`)).json.status).toBe('cancelled');

    await p.goto(`${server.url}/#/jobs/NO-SUCH-JOB`);
    await expect.poll(() => p.locator('#not-found').count()).toBe(1);
    // Seen: a link whose % escapes no UTF-8 threw URIError in the page's router and left
    // it blank. It is an id like any other that names no job.
    await p.goto('about:blank');
    await p.goto(`${server.url}/#/jobs/%E0%A4%A`);
    await expect.poll(() => p.textContent('#not-found')).toBe('No job with id "%E0%A4%A".');

    // The named queues panel (GET /v1/queues): no node serves anything here (0 workers).
    // Seen: a job scheduled for later counted as waiting like a due one ("waiting",
    // "queued now"), which an operator read as a backlog: it is shown apart.
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const gpu = await http(server.url, '/v1/jobs/batch', {
      body: {
        jobs: [
          ...[0, 1].map(() => ({ ...SLEEPING_JOB, queue: 'gpu.a100-x_1' })),
          { ...SLEEPING_JOB, queue: 'gpu.a100-x_1', run_at: later },
        ],
      },
    });
    expect(gpu.status).toBe(201);
    await p.goto(`${server.url}/#/system`);
    const queueRow = (name: string) => p.locator(`table.queues tr[data-queue="${name}"]`);
    await expect.poll(() => p.locator('table.queues tr[data-queue]').count()).toBe(2);
    const cells = async (name: string) =>
      Object.fromEntries(
        await Promise.all(
          ['due', 'scheduled', 'running', 'workers', 'slots', 'oldest'].map(async (c) => [
            c,
            (await queueRow(name).locator(`td.${c}`).textContent())?.trim(),
          ]),
        ),
      );
    // 30 submitted, one cancelled above; the oldest has waited since it was submitted.
    expect(await cells('default')).toMatchObject({
      due: '29',
      scheduled: '0',
      running: '0',
      workers: '0',
      slots: '0',
    });
    expect((await cells('default')).oldest).toMatch(/^\d+ (s|min) ago$/);
    expect(await cells('gpu.a100-x_1')).toMatchObject({
      due: '2',
      scheduled: '1',
      running: '0',
      workers: '0',
    });
    await keepScreenshot(p, 'system-queues-waiting');
    await p.goto(`${server.url}/#/jobs`);
    await expect.poll(() => p.textContent('figcaption')).toContain('due now: 31');
    expect(await p.textContent('figcaption')).toContain('scheduled for later: 1');

    // A right-to-left override in a submitter's text is shown as its code point: it may
    // not make "evil<U+202E>cod.sh" read as "evilhs.doc" in the list.
    const spoof = await http(server.url, '/v1/jobs', {
      body: { runtime: 'shell', command: ['sh', '-c', 'true', 'evil\u202ecod.sh'] },
    });
    expect(spoof.status).toBe(201);
    await p.goto(`${server.url}/`);
    const spoofed = p.locator(`table.jobs tr[data-job="${spoof.json.id}"]`);
    await expect.poll(() => spoofed.count()).toBe(1);
    const text = (await spoofed.textContent())!;
    expect(text).toContain('evil<U+202E>cod.sh');
    expect(text).not.toContain('\u202e');

    // README: the list is refreshed every 3 s. A job submitted while the page stays open
    // shows up on top by itself, within one refresh (and a little slack for the fetch).
    const late = await http(server.url, '/v1/jobs', { body: { ...SLEEPING_JOB, args: ['late'] } });
    expect(late.status).toBe(201);
    const seenFrom = Date.now();
    await expect
      .poll(() => rows.first().getAttribute('data-job'), { timeout: 4500, interval: 100 })
      .toBe(late.json.id);
    expect(Date.now() - seenFrom).toBeLessThan(4500);
    // Seen: an error the API answered (here for a link's status filter) quotes what it was
    // sent, and the banner showed the override raw.
    await p.goto(`${server.url}/#/jobs?status=evil%E2%80%AEcod`);
    await expect.poll(() => p.textContent('#error')).toContain('(got "evil<U+202E>cod")');
    expect(await p.textContent('#error')).not.toContain('\u202e');
    await p.context().close();
  });

  it("follows a running job's logs live, downloads its output, and cancels another", async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1 } });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 2 });
    sandbox.processes.push(server);
    const ticking = (await http(server.url, '/v1/jobs', { body: TICKING_JOB })).json.id as string;
    await waitStatus(server.url, ticking, ['running', 'succeeded']);

    const p = await page();
    await p.goto(`${server.url}/#/jobs/${ticking}`);
    const stdout = p.locator('#log-stdout');
    // A line arrives in the page while the job is still running.
    await expect.poll(() => stdout.textContent(), { timeout: 30_000 }).toContain('tick 2');
    const midway = (await http(server.url, `/v1/jobs/${ticking}`)).json.status;
    const seenMidway = (await stdout.textContent()) ?? '';
    expect(midway).toBe('running');
    expect(seenMidway).not.toContain('tick 8');
    await keepScreenshot(p, 'job-running-logs');
    // The spec as the API serves it: the secret's value masked, other values shown.
    const spec = (await p.textContent('#spec')) ?? '';
    expect(spec).toContain('"API_KEY": "[secret]"');
    expect(spec).toContain('visible-value');
    expect(await p.content()).not.toContain('hunter2');
    expect(spec).toContain('"bytes": 1050000');
    expect(await p.content()).not.toContain('input-content-marker');

    await expect.poll(() => p.textContent('#job-status'), { timeout: 60_000 }).toBe('succeeded');
    await expect.poll(() => stdout.getAttribute('data-complete')).toBe('true');
    expect(await stdout.textContent()).toBe(
      Array.from({ length: 8 }, (_, i) => `tick ${i + 1}\n`).join(''),
    );
    await expect.poll(() => p.textContent('#log-stderr')).toContain('err 8');
    await expect.poll(() => p.locator('#stages [data-stage="run"]').count()).toBe(1);
    await expect.poll(() => p.locator('a.output').count()).toBe(1);
    expect(await p.textContent('a.output')).toBe(OUTPUT_NAME);
    await keepScreenshot(p, 'job-succeeded');

    const [download] = await Promise.all([p.waitForEvent('download'), p.click('a.output')]);
    const file = await download.path();
    expect(readFileSync(file).toString('hex')).toBe(OUTPUT_HEX);

    const sleeper = (await http(server.url, '/v1/jobs', { body: SLEEPING_JOB })).json.id as string;
    await waitStatus(server.url, sleeper, ['running']);
    await p.goto(`${server.url}/#/jobs/${sleeper}`);
    await expect.poll(() => p.textContent('#log-stdout'), { timeout: 30_000 }).toContain('started');
    await p.click('#cancel');
    await expect.poll(() => p.textContent('#job-status'), { timeout: 60_000 }).toBe('cancelled');
    const cancelled = await waitStatus(server.url, sleeper, ['cancelled']);
    expect(cancelled.error.type).toBe('Cancelled');
    await keepScreenshot(p, 'job-cancelled');

    await p.goto(`${server.url}/#/system`);
    await expect.poll(() => p.locator('table.workers tr[data-worker]').count()).toBeGreaterThan(0);
    // This node serves `default` with its 2 slots; nothing waits or runs there now.
    const served = p.locator('table.queues tr[data-queue="default"]');
    await expect.poll(() => served.locator('td.workers').textContent()).toBe('1');
    expect(await served.locator('td.slots').textContent()).toBe('2');
    expect(await served.locator('td.due').textContent()).toBe('0');
    expect(await served.locator('td.scheduled').textContent()).toBe('0');
    expect(await served.locator('td.running').textContent()).toBe('0');
    expect(await served.locator('td.oldest').textContent()).toBe('—');
    expect(await p.textContent('table.workers')).toContain('alive');
    expect(await p.textContent('#contract')).toMatch(/\d+\.\d+\.\d+/);
    expect(await p.textContent('#version')).toMatch(/\d+\.\d+\.\d+/);
    await keepScreenshot(p, 'system');
    await p.context().close();
  });

  // Seen: after one failed refresh (the server restarted, the connection dropped) the
  // page stopped polling for good: the list and a job's status froze, "Failed to fetch"
  // stayed on top after the server was back, and the job's logs stayed "failed".
  it('keeps refreshing after the server was away, and reads the logs again', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1 } });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 2 });
    sandbox.processes.push(server);
    // The browser reaches runbox through a relay that can go away and come back, as a
    // server does when it restarts; the server itself keeps running the job meanwhile.
    const relay = await tcpRelay(new URL(server.url));
    try {
      const job = (
        await http(server.url, '/v1/jobs', {
          body: { runtime: 'shell', command: ['sh', '-c', 'echo before; sleep 4; echo after'] },
        })
      ).json.id as string;
      const p = await page();
      await p.goto(`${relay.endpoint}/#/jobs/${job}`);
      await expect.poll(() => p.textContent('#log-stdout'), { timeout: 30_000 }).toBe('before\n');
      expect(await p.textContent('#job-status')).toBe('running');

      await relay.down();
      await expect.poll(() => p.locator('#error').count(), { timeout: 10_000 }).toBe(1);
      await waitStatus(server.url, job, ['succeeded']);
      await relay.up();
      await expect.poll(() => p.textContent('#job-status'), { timeout: 10_000 }).toBe('succeeded');
      await expect.poll(() => p.locator('#error').count(), { timeout: 10_000 }).toBe(0);
      // Read again from the start, not appended to what was shown before.
      await expect.poll(() => p.getAttribute('#log-stdout', 'data-complete')).toBe('true');
      expect(await p.textContent('#log-stdout')).toBe('before\nafter\n');

      await p.goto(`${relay.endpoint}/#/jobs`);
      const rows = p.locator('table.jobs tbody tr[data-job]');
      await expect.poll(() => rows.first().getAttribute('data-job')).toBe(job);
      await relay.down();
      await expect.poll(() => p.locator('#error').count(), { timeout: 10_000 }).toBe(1);
      const later = (
        await http(server.url, '/v1/jobs', { body: { runtime: 'shell', command: ['true'] } })
      ).json.id as string;
      await relay.up();
      await expect
        .poll(() => rows.first().getAttribute('data-job'), { timeout: 10_000 })
        .toBe(later);
      await expect.poll(() => p.locator('#error').count(), { timeout: 10_000 }).toBe(0);
      await keepScreenshot(p, 'jobs-after-outage');
      await p.context().close();
    } finally {
      await relay.down();
    }
  });

  // /docs runs under a CSP like the dashboard's page (this server's scripts only, no
  // framing): Swagger UI must still render all of it without a refused load.
  it('renders /docs under its CSP', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1 } });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const p = await page();
    const refused: string[] = [];
    p.on('console', (m) => {
      if (/Content Security Policy|Refused/i.test(m.text())) refused.push(m.text());
    });
    await p.goto(`${server.url}/docs#/jobs/submitJob`);
    await expect.poll(() => p.locator('.opblock').count(), { timeout: 30_000 }).toBeGreaterThan(10);
    // The deep link opened the operation: its example body rendered too.
    await expect.poll(() => p.locator('.opblock.is-open').count()).toBe(1);
    await keepScreenshot(p, 'docs', { fullPage: false });
    expect(refused).toEqual([]);
    await p.context().close();
  });

  // Seen: an output named with 250 letters and no break made the job page 2268 px wide
  // at a 1280 px window: the outputs table pushed its size and hash columns out of the
  // card, and the whole page scrolled sideways. The same held for a long id asked for.
  it('keeps long unbroken names and a narrow window inside the page', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1 } });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const name = 'x'.repeat(250);
    const job = (
      await http(server.url, '/v1/jobs', {
        body: {
          runtime: 'shell',
          command: ['sh', '-c', `echo hi > /outputs/${name}; ln -s /${'y'.repeat(250)} /outputs/l`],
        },
      })
    ).json.id as string;
    await waitStatus(server.url, job, ['succeeded']);
    const p = await page();
    await p.setViewportSize({ width: 1280, height: 900 });
    const wide = () =>
      p.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
    await p.goto(`${server.url}/#/jobs/${job}`);
    await expect.poll(() => p.locator('a.output').count(), { timeout: 10_000 }).toBe(1);
    await keepScreenshot(p, 'job-long-names');
    expect(await wide()).toBe(0);
    await p.goto(`${server.url}/#/jobs/${'Z'.repeat(400)}`);
    // Too long to be an id (the API answers 400): no such job, said once.
    await expect.poll(() => p.textContent('#not-found')).toContain('Z'.repeat(400));
    expect(await wide()).toBe(0);

    // Seen: at a phone's width (390 px; the page declares a viewport) the jobs list was
    // 942 px wide and a job's cards 380 px plus margins: the page scrolled sideways.
    await p.setViewportSize({ width: 390, height: 800 });
    const pages = [
      ['jobs', '#/jobs', 'table.jobs tr[data-job]'],
      ['job', `#/jobs/${job}`, '#log-stderr[data-complete]'],
      ['system', '#/system', 'table.workers tr[data-worker]'],
    ] as const;
    for (const [name, at, shown] of pages) {
      await p.goto(`${server.url}/${at}`);
      await p.waitForSelector(shown);
      await keepScreenshot(p, `narrow-${name}`);
      expect(await wide(), at).toBe(0);
    }
    await p.context().close();
  });

  // Seen: "Log out" in the header of a server without a token, where there is no
  // session to end and the button did nothing a user could see.
  it('shows "Log out" only on a server with a token, and not on the login form', async () => {
    const open = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile: writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1 } }),
      workers: 0,
    });
    sandbox.processes.push(open);
    const p = await page();
    await p.goto(`${open.url}/#/system`);
    await p.waitForSelector('#version');
    expect(await p.locator('#logout').count()).toBe(0);
    // The data dir is one server's at a time.
    open.kill();
    await open.exited;

    const guarded = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile: writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1 }, token: TOKEN }),
      workers: 0,
    });
    sandbox.processes.push(guarded);
    await p.goto(`${guarded.url}/#/system`);
    await p.waitForSelector('#login');
    expect(await p.locator('#logout').isVisible()).toBe(false);
    await p.fill('#token', TOKEN);
    await p.click('#login button');
    await p.waitForSelector('#version');
    expect(await p.locator('#logout').isVisible()).toBe(true);
    await p.context().close();
  });

  it('asks for the token, refuses a wrong one, and keeps an HttpOnly SameSite=Strict cookie', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, {
      limits: { minFreeBytes: 1 },
      token: TOKEN,
    });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const job = (await http(server.url, '/v1/jobs', { body: SLEEPING_JOB, token: TOKEN })).json
      .id as string;

    const p = await page();
    await p.goto(`${server.url}/`);
    await p.waitForSelector('#login');
    await keepScreenshot(p, 'login');
    await p.fill('#token', 'wrong-token');
    await p.click('#login button');
    await expect.poll(() => p.textContent('#login-error')).toBe('Wrong token.');
    expect(await p.context().cookies()).toEqual([]);

    await p.fill('#token', TOKEN);
    await p.click('#login button');
    await expect.poll(() => p.locator(`tr[data-job="${job}"]`).count()).toBe(1);
    const [cookie, ...others] = await p.context().cookies();
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({
      name: `runbox_session_${new URL(server.url).port}`,
      httpOnly: true,
      sameSite: 'Strict',
      secure: false,
      path: '/',
    });
    expect(cookie!.value).not.toContain(TOKEN);
    // HttpOnly: the page's own scripts cannot read it.
    expect(await p.evaluate('document.cookie')).toBe('');

    // The cookie alone authorizes the API, for reads and for a same-origin cancel.
    const withCookie = { cookie: `${cookie!.name}=${cookie!.value}` };
    expect((await http(server.url, '/v1/jobs', { headers: withCookie })).status).toBe(200);
    // A wrong bearer header beside a good cookie is still refused.
    expect(
      (
        await http(server.url, '/v1/jobs', {
          headers: { ...withCookie, authorization: 'Bearer x' },
        })
      ).status,
    ).toBe(401);

    // Log out: the cookie is gone and the login form is back.
    await p.click('#logout');
    await p.waitForSelector('#login');
    expect(await p.context().cookies()).toEqual([]);
    // And the session is over on the server too: a copy of the cookie no longer works.
    expect((await http(server.url, '/v1/jobs', { headers: withCookie })).status).toBe(401);

    // ?token= once: logged in, and the token leaves the address bar.
    await p.goto(`${server.url}/?token=${encodeURIComponent(TOKEN)}#/jobs`);
    await expect.poll(() => p.locator(`tr[data-job="${job}"]`).count()).toBe(1);
    expect(p.url()).not.toContain('token');
    expect(await p.context().cookies()).toHaveLength(1);
    await p.goto(`${server.url}/?token=nope`);
    await p.waitForSelector('#login');
    expect(await p.textContent('#login-error')).toBe('Wrong token.');
    await p.context().close();
    // The token that went through the address bar is not in the server's log.
    await waitFor('the redacted request logged', () =>
      server.stderr().includes('?token=%5Bredacted%5D'),
    );
    expect(server.stderr()).not.toContain(encodeURIComponent(TOKEN));
    expect(server.stderr()).not.toContain(TOKEN);
  });

  // Seen: ?token= read through URLSearchParams, which takes "+" for a space: a base64
  // token (openssl rand -base64 32) pasted into the address was "Wrong token."
  it('takes a base64 token from ?token= as written', async () => {
    const token = 'k+3/Zq9w+Xy7vA==';
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1 }, token });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const job = (await http(server.url, '/v1/jobs', { body: SLEEPING_JOB, token })).json
      .id as string;
    const p = await page();
    await p.goto(`${server.url}/?token=${token}`);
    await expect.poll(() => p.locator(`tr[data-job="${job}"]`).count()).toBe(1);
    expect(p.url()).not.toContain('token');
    // Escaped, it is the same token.
    await p.context().clearCookies();
    await p.goto(`${server.url}/?token=${encodeURIComponent(token)}#/jobs`);
    await expect.poll(() => p.locator(`tr[data-job="${job}"]`).count()).toBe(1);
    await p.context().close();
  });

  // Seen: once the login limiter answered 429, the form said "Wrong token." to every
  // attempt, the right token included, so a user was told a right token was wrong
  // instead of being told to wait.
  it('says to wait, not "Wrong token.", while the login is limited', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, {
      limits: { minFreeBytes: 1 },
      token: TOKEN,
    });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    for (let i = 0; i < 10; i++) {
      const wrong = await http(server.url, '/v1/session', { body: { token: `guess-${i}` } });
      expect(wrong.status).toBe(401);
    }
    const p = await page();
    await p.goto(`${server.url}/`);
    await p.waitForSelector('#login');
    await p.fill('#token', TOKEN);
    await p.click('#login button');
    await expect
      .poll(() => p.textContent('#login-error'))
      .toMatch(/^Too many wrong tokens from this address: try again in [1-6] s\.$/);
    await p.goto(`${server.url}/?token=${encodeURIComponent(TOKEN)}`);
    await expect.poll(() => p.textContent('#login-error')).toMatch(/^Too many wrong tokens/);
    await keepScreenshot(p, 'login-limited');
    await p.context().close();
  });

  it('keeps the rebinding and origin rules with the cookie: another page cannot use it', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, {
      limits: { minFreeBytes: 1 },
      token: TOKEN,
    });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const job = (await http(server.url, '/v1/jobs', { body: SLEEPING_JOB, token: TOKEN })).json
      .id as string;
    const login = await http(server.url, '/v1/session', { body: { token: TOKEN } });
    expect(login.status).toBe(204);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    const cookie = setCookie.split(';')[0]!;
    const port = new URL(server.url).port;

    // From outside a browser: the cookie does not lift the Host and Origin checks.
    const cancel = `/v1/jobs/${job}/cancel`;
    const refused = [
      [{ host: `evil.example:${port}` }, 421],
      [{ origin: 'http://evil.example' }, 403],
      [{ origin: 'http://127.0.0.1:1' }, 403],
      [{ origin: 'null' }, 403],
      [{ 'sec-fetch-site': 'same-site' }, 403],
      [{ 'sec-fetch-site': 'cross-site' }, 403],
    ] as const;
    for (const [headers, status] of refused) {
      const answer = await http(server.url, cancel, {
        method: 'POST',
        headers: { cookie, ...headers },
      });
      expect(answer.status, JSON.stringify(headers)).toBe(status);
    }
    expect((await http(server.url, `/v1/jobs/${job}`, { token: TOKEN })).json.status).toBe(
      'queued',
    );

    // In the browser: log in, then open a page of another origin on this host (another
    // port is the same "site", so SameSite alone would let the cookie go) that tries to
    // cancel the job with the browser's cookie.
    const evil: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><script>
        const target = ${JSON.stringify(`${server.url}${cancel}`)};
        Promise.allSettled([
          fetch(target, { method: 'POST', credentials: 'include' }),
          fetch(target, { method: 'POST', credentials: 'include', mode: 'no-cors' }),
          fetch(${JSON.stringify(`${server.url}/v1/jobs`)}, { credentials: 'include' }),
        ]).then((r) => { document.title = 'done ' + r.map((x) => x.status).join(','); });
      </script>
      <form id="f" method="POST" action="${server.url}${cancel}"></form>`);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    try {
      const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
      const p = await page();
      await p.goto(`${server.url}/?token=${encodeURIComponent(TOKEN)}`);
      await expect.poll(() => p.locator(`tr[data-job="${job}"]`).count()).toBe(1);
      const runboxAnswers: number[] = [];
      p.on('response', (r) => {
        if (r.url().startsWith(server.url)) runboxAnswers.push(r.status());
      });
      await p.goto(evilUrl);
      await expect.poll(() => p.title()).toMatch(/^done /);
      // And a plain form POST, the classic CSRF.
      await p.evaluate("document.getElementById('f').submit()");
      await p.waitForLoadState();
      await expect.poll(() => runboxAnswers.includes(403)).toBe(true);
      expect(runboxAnswers.every((s) => s === 403)).toBe(true);
      expect((await http(server.url, `/v1/jobs/${job}`, { token: TOKEN })).json.status).toBe(
        'queued',
      );
      await p.context().close();
    } finally {
      await new Promise((r) => evil.close(r));
    }
  });

  // Seen: a link to the dashboard on another site (a job's address pasted in a chat, an
  // issue, a wiki) answered 403 JSON: the Sec-Fetch-Site rule refused the page itself.
  it('opens from a link on another site; a frame of it is still refused', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, {
      limits: { minFreeBytes: 1 },
      token: TOKEN,
    });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const job = (await http(server.url, '/v1/jobs', { body: SLEEPING_JOB, token: TOKEN })).json
      .id as string;
    // 127.0.0.2 is another site than 127.0.0.1 (and than its other ports).
    const other: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(
        `<!doctype html><a id="go" href="${server.url}/#/jobs/${job}">job</a>` +
          `<iframe src="${server.url}/"></iframe>`,
      );
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.2', r));
    try {
      const p = await page();
      await p.goto(`${server.url}/?token=${encodeURIComponent(TOKEN)}`);
      await expect.poll(() => p.locator(`tr[data-job="${job}"]`).count()).toBe(1);
      const answers: Array<[string, number]> = [];
      p.on('response', (r) => {
        if (r.url().startsWith(server.url)) answers.push([r.url(), r.status()]);
      });
      await p.goto(`http://127.0.0.2:${(other.address() as AddressInfo).port}/`);
      await expect.poll(() => answers.length).toBe(1);
      // A frame of the page is still refused.
      expect(answers).toEqual([[`${server.url}/`, 403]]);
      await p.click('#go');
      await expect.poll(() => p.textContent('#job-id')).toBe(job);
      await expect.poll(() => p.textContent('#job-status')).toBe('queued');
      await p.context().close();
    } finally {
      await new Promise((r) => other.close(r));
    }
  });
});
