import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Middleware } from 'openapi-fetch';
import {
  getMetricsFromIterator,
  type PromData,
  type PromHistogramData,
  type PromMetric,
} from 'prom2javascript';
import { describe, expect, it } from 'vitest';
import {
  createRunboxClient,
  RunboxApiError,
  type RunboxClient,
} from '../../clients/typescript/src/index.js';
import { CLIENT_DIR, committedForm, type OpenApiDocument } from '../helpers/openapi.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import {
  RUNBOX_FULL_BUNDLE,
  startServerProcess,
  writeTestConfig,
} from '../helpers/serverProcess.js';

/**
 * The published TypeScript client (types generated from the OpenAPI document, calls
 * through openapi-fetch) against a real `runbox serve` with a token: it submits, waits,
 * reads logs and outputs, lists and cancels, and every answer is checked by ajv against
 * the schema the document gives for its path, method and status.
 */

const TOKEN = 'client-test-token-5d2c9a71e0';
const SECRET = 'sup3r-secret-value-7781';

function pointer(...parts: string[]): string {
  return parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

/** An openapi-fetch middleware that checks each answer against the document. */
function documentChecker(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ ...doc, $id: 'runbox:openapi' });
  const validators = new Map<string, ValidateFunction>();
  const failures: string[] = [];
  const checked = new Set<string>();
  const middleware: Middleware = {
    async onResponse({ request, response, schemaPath }) {
      const method = request.method.toLowerCase();
      const status = String(response.status);
      const where = `${method.toUpperCase()} ${schemaPath} ${status}`;
      const operation = doc.paths[schemaPath]?.[method] as
        | { operationId: string; responses: Record<string, { content?: Record<string, unknown> }> }
        | undefined;
      const documented = operation?.responses[status];
      if (!operation || !documented) {
        failures.push(`${where}: not in the document`);
        return undefined;
      }
      checked.add(`${operation.operationId} ${status}`);
      const type = response.headers.get('content-type') ?? '';
      const body = Buffer.from(await response.clone().arrayBuffer());
      if (!documented.content) {
        if (body.length > 0) failures.push(`${where}: a body where none is documented`);
        return undefined;
      }
      const [mediaType] = Object.keys(documented.content);
      if (mediaType !== 'application/json') {
        // A documented type without parameters covers the answer's parameters (text/plain
        // covers a stored UTF-8 log's text/plain; charset=utf-8), as OpenAPI reads keys.
        const matches = mediaType!.includes(';')
          ? type === mediaType
          : type.split(';')[0] === mediaType;
        if (!matches) failures.push(`${where}: content-type ${type}, not ${mediaType}`);
        return undefined;
      }
      if (!type.startsWith('application/json')) {
        failures.push(`${where}: content-type ${type}, not JSON`);
        return undefined;
      }
      const ref = `runbox:openapi#/${pointer('paths', schemaPath, method, 'responses', status, 'content', mediaType)}/schema`;
      let validate = validators.get(ref);
      if (!validate) validators.set(ref, (validate = ajv.compile({ $ref: ref })));
      if (!validate(JSON.parse(body.toString('utf8'))))
        failures.push(`${where}: ${ajv.errorsText(validate.errors)}`);
      return undefined;
    },
  };
  return { middleware, failures, checked };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function expectApiError(promise: Promise<unknown>, status: number, type: string) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunboxApiError);
  expect((error as RunboxApiError).status).toBe(status);
  expect((error as RunboxApiError).type).toBe(type);
  expect((error as RunboxApiError).body!.error.request_id.length).toBeGreaterThan(0);
}

const SCRIPT = [
  // Multi-byte UTF-8 on stdout, a line on stderr.
  "printf 'h\\303\\251llo \\342\\234\\223\\n'",
  "printf 'warn\\n' >&2",
  'mkdir -p "$RUNBOX_OUTPUTS/sub dir"',
  // A file name with a space and a non-ASCII letter (the script itself is UTF-8).
  'printf \'na\u00efve data\' > "$RUNBOX_OUTPUTS/sub dir/na\u00efve file.txt"',
  'head -c 100000 /dev/urandom > "$RUNBOX_OUTPUTS/random.bin"',
  ': > "$RUNBOX_OUTPUTS/empty.txt"',
].join('\n');

describe('the generated client against runbox serve', () => {
  const sandbox = useProcessSandbox('client');

  it('submits, waits, reads logs and outputs, lists and cancels, every answer as documented', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, {
      token: TOKEN,
      retry: { baseMs: 200, capMs: 1000 },
    });
    const server = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile,
      workers: 2,
    });
    sandbox.processes.push(server);

    const served = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument;
    // The published client's types came from exactly this document.
    expect(committedForm(served)).toBe(readFileSync(join(CLIENT_DIR, 'openapi.json'), 'utf8'));
    expect(served.servers).toEqual([{ url: server.url, description: 'this server' }]);

    const checker = documentChecker(served);
    const client: RunboxClient = createRunboxClient({ baseUrl: server.url, token: TOKEN });
    client.api.use(checker.middleware);
    const anonymous = createRunboxClient({ baseUrl: server.url });
    anonymous.api.use(checker.middleware);

    const request = {
      runtime: 'shell',
      script: { path: 'job.sh', content: SCRIPT },
      env: { SECRET },
      secret_env: ['SECRET'],
      idempotency_key: 'client-test-1',
    };
    const first = await client.api.POST('/v1/jobs', { body: request });
    expect(first.response.status).toBe(201);
    const id = first.data!.id;
    expect(first.response.headers.get('location')).toBe(`/v1/jobs/${id}`);
    const again = await client.api.POST('/v1/jobs', { body: request });
    expect(again.response.status).toBe(200);
    expect(again.data!.id).toBe(id);

    // Fails once, is retried, fails for good: the lifecycle lines say so.
    const retrying = await client.submit({
      runtime: 'shell',
      command: ['sh', '-c', 'exit 3'],
      max_attempts: 2,
      retry_on_exit_codes: [3],
    });

    const done = await client.wait(id, 90);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.spec.env).toEqual({ SECRET: '[secret]' });
    expect(await client.logs(id)).toBe('h\u00e9llo \u2713\n');
    expect(await client.logs(id, 'stderr')).toBe('warn\n');
    // The node-to-node live log: an attempt that no longer runs has no live bytes here
    // (the stored log is getJobLogs'), and an unknown job is 404.
    const live = await client.api.GET('/v1/jobs/{id}/attempts/{attempt}/live-log', {
      params: { path: { id, attempt: 1 }, query: { stream: 'stdout', from: 0, follow: true } },
      parseAs: 'text',
    });
    expect(live.response.status).toBe(200);
    expect(live.data ?? '').toBe(''); // openapi-fetch gives no data for an empty body
    const unknown = await client.api.GET('/v1/jobs/{id}/attempts/{attempt}/live-log', {
      params: { path: { id: 'nope', attempt: 1 } },
      parseAs: 'text',
    });
    expect(unknown.response.status).toBe(404);

    const manifest = await client.outputs(id);
    const byPath = new Map(manifest.outputs.map((o) => [o.path, o]));
    expect([...byPath.keys()].sort()).toEqual([
      'empty.txt',
      'random.bin',
      'sub dir/na\u00efve file.txt',
    ]);
    const naive = await client.outputFile(id, 'sub dir/na\u00efve file.txt');
    expect(Buffer.from(naive).toString('utf8')).toBe('na\u00efve data');
    const random = await client.outputFile(id, 'random.bin');
    expect(random.length).toBe(100_000);
    const sha = createHash('sha256').update(random).digest('hex');
    expect(sha).toBe(byPath.get('random.bin')!.sha256);
    expect((await client.outputFile(id, 'empty.txt')).length).toBe(0);

    // Conditional and partial reads, through the typed client's raw calls.
    const file = (params: Record<string, string>, cacheControl = 'max-age=0') =>
      client.api.GET('/v1/jobs/{id}/outputs/{path}', {
        params: { path: { id, path: 'random.bin' }, header: params },
        // fetch adds "Cache-Control: no-cache" to a conditional request unless told
        // otherwise, and a no-cache request must get the full answer (fresh honours it).
        headers: { 'cache-control': cacheControl },
        parseAs: 'arrayBuffer',
      });
    for (const inm of [`"${sha}"`, `W/"${sha}"`, `"other", "${sha}"`, '*'])
      expect((await file({ 'if-none-match': inm })).response.status, inm).toBe(304);
    expect((await file({ 'if-none-match': '"other"' })).response.status).toBe(200);
    expect((await file({ 'if-none-match': `"${sha}"` }, 'no-cache')).response.status).toBe(200);
    const part = await file({ range: 'bytes=10-19' });
    expect(part.response.status).toBe(206);
    expect(part.response.headers.get('content-range')).toBe('bytes 10-19/100000');
    expect(Buffer.from(part.data!).equals(Buffer.from(random.subarray(10, 20)))).toBe(true);
    for (const range of ['bytes=0-1,5-6', 'bytes=100000-'])
      expect((await file({ range })).response.status, range).toBe(416);
    // A unit runbox does not know is ignored (RFC 9110 14.2): the whole file.
    const unknownUnit = await file({ range: 'items=0-1' });
    expect(unknownUnit.response.status).toBe(200);
    expect(Buffer.from(unknownUnit.data!).equals(random)).toBe(true);
    const archive = await client.api.GET('/v1/jobs/{id}/outputs.tar.zst', {
      params: { path: { id } },
      parseAs: 'arrayBuffer',
    });
    expect(archive.response.status).toBe(200);

    const batch = await client.api.POST('/v1/jobs/batch', {
      body: { jobs: [{ runtime: 'shell', command: ['true'] }, { image: 'runbox-test/shell' }] },
    });
    expect(batch.response.status, JSON.stringify(batch.error)).toBe(400); // jobs.1 has no command
    expect(batch.error!.error.field).toBe('jobs.1.command');
    const stored = await client.api.POST('/v1/jobs/batch', {
      body: { jobs: [{ runtime: 'shell', command: ['true'] }] },
    });
    expect(stored.response.status).toBe(201);
    expect(stored.data!.jobs[0]!.created).toBe(true);

    const listed = await client.list({ status: 'succeeded', limit: 10 });
    expect(listed.jobs.map((j) => j.id)).toContain(id);
    await expectApiError(client.cancel(id), 409, 'Conflict');

    // A running job is cancelled: its container is killed, the job ends cancelled.
    const sleeper = await client.submit({ runtime: 'shell', command: ['sleep', '60'] });
    await until('the sleeper to run', async () =>
      (await client.get(sleeper.id)).status === 'running' ? true : undefined,
    );
    expect((await client.cancel(sleeper.id)).id).toBe(sleeper.id);
    expect((await client.wait(sleeper.id, 60)).status).toBe('cancelled');
    const queuedLater = await client.submit({
      runtime: 'shell',
      command: ['true'],
      run_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect((await client.cancel(queuedLater.id)).status).toBe('cancelled');

    await expectApiError(client.get('01ZZZZZZZZZZZZZZZZZZZZZZZZ'), 404, 'NotFound');
    await expectApiError(client.submit({ runtime: 'shell' }), 400, 'InvalidSpec');
    await expectApiError(anonymous.list(), 401, 'Unauthorized');
    await expectApiError(client.outputFile(id, 'no such file'), 404, 'NotFound');

    const workers = await client.api.GET('/v1/workers');
    expect(workers.data!.workers.some((w) => w.state === 'alive')).toBe(true);
    // The server's pool serves the default queue: one live worker with its slots.
    const queues = (await client.api.GET('/v1/queues')).data!.queues;
    expect(queues.find((q) => q.name === 'default')).toMatchObject({ workers: 1 });
    expect(queues.find((q) => q.name === 'default')!.slots).toBeGreaterThan(0);
    // Each worker names the queues it serves with its slots, as /v1/queues counts them.
    const alive = workers.data!.workers.filter((w) => w.state === 'alive');
    expect(alive.map((w) => w.queues)).toEqual([
      { default: queues.find((q) => q.name === 'default')!.slots },
    ]);
    const runtimes = (await client.api.GET('/v1/runtimes')).data!.runtimes;
    expect(runtimes.find((r) => r.name === 'shell')).toMatchObject({ present: true });
    expect((await client.api.GET('/v1/contract')).data!.version).toMatch(/^\d+\.\d+\.\d+$/);
    // Webhook history (this job named none) and the schedule routes, each answer checked.
    // The brief read: the same job, its (absent) input files listed, answer typed ListedJob.
    const brief = await client.api.GET('/v1/jobs/{id}/brief', { params: { path: { id } } });
    expect(brief.data!.id).toBe(id);
    expect(brief.data!.status).toBe('succeeded');
    const hooks = await client.api.GET('/v1/jobs/{id}/webhooks', { params: { path: { id } } });
    expect(hooks.data!.deliveries).toEqual([]);
    const byName = { params: { path: { name: 'nightly' } } };
    const added = await client.api.POST('/v1/schedules', {
      body: {
        name: 'nightly',
        cron: '0 3 * * *',
        timezone: 'Europe/Paris',
        job: { runtime: 'shell', command: ['true'], env: { SECRET }, secret_env: ['SECRET'] },
      },
    });
    expect(added.response.status).toBe(201);
    expect(JSON.stringify(added.data)).not.toContain(SECRET);
    expect((await client.api.GET('/v1/schedules')).data!.schedules).toHaveLength(1);
    expect((await client.api.GET('/v1/schedules/{name}', byName)).data!.catch_up).toBe('skip');
    expect((await client.api.POST('/v1/schedules/{name}/pause', byName)).data!.paused).toBe(true);
    expect((await client.api.POST('/v1/schedules/{name}/resume', byName)).data!.paused).toBe(false);
    expect((await client.api.DELETE('/v1/schedules/{name}', byName)).data!.name).toBe('nightly');
    expect((await anonymous.api.GET('/healthz')).data!.status).toBe('ok');
    const retried = await client.wait(retrying.id, 90);
    expect(retried).toMatchObject({ status: 'failed', attempts: 2 });
    const metrics = await client.api.GET('/metrics', { parseAs: 'text' });
    expect(metrics.data).toContain('runbox_build_info');
    expect(metrics.data).toMatch(/^runbox_job_retries_total\{error_type="NonZeroExit",[^}]*\} 1$/m);
    const docs = await anonymous.api.GET('/docs', { parseAs: 'text' });
    expect(docs.data).toContain('docs/swagger-ui-bundle.js');
    const bundle = await fetch(`${server.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(1_000_000);
    await anonymous.api.GET('/openapi.json');
    // The bundle reads Swagger UI from node_modules when /docs is first asked for: its
    // 2 MB are not string literals that every command (a client `submit` too) would load.
    // The single binary carries them as SEA assets (scripts/smoke-binary checks /docs).
    const built = readFileSync(RUNBOX_FULL_BUNDLE, 'utf8');
    expect(built).not.toContain('webpackUniversalModuleDefinition');
    expect(built).toContain('swagger-ui-dist/package.json');

    // The dashboard's routes: its page (open), its chart's data, its login and logout.
    const dashboard = await anonymous.api.GET('/', { parseAs: 'text' });
    expect(dashboard.data).toContain('dashboard/app.js');
    const activity = await client.api.GET('/v1/activity');
    expect(activity.data!.buckets).toHaveLength(60);
    expect(activity.data!.buckets.reduce((n, b) => n + b.submitted, 0)).toBeGreaterThan(0);
    const refused = await anonymous.api.POST('/v1/session', { body: { token: 'wrong' } });
    expect(refused.response.status).toBe(401);
    const session = await anonymous.api.POST('/v1/session', { body: { token: TOKEN } });
    expect(session.response.status).toBe(204);
    expect(session.response.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Strict/);
    const ended = await anonymous.api.DELETE('/v1/session');
    expect(ended.response.status).toBe(204);
    expect(built).toContain('runbox-error'); // the dashboard's script is in the bundle too

    expect(checker.failures).toEqual([]);
    // Every operation was answered at least once, and checked.
    const operations = new Set([...checker.checked].map((c) => c.split(' ')[0]));
    const documented = Object.values(served.paths).flatMap((item) =>
      Object.values(item).map((op) => (op as { operationId: string }).operationId),
    );
    expect([...operations].sort()).toEqual([...new Set(documented)].sort());

    // The server said what it did: request lines, job lifecycle lines, and no secrets.
    const stderr = server.stderr();
    expect(stderr).not.toContain(TOKEN);
    expect(stderr).not.toContain(SECRET);
    const lines = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const cancelLine = lines.find((l) => l.msg === 'request' && l.route === '/v1/jobs/:id/cancel');
    expect(cancelLine).toMatchObject({ level: 'info', method: 'POST' });
    expect(typeof cancelLine!.request_id).toBe('string');
    const about = (job: string) => lines.filter((l) => l.job === job).map((l) => l.msg);
    expect(about(id)).toEqual(['job queued', 'job started', 'job finished']);
    expect(lines.find((l) => l.job === id && l.msg === 'job finished')).toMatchObject({
      outcome: 'succeeded',
      error_type: null,
      exit_code: 0,
      output_bytes: 100_000 + Buffer.byteLength('na\u00efve data'),
    });
    expect(about(sleeper.id)).toEqual([
      'job queued',
      'job started',
      'job cancel requested',
      'job finished',
    ]);
    expect(about(queuedLater.id)).toEqual(['job queued', 'job cancelled']);
    expect(about(retrying.id)).toEqual([
      'job queued',
      'job started',
      'job retried',
      'job started',
      'job finished',
    ]);
    expect(lines.filter((l) => l.job === retrying.id && l.msg === 'job finished')[0]).toMatchObject(
      { outcome: 'failed', error_type: 'NonZeroExit', exit_code: 3, attempt: 2 },
    );
  });

  it('counts per process with prom-client, summable over serve and worker; counters never go down when retention deletes jobs', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, {
      jobRetentionMs: 2_000,
      sweepIntervalMs: 500,
    });
    const server = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile,
      workers: 1,
      extraArgs: ['--log-level', 'warn'],
    });
    sandbox.processes.push(server);
    const worker = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile,
      command: 'worker',
      workers: 1,
      extraArgs: ['--metrics-port', '0', '--log-level', 'warn'],
    });
    sandbox.processes.push(worker);
    const workerMetrics = /worker metrics on (http:\/\/[^\s"]+)/.exec(worker.stderr())![1]!;
    const client = createRunboxClient({ baseUrl: server.url });
    // Long enough that both processes' slots are busy at once and both take jobs.
    const jobs = await Promise.all(
      [
        ['sleep', '1'],
        ['sleep', '1'],
        ['sh', '-c', 'sleep 1; exit 3'],
      ].map((command) => client.submit({ runtime: 'shell', command }, { seconds: 60 })),
    );
    expect(jobs.map((j) => j.status)).toEqual(['succeeded', 'succeeded', 'failed']);

    const parse = (text: string) => getMetricsFromIterator(text.split('\n')[Symbol.iterator]());
    const scrape = async () => {
      // prom-client's event-loop lag mean is NaN (written "Nan", which this parser
      // rejects) until its monitor has sampled since the last scrape: leave it time to.
      await new Promise((r) => setTimeout(r, 100));
      return parse((await client.api.GET('/metrics', { parseAs: 'text' })).data!);
    };
    const scrapeWorker = async () => {
      await new Promise((r) => setTimeout(r, 100));
      return parse(await (await fetch(workerMetrics)).text());
    };
    const value = (metric: PromMetric | undefined, labels: Record<string, string>) =>
      (metric?.data as PromData[] | undefined)?.find((d) =>
        Object.entries(labels).every(([k, v]) => d.labels[k] === v),
      )?.value;

    const before = await scrape();
    const fromWorker = await scrapeWorker();
    // Summed over both processes, as Prometheus would: sum without (process, worker_id).
    const sum = (name: string, labels: Record<string, string>) =>
      [before, fromWorker].reduce(
        (total, families) => total + (value(families[name], labels) ?? 0),
        0,
      );
    expect(before.runbox_jobs_finished_total!.type).toBe('counter');
    expect(sum('runbox_jobs_finished_total', { outcome: 'succeeded', error_type: '' })).toBe(2);
    expect(
      sum('runbox_jobs_finished_total', { outcome: 'failed', error_type: 'NonZeroExit' }),
    ).toBe(1);
    expect(value(fromWorker.runbox_jobs_finished_total, {})).toBeGreaterThan(0);
    for (const name of [
      'runbox_job_queue_wait_seconds',
      'runbox_job_run_seconds',
      'runbox_job_output_bytes',
    ]) {
      let total = 0;
      for (const families of [before, fromWorker]) {
        const family = families[name]!;
        expect(family.type, name).toBe('histogram');
        for (const d of family.data as PromHistogramData[]) {
          expect(d.buckets['+Inf'], name).toBe(d.count);
          total += d.count;
        }
      }
      expect(total, name).toBe(3);
    }
    const build = (before.runbox_build_info!.data as PromData[])[0]!;
    expect(build.value).toBe(1);
    expect(build.labels).toMatchObject({ process: 'serve' });
    expect(build.labels.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(build.labels.contract_fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(before.process_cpu_user_seconds_total?.type).toBe('counter');
    expect(before.nodejs_eventloop_lag_seconds?.type).toBe('gauge');
    // Every series names its process and its pool's worker id (as GET /v1/workers lists
    // it), so several processes' figures can be summed, and joined with the workers.
    const workerIds = new Map(
      (await client.api.GET('/v1/workers')).data!.workers.map((w) => [w.pid, w.id]),
    );
    for (const [families, process, pid] of [
      [before, 'serve', server.child.pid],
      [fromWorker, 'worker', worker.child.pid],
    ] as const)
      for (const [name, family] of Object.entries(families))
        for (const d of family.data) {
          expect(d.labels.process, name).toBe(process);
          expect(d.labels.worker_id, name).toBe(workerIds.get(pid!));
        }
    expect(fromWorker.runbox_jobs).toBeUndefined(); // database-wide gauges: from serve only
    // The engine as this process last saw it: a worker runs containers too.
    expect(value(fromWorker.runbox_engine_up, {})).toBe(1);
    expect(value(before.runbox_engine_up, {})).toBe(1);

    // Retention removes the finished jobs; the gauge follows, the counter does not.
    await until('retention to delete the jobs', async () => {
      const now = await scrape();
      return value(now.runbox_jobs, { status: 'succeeded' }) === 0 ? true : undefined;
    });
    const after = await scrape();
    expect(value(after.runbox_jobs_finished_total, { outcome: 'succeeded', error_type: '' })).toBe(
      value(before.runbox_jobs_finished_total, { outcome: 'succeeded', error_type: '' }),
    );

    // A job an hour ahead is queued, but no backlog: runbox_jobs_due and
    // runbox_jobs_scheduled split it as GET /v1/queues does, queued keeping its meaning.
    const later = await client.api.POST('/v1/jobs', {
      body: {
        runtime: 'shell',
        command: ['true'],
        run_at: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    expect(later.response.status).toBe(201);
    const scheduled = await scrape();
    expect(value(scheduled.runbox_jobs, { status: 'queued' })).toBe(1);
    expect(scheduled.runbox_jobs_due!.type).toBe('gauge');
    expect(value(scheduled.runbox_jobs_due, { queue: 'default' })).toBe(0);
    expect(value(scheduled.runbox_jobs_scheduled, { queue: 'default' })).toBe(1);
    const queues = (await client.api.GET('/v1/queues')).data!.queues;
    expect(queues.find((q) => q.name === 'default')).toMatchObject({
      queued: 1,
      due: 0,
      scheduled: 1,
    });
    expect(fromWorker.runbox_jobs_scheduled).toBeUndefined();

    // --log-level warn: no request or job lines, only the lifecycle lines (listening,
    // running, draining) written at every level; and every line is JSON.
    for (const stderr of [server.stderr(), worker.stderr()]) {
      const lines = stderr.split('\n').filter((line) => line !== '');
      const parsed = lines.map((line) => JSON.parse(line) as { level: string; event?: string });
      expect(parsed.filter((line) => line.level === 'info' && line.event === undefined)).toEqual(
        [],
      );
      expect(parsed.some((line) => line.event === 'listening' || line.event === 'running')).toBe(
        true,
      );
    }
  });
});
