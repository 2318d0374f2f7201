import { describe, expect, it } from 'vitest';
import { api } from '../helpers/queueProbe.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { runCliProcess, startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

interface Page {
  schedules: Array<{ name: string }>;
  next_cursor: string | null;
}

/**
 * GET /v1/schedules pages like GET /v1/jobs (limit, cursor, next_cursor), and
 * `runbox schedule ls` still lists every schedule when there are more than one page
 * of the largest limit (1,000).
 */
describe('schedule lists in pages', () => {
  const sandbox = useProcessSandbox('sched-pages');

  it('pages GET /v1/schedules by cursor and ls lists all 1,001', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 0 } });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const names = Array.from({ length: 1001 }, (_, i) => `s${String(i).padStart(4, '0')}`);
    for (const name of names) {
      const added = await api(server.url, 'POST', '/v1/schedules', {
        name,
        cron: '0 0 1 1 *',
        job: { runtime: 'shell', command: ['true'] },
      });
      expect(added.status).toBe(201);
    }

    const first = await api<Page>(server.url, 'GET', '/v1/schedules?limit=2');
    expect(first.body.schedules.map((s) => s.name)).toEqual(['s0000', 's0001']);
    expect(first.body.next_cursor).toBe('s0001');
    const second = await api<Page>(server.url, 'GET', '/v1/schedules?limit=2&cursor=s0001');
    expect(second.body.schedules.map((s) => s.name)).toEqual(['s0002', 's0003']);
    const last = await api<Page>(server.url, 'GET', '/v1/schedules?cursor=s0900');
    expect(last.body.schedules).toHaveLength(100);
    expect(last.body.next_cursor).toBeNull();
    const byDefault = await api<Page>(server.url, 'GET', '/v1/schedules');
    expect(byDefault.body.schedules).toHaveLength(100);
    expect(byDefault.body.next_cursor).toBe('s0099');
    const bad = await api<{ error: { field: string } }>(
      server.url,
      'GET',
      '/v1/schedules?cursor=%2F..%2F',
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('cursor');

    const ls = await runCliProcess(['schedule', 'ls', '--json', '--server', server.url]);
    expect(ls.code, ls.stderr).toBe(0);
    expect((JSON.parse(ls.stdout) as Page).schedules.map((s) => s.name)).toEqual(names);
    const table = await runCliProcess(['schedule', 'ls', '--server', server.url]);
    expect(table.stdout.trim().split('\n')).toHaveLength(1 + 1001);
  }, 120_000);
});
