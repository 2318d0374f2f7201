import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { ensureImage } from '../../src/executor/imagePolicy.js';

const docker = new Docker({
  socketPath: process.env.RUNBOX_DOCKER_SOCKET ?? '/var/run/docker.sock',
});

describe('ensureImage', () => {
  it('refuses a name with a path in it before the engine sees it, so the process lives on', async () => {
    // A job stored by an older build could carry "myorg/../x": the engine answered its
    // inspect URL with a redirect, and the client's redirect request failed outside any
    // promise, which ended the process that ran the job.
    for (const image of ['myorg/../x', 'a/../../containers/json']) {
      const refused = await ensureImage(docker, image, 'if-not-present', {
        timeoutMs: 5_000,
        maxBytes: 1024,
      }).catch((error: unknown) => error);
      expect(refused).toMatchObject({ type: 'InvalidSpec', field: 'image' });
    }
    // The process is still here to check a real image afterwards.
    const present = await ensureImage(docker, 'runbox-test/shell:latest', 'never', {
      timeoutMs: 5_000,
      maxBytes: 1024,
    });
    expect(present.Id).toMatch(/^sha256:/);
  });
});
