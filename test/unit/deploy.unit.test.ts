import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

const UNIT = readFileSync('deploy/runbox.service', 'utf8');

/** `Key=value` lines of one section, later lines winning (as systemd reads them). */
function section(name: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let current = '';
  for (const line of UNIT.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) current = header[1]!;
    const kv = /^(\w+)=(.*)$/.exec(line);
    if (current === name && kv) keys.set(kv[1]!, [...(keys.get(kv[1]!) ?? []), kv[2]!]);
  }
  return keys;
}

describe('deploy/runbox.service', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runbox-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes systemd-analyze verify with no warning at all', () => {
    // verify checks that ExecStart is executable: point it at this checkout's runbox
    // instead of /usr/local/bin/runbox; every other line is the shipped unit.
    const file = join(dir, 'runbox.service');
    writeFileSync(file, UNIT.replace('/usr/local/bin/runbox', resolve('bin/runbox')));
    const run = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    if (run.error) {
      // Never a skip: a CI without the tool would otherwise pass this unchecked.
      throw new Error(
        `systemd-analyze is not installed (${run.error.message}); install Debian's systemd package (.ci/run does)`,
      );
    }
    expect({ status: run.status, stderr: run.stderr, stdout: run.stdout }).toEqual({
      status: 0,
      stderr: '',
      stdout: '',
    });
  });

  it('gives a stop time longer than the drain plus the kill grace, so systemd never SIGKILLs a draining runbox', () => {
    const service = section('Service');
    const stopSeconds = Number(service.get('TimeoutStopSec')?.at(-1));
    const defaults = loadConfig({ env: {} });
    const drainSeconds = defaults.drainTimeoutMs / 1000 + defaults.defaults.killGraceSeconds;
    expect(stopSeconds).toBeGreaterThan(drainSeconds + 10);
    // The drain is runbox's first SIGTERM; a second one to every process would skip it.
    expect(service.get('KillMode')).toEqual(['mixed']);
  });

  it('runs as the dedicated user in the docker group, keeps its state under /var/lib/runbox, restarts only on failure', () => {
    const service = section('Service');
    expect(service.get('User')).toEqual(['runbox']);
    expect(service.get('SupplementaryGroups')).toEqual(['docker']);
    expect(service.get('StateDirectory')).toEqual(['runbox']);
    expect(service.get('Environment')).toContain('RUNBOX_DATA_DIR=/var/lib/runbox');
    expect(service.get('Restart')).toEqual(['on-failure']);
    // Config and contract refusals fail again the same way: no restart loop.
    expect(service.get('RestartPreventExitStatus')?.[0]?.split(' ')).toEqual(
      expect.arrayContaining(['78', '80']),
    );
    // Hardened, but the Docker socket is a Unix socket: AF_UNIX must stay allowed.
    expect(service.get('ProtectSystem')).toEqual(['strict']);
    expect(service.get('RestrictAddressFamilies')?.[0]?.split(' ')).toContain('AF_UNIX');
  });
});
