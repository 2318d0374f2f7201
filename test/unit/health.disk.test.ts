import { describe, expect, it } from 'vitest';
import { startRunbox } from '../../src/runbox.js';
import { testConfig } from '../helpers/testConfig.js';

/**
 * Seen: with less than limits.minFreeBytes free, every submission got 507 while /healthz
 * said "ok" and /metrics held nothing about the disk, so an operator watching either saw
 * a healthy server refusing all work. The status stays 200 (jobs already queued still
 * run, and the diskFull chaos test holds it), the body says the disk is low.
 */
async function healthWith(minFreeBytes: number) {
  const { config, cleanup } = testConfig({ port: 0, limits: { minFreeBytes } });
  const rb = await startRunbox(config, { api: true, workers: 0 });
  try {
    const health = await rb.app!.inject({ method: 'GET', url: '/healthz' });
    const submit = await rb.app!.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { runtime: 'shell', command: ['true'] },
    });
    return { status: health.statusCode, body: health.json<{ disk: string }>(), submit };
  } finally {
    await rb.stop();
    cleanup();
  }
}

describe('/healthz and the data disk', () => {
  it('says the disk is low while submissions get 507, and still answers 200', async () => {
    const low = await healthWith(2 ** 60);
    expect(low.submit.statusCode).toBe(507);
    expect(low.status).toBe(200);
    expect(low.body.disk).toBe('low');
  });

  it('says the disk is ok while it has limits.minFreeBytes free', async () => {
    const room = await healthWith(1);
    expect(room.submit.statusCode).toBe(201);
    expect(room.body.disk).toBe('ok');
  });
});
