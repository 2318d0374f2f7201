import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBE_LABEL } from '../../src/executor/probeDataDir.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { runCliProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * doctor's data-dir probe is a created, never started container. A doctor killed while
 * it exists used to leave it for good (no label anything looked for); each probe now
 * carries its maker's host and pid, and the next doctor removes this host's probes whose
 * maker is gone, and no other.
 */
const docker = new Docker();
const made: string[] = [];
afterEach(async () => {
  for (const id of made.splice(0)) {
    await docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => {});
  }
});

async function probe(owner: string): Promise<string> {
  const container = await docker.createContainer({
    Image: 'runbox-test/shell:latest',
    Cmd: ['true'],
    Labels: { [PROBE_LABEL]: owner },
  });
  made.push(container.id);
  return container.id;
}

const exists = (id: string) =>
  docker
    .getContainer(id)
    .inspect()
    .then(
      () => true,
      () => false,
    );

describe('doctor and the probes of a killed doctor', () => {
  const sandbox = useProcessSandbox('doctor-probes');

  it("removes this host's probes whose doctor is gone, and leaves the others", async () => {
    // No process has this pid (pid_max is at most 2^22).
    const stale = await probe(`${hostname()}:2147483646`);
    const live = await probe(`${hostname()}:${process.pid}`);
    const elsewhere = await probe('another-host:1');
    const configFile = writeTestConfig(sandbox.dataDir);
    const doctor = await runCliProcess([
      'doctor',
      '--config',
      configFile,
      '--data-dir',
      sandbox.dataDir,
    ]);
    expect(doctor.stdout, doctor.stderr).toMatch(/data directory seen by the engine +OK/);
    expect(await exists(stale)).toBe(false);
    expect(await exists(live)).toBe(true);
    expect(await exists(elsewhere)).toBe(true);
    // doctor's own probe is gone too.
    const left = await docker.listContainers({ all: true, filters: { label: [PROBE_LABEL] } });
    expect(left.map((c) => c.Id).sort()).toEqual([live, elsewhere].sort());
  });

  // doctor made a missing data dir 0755 (the umask's), where serve makes it 0700: the
  // jobs' logs and outputs under it were listable by every user until serve first ran.
  it('a data dir doctor has to create is private (0700), as serve makes it', async () => {
    const fresh = join(sandbox.dataDir, 'made by doctor é');
    const doctor = await runCliProcess([
      'doctor',
      '--config',
      writeTestConfig(sandbox.dataDir),
      '--data-dir',
      fresh,
    ]);
    expect(doctor.stdout, doctor.stderr).toMatch(/data directory +OK/);
    expect(statSync(fresh).mode & 0o777).toBe(0o700);
  });
});
