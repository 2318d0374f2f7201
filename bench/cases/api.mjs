// Case 4: reads and submits under fixed-rate load from a second process on loopback
// (bench/load.mjs: open loop, latency from each request's scheduled time), plus GET at
// full speed with wrk. Server: `runbox serve --workers 0` holding 1,000 jobs.
import { ensureApt, lastJson, run } from '../lib/proc.mjs';
import { api, startServer } from '../lib/server.mjs';
import { withoutRaw, wrk } from '../lib/wrk.mjs';
import { JOB } from './submit.mjs';

const RATE = 2000;

function load(options) {
  return run(process.execPath, ['bench/load.mjs', JSON.stringify(options)]).then((r) =>
    lastJson(r.stdout),
  );
}

export async function apiCase(ctx) {
  const { log, runs, figure } = ctx;
  if (!(await ensureApt('wrk', ['wrk'], log)))
    throw new Error('wrk is missing and apt could not install it');
  const res = { getMax: [], get: [], post: [] };
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
      log(`api run ${i}/${runs}: GET /v1/jobs/:id at ${RATE}/s for ${ctx.seconds} s`);
      res.get.push(await load({ url: server.url, paths, rate: RATE, seconds: ctx.seconds }));
      log(`api run ${i}/${runs}: POST /v1/jobs at ${RATE}/s`);
      res.post.push(
        await load({
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
  for (const r of [...res.get, ...res.post]) {
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
    detail:
      'open loop from a second process, 32 keep-alive connections, latency from scheduled send time',
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
  ctx.raw.api = { get: res.get, post: res.post, getMax: res.getMax.map((r) => withoutRaw(r)) };
}
