import type { FastifyInstance } from 'fastify';
import { CURRENT_CONTRACT } from '../../contract/contract.js';
import { RUNBOX_VERSION } from '../../version.js';

export interface WorkerView {
  id: string;
  host: string;
  pid: number;
  version: string;
  contract_version: string;
  started_at: string;
  last_heartbeat_at: string;
  state: 'alive' | 'dead' | 'stopped';
}

/** What the system routes read; main wires it from the queue, the pool and the engine monitor. */
export interface SystemInfo {
  /** Docker engine state from the last background ping; null before the first. */
  engineUp(): boolean | null;
  /** Runtime images the engine lacks (jobs on them pull first); null before the first check. */
  imagesMissing(): string[] | null;
  workers(): WorkerView[];
  countByStatus(): Record<string, number>;
  finishedByOutcome(): Array<{ status: string; errorType: string | null; count: number }>;
  /** Run durations (seconds) of jobs finished by this process, for the summary metric. */
  durations(): { count: number; sum: number; quantiles: Record<string, number> };
}

function esc(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function registerSystemRoutes(app: FastifyInstance, info: SystemInfo): void {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness and the Docker engine state; 503 when the engine is down' } },
    async (_req, reply) => {
      const engine = info.engineUp();
      const body = {
        status: engine === false ? 'degraded' : 'ok',
        engine: engine === null ? 'unknown' : engine ? 'ok' : 'unavailable',
        version: RUNBOX_VERSION,
        images_missing: info.imagesMissing(),
      };
      return reply.status(engine === false ? 503 : 200).send(body);
    },
  );

  app.get(
    '/v1/contract',
    { schema: { summary: "This server's result contract (name, version, fingerprint, schema)" } },
    async () => CURRENT_CONTRACT,
  );

  app.get(
    '/v1/workers',
    { schema: { summary: 'Registered workers, alive or dead' } },
    async () => ({ workers: info.workers() }),
  );

  app.get('/metrics', { schema: { summary: 'Prometheus text metrics' } }, async (_req, reply) => {
    const lines: string[] = [];
    lines.push('# HELP runbox_jobs Jobs by current status.', '# TYPE runbox_jobs gauge');
    const counts = info.countByStatus();
    for (const status of ['queued', 'running', 'succeeded', 'failed', 'cancelled']) {
      lines.push(`runbox_jobs{status="${status}"} ${counts[status] ?? 0}`);
    }
    lines.push(
      '# HELP runbox_jobs_finished_total Finished jobs by outcome and error type.',
      '# TYPE runbox_jobs_finished_total counter',
    );
    for (const row of info.finishedByOutcome()) {
      lines.push(
        `runbox_jobs_finished_total{outcome="${esc(row.status)}",error_type="${esc(row.errorType ?? '')}"} ${row.count}`,
      );
    }
    const d = info.durations();
    lines.push(
      '# HELP runbox_job_duration_seconds Run time of jobs finished by this process.',
      '# TYPE runbox_job_duration_seconds summary',
    );
    for (const [q, v] of Object.entries(d.quantiles))
      lines.push(`runbox_job_duration_seconds{quantile="${q}"} ${v}`);
    lines.push(
      `runbox_job_duration_seconds_sum ${d.sum}`,
      `runbox_job_duration_seconds_count ${d.count}`,
    );
    const engine = info.engineUp();
    lines.push(
      '# HELP runbox_engine_up Docker engine reachable (1) or not (0).',
      '# TYPE runbox_engine_up gauge',
      `runbox_engine_up ${engine ? 1 : 0}`,
    );
    const workers = info.workers();
    lines.push('# HELP runbox_workers Registered workers by state.', '# TYPE runbox_workers gauge');
    for (const state of ['alive', 'dead'])
      lines.push(
        `runbox_workers{state="${state}"} ${workers.filter((w) => w.state === state).length}`,
      );
    return reply.type('text/plain; version=0.0.4').send(`${lines.join('\n')}\n`);
  });
}
