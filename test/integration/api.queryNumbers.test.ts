import { describe, expect, it } from 'vitest';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * Numbers in query strings and paths, against a real `runbox serve`. They arrive as text,
 * and text that is not the number it looks like (1.5 for an integer, 1e3, 0x10, 1e400)
 * was read as parseInt reads it: another number, answered without a word. Each is now
 * refused with 400 naming the parameter; plain numbers still work.
 */
const TOKEN = 'query-numbers-token';

describe('numbers in query strings and paths against runbox serve', () => {
  const sandbox = useProcessSandbox('querynum');

  it('refuses text that is not the number it looks like, naming the parameter; takes plain numbers', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { token: TOKEN });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const get = async (path: string) => {
      const answer = await fetch(`${server.url}${path}`, { headers });
      const text = await answer.text();
      const json = answer.headers.get('content-type')?.startsWith('application/json');
      return {
        status: answer.status,
        body: (json ? JSON.parse(text) : {}) as {
          jobs?: unknown[];
          error?: { type: string; field: string | null };
        },
      };
    };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await fetch(`${server.url}/v1/jobs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ runtime: 'shell', command: ['true'] }),
      });
      expect(answer.status).toBe(201);
      ids.push(((await answer.json()) as { id: string }).id);
    }
    const id = ids[0]!;

    const refused: [string, string][] = [
      // Was a page of 1 job: the client asked for up to 1,000 and saw one.
      ['/v1/jobs?limit=1e3', 'querystring.limit'],
      ['/v1/jobs?limit=1.5', 'querystring.limit'],
      ['/v1/jobs?limit=0x10', 'querystring.limit'],
      ['/v1/schedules?limit=2.9', 'querystring.limit'],
      // Was attempt 1's live log, and its bytes from byte 1.
      [`/v1/jobs/${id}/attempts/1e20/live-log`, 'params.attempt'],
      [`/v1/jobs/${id}/attempts/1/live-log?from=1e400`, 'querystring.from'],
      [`/v1/jobs/${id}/attempts/1/live-log?from=99999999999999999999`, 'querystring.from'],
      // Was a wait of 0 seconds.
      [`/v1/jobs/${id}?wait=true&wait_seconds=0x10`, 'querystring.wait_seconds'],
      [`/v1/jobs/${id}?wait=true&wait_seconds=Infinity`, 'querystring.wait_seconds'],
    ];
    for (const [path, field] of refused) {
      const answer = await get(path);
      expect({ path, status: answer.status, error: answer.body.error }).toMatchObject({
        path,
        status: 400,
        error: { type: 'InvalidSpec', field },
      });
    }

    expect((await get('/v1/jobs?limit=1000')).body.jobs).toHaveLength(3);
    expect((await get('/v1/jobs?limit=2')).body.jobs).toHaveLength(2);
    expect((await get(`/v1/jobs/${id}/attempts/1/live-log?from=0`)).status).toBe(200);
    expect((await get(`/v1/jobs/${id}?wait=true&wait_seconds=0.05`)).status).toBe(200);
    expect((await get(`/v1/jobs/${id}?wait=true&wait_seconds=1e-2`)).status).toBe(200);
  });
});
