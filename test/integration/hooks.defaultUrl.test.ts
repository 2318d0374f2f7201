import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { getJob, shellJob, submit } from '../helpers/queueProbe.js';
import { runCliProcess, startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

const SECRET = { RUNBOX_WEBHOOK_SECRET: 'default-url-secret' };

/**
 * The server's webhooks.url is written into every job that names no webhook. A URL the
 * policy refuses (a metadata or loopback literal) was accepted at start: every job then
 * carried it, and every delivery failed at its first try. It is refused at start now,
 * as a client's webhook_url is at submit.
 */
describe('webhooks.url in the server config', () => {
  const sandbox = useProcessSandbox('hooks-default-url');

  for (const [url, says] of [
    ['http://169.254.169.254/latest', /webhooks\.url: 169\.254\.169\.254 is a link-local/],
    ['http://127.0.0.1:9/x', /webhooks\.url: 127\.0\.0\.1 is a loopback.*webhooks\.allowPrivate/],
  ] as const) {
    it(`refuses to start with ${url}, naming the key, and writes no database`, async () => {
      const configFile = writeTestConfig(sandbox.dataDir, { webhooks: { url } });
      const run = await runCliProcess(
        ['serve', '--config', configFile, '--data-dir', sandbox.dataDir, '--port', '0'],
        { env: SECRET, timeoutMs: 20_000 },
      );
      expect(run.code).toBe(78);
      expect(run.stderr).toMatch(/InvalidConfig/);
      expect(run.stderr).toMatch(says);
      expect(existsSync(join(sandbox.dataDir, 'runbox.db'))).toBe(false);
    });
  }

  it('starts with a loopback URL the operator allows, and writes it into a job', async () => {
    const url = 'http://127.0.0.1:9/x';
    const configFile = writeTestConfig(sandbox.dataDir, {
      webhooks: { url, allowPrivate: true },
    });
    const server = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile,
      workers: 0,
      env: SECRET,
    });
    sandbox.processes.push(server);
    const job = await submit(server.url, shellJob('echo', { run_at: '2100-01-01' }));
    expect((await getJob(server.url, job.id)).spec.webhook_url).toBe(url);
  });
});
