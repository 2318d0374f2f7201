import { availableParallelism, totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hostAllowed, hostName } from '../../src/api/hostCheck.js';
import { raisedForRun } from '../../src/cli/jobFlags.js';
import { loadConfig, type ConfigOverrides } from '../../src/config.js';
import { InvalidSpecError, RunboxError } from '../../src/errors/index.js';
import { parseJobSpec } from '../../src/spec/parseJobSpec.js';

const JOB = { runtime: 'shell', command: ['true'] };
const config = (overrides: ConfigOverrides = {}) =>
  loadConfig({ env: {}, overrides: { dataDir: '/tmp/runbox-ceilings-unit', ...overrides } });

function refusal(spec: unknown, overrides: ConfigOverrides = {}): InvalidSpecError {
  try {
    parseJobSpec(spec, config(overrides));
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSpecError);
    return error as InvalidSpecError;
  }
  throw new Error(`accepted ${JSON.stringify(spec)}`);
}

describe('operator ceilings', () => {
  it('default to what the machine has, and deny network', () => {
    const c = config();
    expect(c.ceilings.memoryBytes).toBe(totalmem());
    expect(c.ceilings.cpus).toBe(availableParallelism());
    expect(c.allow.networks).toEqual(['none']);
    expect(c.defaults.memoryBytes).toBeLessThanOrEqual(totalmem());
  });

  it('refuse each limit above its ceiling, naming the field, the ceiling and its key', () => {
    const ceilings = {
      memoryBytes: 4 * 1024 ** 3,
      cpus: 2,
      pids: 1000,
      timeoutSeconds: 600,
      outputBytes: 1024 ** 3,
      outputFiles: 50,
      logBytes: 1024 ** 2,
    };
    const limits = { limits: { outputFiles: 10, logBytes: 1024 ** 2, outputBytes: 1024 ** 3 } };
    const o = { ceilings, ...limits } as ConfigOverrides;
    const memory = refusal({ ...JOB, limits: { memory: '1000g' } }, o);
    expect(memory.field).toBe('limits.memory');
    expect(memory.message).toContain(
      "limits.memory: 1000g is above the server's ceiling 4g (ceilings.memoryBytes)",
    );
    expect(refusal({ ...JOB, limits: { cpus: 512 } }, o).message).toContain(
      "512 is above the server's ceiling 2 (ceilings.cpus)",
    );
    expect(refusal({ ...JOB, limits: { pids: 4_000_000 } }, o).field).toBe('limits.pids');
    expect(refusal({ ...JOB, timeout_seconds: 601 }, o).field).toBe('timeout_seconds');
    // Past runbox's own maxima too, the tighter bound answers: the server's ceiling, not 7
    // days (or pid_max) first and the ceiling only on the retry.
    expect(refusal({ ...JOB, timeout_seconds: 1e9 }, o).message).toContain(
      "1000000000 is above the server's ceiling 600 (ceilings.timeoutSeconds)",
    );
    expect(refusal({ ...JOB, limits: { pids: 5_000_000 } }, o).message).toContain(
      '(ceilings.pids)',
    );
    expect(refusal({ ...JOB, limits: { output_bytes: '2g' } }, o).message).toContain(
      '(ceilings.outputBytes)',
    );
    expect(refusal({ ...JOB, limits: { output_files: 51 } }, o).field).toBe('limits.output_files');
    expect(refusal({ ...JOB, limits: { log_bytes: 1024 ** 2 + 1 } }, o).field).toBe(
      'limits.log_bytes',
    );
    // At the ceiling is allowed, and the job's own lower limits reach the executor.
    const spec = parseJobSpec(
      {
        ...JOB,
        timeout_seconds: 600,
        limits: { memory: '4g', cpus: 2, pids: 1000, output_bytes: '1m', output_files: 3 },
      },
      config(o),
    );
    expect(spec).toMatchObject({
      memoryBytes: 4 * 1024 ** 3,
      pidsLimit: 1000,
      outputBytes: 1024 ** 2,
    });
    expect(spec).toMatchObject({ outputFiles: 3, logBytes: 1024 ** 2, timeoutMs: 600_000 });
  });

  it('allow only listed networks, images and pull policies', () => {
    expect(refusal({ ...JOB, network: 'bridge' }).message).toContain('allow.networks');
    const image = refusal({ image: 'alpine:3', command: ['true'] });
    expect(image.field).toBe('image');
    expect(image.message).toContain('allow.images');
    expect(refusal({ ...JOB, pull_policy: 'always' }).field).toBe('pull_policy');
    const allowing = config({
      allow: { networks: ['none', 'bridge'], images: ['myorg/*', 'alpine:3'] },
    });
    for (const image of ['alpine:3', 'myorg/tool:1', 'python:3.11-slim']) {
      expect(parseJobSpec({ image, command: ['true'], network: 'bridge' }, allowing).image).toBe(
        image,
      );
    }
    expect(() => parseJobSpec({ image: 'alpine:latest', command: ['x'] }, allowing)).toThrow(
      InvalidSpecError,
    );
  });

  it('refuse a config whose default is above its ceiling, naming both', () => {
    try {
      config({ ceilings: { pids: 100 } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RunboxError);
      expect((error as RunboxError).field).toBe('defaults.pids');
      expect((error as Error).message).toContain('ceilings.pids');
    }
    expect(() => config({ allow: { networks: ['bridge'] } })).toThrow(/must include "none"/);
  });

  it('are raised by runbox run for what its own flags ask, and only that', () => {
    const base = config();
    const raised = config(
      raisedForRun(
        {
          ...JOB,
          limits: { memory: '100000g', cpus: 512 },
          network: 'bridge',
          image: 'alpine:3',
          pull_policy: 'always',
        },
        base,
      ),
    );
    expect(raised.ceilings.memoryBytes).toBe(100000 * 1024 ** 3);
    expect(raised.ceilings.cpus).toBe(512);
    expect(raised.ceilings.pids).toBe(base.ceilings.pids);
    expect(raised.allow).toEqual({
      networks: ['none', 'bridge'],
      images: ['alpine:3'],
      pullPolicies: ['if-not-present', 'never', 'always'],
    });
    // Asking for less never lowers a ceiling below a default.
    expect(config(raisedForRun({ ...JOB, limits: { memory: '8m' } }, base)).ceilings).toEqual(
      base.ceilings,
    );
  });
});

describe('Host header check', () => {
  const loopback = { host: '127.0.0.1', allowedHosts: ['runbox.internal'] };
  it('reads the name from a Host header', () => {
    expect(hostName('127.0.0.1:7070')).toBe('127.0.0.1');
    expect(hostName('[::1]:7070')).toBe('::1');
    expect(hostName('LocalHost')).toBe('localhost');
    expect(hostName('a b')).toBeNull();
    expect(hostName('user@evil:1')).toBeNull();
  });
  it('serves loopback names and configured ones, and no other name', () => {
    for (const name of ['localhost', '127.0.0.1', '127.5.6.7', '::1', 'runbox.internal']) {
      expect(hostAllowed(name, loopback), name).toBe(true);
    }
    for (const name of ['evil.example', '10.0.0.1', '0.0.0.0', 'localhost.evil.example']) {
      expect(hostAllowed(name, loopback), name).toBe(false);
    }
  });
  it('on a wildcard bind also serves address literals, which cannot be rebound', () => {
    const wildcard = { host: '0.0.0.0', allowedHosts: [] };
    expect(hostAllowed('192.168.1.5', wildcard)).toBe(true);
    expect(hostAllowed('fe80::1', wildcard)).toBe(true);
    expect(hostAllowed('evil.example', wildcard)).toBe(false);
  });
});
