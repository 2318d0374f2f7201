// Case 4: reads and submits under fixed-rate load from a second process on loopback
// (open loop, latency from each request's scheduled time), plus GET at full speed with
// wrk. Server: `runbox serve --workers 0` holding 1,000 jobs.
//
// Two load generators measure the same thing: bench/lib/rategen.c (C, epoll and a
// timerfd; built here with cc) for the figures, and bench/load.mjs (Node) beside it for
// GET. A generator's own pauses land in the tail it reports: Node's sends wait for its
// timers (1 ms granularity: p50 ~1 ms where the C one reads ~0.2) and its GC, on the
// same 2 cores as the server. Both send WARMUP_SECONDS at the rate first, not counted:
// the server's JIT warms within them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureApt, lastJson, run } from '../lib/proc.mjs';
import { api, startServer } from '../lib/server.mjs';
import { withoutRaw, wrk } from '../lib/wrk.mjs';
import { JOB } from './submit.mjs';

const RATE = 2000;
const CONNECTIONS = 32;
const WARMUP_SECONDS = 3;
const RATEGEN = 'dist/bench/rategen';

function load(options) {
  return run(process.execPath, [
    'bench/load.mjs',
    JSON.stringify({ connections: CONNECTIONS, warmupSeconds: WARMUP_SECONDS, ...options }),
  ]).then((r) => lastJson(r.stdout));
}

/** The same load as load(), from bench/lib/rategen.c. */
async function rategen({ url, paths, method = 'GET', body, rate, seconds }) {
  const dir = mkdtempSync(join(tmpdir(), 'runbox-bench-rategen-'));
  try {
    writeFileSync(join(dir, 'paths'), `${paths.join('\n')}\n`);
    if (body) writeFileSync(join(dir, 'body'), body);
    const { hostname, port } = new URL(url);
    const args = [hostname, port, rate, seconds, WARMUP_SECONDS, CONNECTIONS, method];
    args.push(join(dir, 'paths'), ...(body ? [join(dir, 'body')] : []));
    const r = await run(RATEGEN, args.map(String));
    return lastJson(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function apiCase(ctx) {
  const { log, runs, figure } = ctx;
  if (!(await ensureApt('wrk', ['wrk'], log)))
    throw new Error('wrk is missing and apt could not install it');
  if (!(await ensureApt('cc', ['gcc', 'libc6-dev'], log)))
    throw new Error('cc is missing and apt could not install it');
  mkdirSync('dist/bench', { recursive: true });
  await run('cc', ['-O2', '-o', RATEGEN, 'bench/lib/rategen.c', '-lm']);
  const res = { getMax: [], get: [], getNode: [], post: [] };
  for (let i = 1; i <= runs; i++) {
    const server = await startServer({ workers: 0 });
    try {
      const ids = [];
      for (let b = 0; b < 10; b++) {
        const { jobs } = await api(server.url, '/v1/jobs/batch', {
          method: 'POST',
          body: { jobs: Array.from({ length: 100 }, () => JOB) },
        });
        ids.push(...jobs.map((j) => j.id));
      }
      const paths = ids.map((id) => `/v1/jobs/${id}`);
      log(`api run ${i}/${runs}: GET /v1/jobs/:id at ${RATE}/s for ${ctx.seconds} s (rategen)`);
      res.get.push(await rategen({ url: server.url, paths, rate: RATE, seconds: ctx.seconds }));
      log(`api run ${i}/${runs}: the same from bench/load.mjs (Node)`);
      res.getNode.push(await load({ url: server.url, paths, rate: RATE, seconds: ctx.seconds }));
      log(`api run ${i}/${runs}: POST /v1/jobs at ${RATE}/s (rategen)`);
      res.post.push(
        await rategen({
          url: server.url,
          paths: ['/v1/jobs'],
          method: 'POST',
          body: JSON.stringify(JOB),
          rate: RATE,
          seconds: ctx.seconds,
        }),
      );
      log(`api run ${i}/${runs}: GET /v1/jobs/:id at full speed (wrk, 64 connections)`);
      res.getMax.push(
        await wrk({ url: `${server.url}${paths[500]}`, connections: 64, seconds: ctx.seconds }),
      );
    } finally {
      await server.stop();
    }
  }
  for (const r of [...res.get, ...res.getNode, ...res.post]) {
    const bad =
      r.errors +
      Object.entries(r.statuses)
        .filter(([s]) => !/^2/.test(s))
        .reduce((n, [, c]) => n + c, 0);
    if (bad > 0) throw new Error(`requests failed: ${JSON.stringify(r)}`);
  }
  figure({
    name: `api: GET /v1/jobs/:id p99 at ${RATE} req/s`,
    unit: 'ms',
    values: res.get.map((r) => r.p99_ms),
    target: '< 5',
    met: (m) => m < 5,
    settings: `bench/lib/rategen.c, ${CONNECTIONS} keep-alive connections, ${WARMUP_SECONDS} s warm-up at the rate`,
    detail: 'open loop from a second process (C, timerfd), latency from scheduled send time',
  });
  figure({
    name: `api: GET /v1/jobs/:id p99 at ${RATE} req/s, Node load generator`,
    unit: 'ms',
    values: res.getNode.map((r) => r.p99_ms),
    settings: `bench/load.mjs on the bench's Node, ${CONNECTIONS} keep-alive connections, ${WARMUP_SECONDS} s warm-up at the rate`,
    detail: 'the same load and server, right after the rategen run',
  });
  figure({
    name: `api: GET /v1/jobs/:id p50 at ${RATE} req/s, Node load generator`,
    unit: 'ms',
    values: res.getNode.map((r) => r.p50_ms),
  });
  figure({
    name: `api: GET /v1/jobs/:id p50 at ${RATE} req/s`,
    unit: 'ms',
    values: res.get.map((r) => r.p50_ms),
  });
  figure({
    name: `api: GET achieved rate`,
    unit: 'req/s',
    values: res.get.map((r) => r.achieved_rps),
  });
  figure({
    name: `api: POST /v1/jobs p99 at ${RATE} req/s`,
    unit: 'ms',
    values: res.post.map((r) => r.p99_ms),
    detail: 'each answered after its commit',
  });
  figure({
    name: `api: POST /v1/jobs p50 at ${RATE} req/s`,
    unit: 'ms',
    values: res.post.map((r) => r.p50_ms),
  });
  figure({
    name: 'api: GET /v1/jobs/:id max req/s',
    unit: 'req/s',
    values: res.getMax.map((r) => r.rps),
    detail: 'wrk -t1 -c64',
  });
  figure({
    name: 'api: GET /v1/jobs/:id p99 at max rate',
    unit: 'ms',
    values: res.getMax.map((r) => r.p99_ms),
  });
  ctx.raw.api = {
    get: res.get,
    getNode: res.getNode,
    post: res.post,
    getMax: res.getMax.map((r) => withoutRaw(r)),
  };
}
