// Case 1b: durable submits through the HTTP API, from a second process (wrk, one
// thread) at high concurrency, against `runbox serve --workers 0`: no worker pool, so
// Docker is not in the path. A 201 means the job's commit has returned (synchronous=FULL);
// concurrent submits share commits through the queue's commit batcher.
import { withoutRaw, wrk } from '../lib/wrk.mjs';
import { ensureApt } from '../lib/proc.mjs';
import { SHELL_IMAGE, startServer } from '../lib/server.mjs';

export const JOB = { image: SHELL_IMAGE, command: ['true'] };
const BATCH = 100;

export async function submitCase(ctx) {
  const { log, runs, figure } = ctx;
  if (!(await ensureApt('wrk', ['wrk'], log)))
    throw new Error('wrk is missing and apt could not install it');
  const single = [];
  const batch = [];
  const body = JSON.stringify(JOB);
  const batchBody = JSON.stringify({ jobs: Array.from({ length: BATCH }, () => JOB) });
  for (let i = 1; i <= runs; i++) {
    const server = await startServer({ workers: 0 });
    try {
      await wrk({ url: `${server.url}/v1/jobs`, body, connections: 128, seconds: 2 });
      log(`submit run ${i}/${runs}: POST /v1/jobs, 128 connections, ${ctx.seconds} s`);
      single.push(
        await wrk({ url: `${server.url}/v1/jobs`, body, connections: 128, seconds: ctx.seconds }),
      );
      log(`submit run ${i}/${runs}: POST /v1/jobs/batch (${BATCH} jobs each), 16 connections`);
      batch.push(
        await wrk({
          url: `${server.url}/v1/jobs/batch`,
          body: batchBody,
          connections: 16,
          seconds: ctx.seconds,
        }),
      );
    } finally {
      await server.stop();
    }
  }
  for (const r of [...single, ...batch]) {
    if (r.non2xx > 0 || r.errors)
      throw new Error(`submits failed: ${r.non2xx} non-2xx, ${r.errors}\n${r.raw}`);
  }
  figure({
    name: 'submit: POST /v1/jobs, acknowledged jobs/s',
    unit: 'jobs/s',
    values: single.map((r) => r.rps),
    target: '>= 10,000',
    met: (m) => m >= 10_000,
    detail:
      'wrk -t1 -c128, one job per request, each answered after its commit (synchronous=FULL); server --workers 0',
  });
  figure({
    name: 'submit: POST /v1/jobs p99 at 128 connections',
    unit: 'ms',
    values: single.map((r) => r.p99_ms),
  });
  figure({
    name: `submit: POST /v1/jobs/batch, acknowledged jobs/s`,
    unit: 'jobs/s',
    values: batch.map((r) => r.rps * BATCH),
    target: '> single POSTs',
    met: (m) => m > Math.max(...single.map((r) => r.rps)),
    detail: `wrk -t1 -c16, ${BATCH} jobs per request`,
  });
  figure({
    name: 'submit: POST /v1/jobs/batch p99',
    unit: 'ms',
    values: batch.map((r) => r.p99_ms),
  });
  ctx.raw.submit = {
    single: single.map((r) => withoutRaw(r)),
    batch: batch.map((r) => withoutRaw(r)),
  };
}
