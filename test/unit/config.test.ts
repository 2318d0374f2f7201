import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopback, loadConfig } from '../../src/config.js';
import { RunboxError } from '../../src/errors/index.js';

describe('config', () => {
  it('layers defaults < file < RUNBOX_* env < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(
      file,
      JSON.stringify({ port: 1111, workers: 3, runtimes: { r: { image: 'i', command: ['c'] } } }),
    );
    const env = { RUNBOX_PORT: '2222', RUNBOX_DATA_DIR: dir };
    const fromFile = loadConfig({ env: {}, file });
    expect(fromFile.port).toBe(1111);
    expect(fromFile.workers).toBe(3);
    expect(Object.keys(fromFile.runtimes)).toEqual(['python:3.11', 'node:20', 'shell', 'r']);
    const fromEnv = loadConfig({ env, file });
    expect(fromEnv.port).toBe(2222);
    expect(fromEnv.dbPath).toBe(join(dir, 'runbox.db'));
    expect(loadConfig({ env, file, overrides: { port: 3333 } }).port).toBe(3333);
  });

  it('is frozen', () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.defaults)).toBe(true);
  });

  it('refuses bad values naming the key', () => {
    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as RunboxError).field;
      }
      return null;
    };
    expect(bad(() => loadConfig({ env: { RUNBOX_PORT: 'eighty' } }))).toBe('RUNBOX_PORT');
    expect(bad(() => loadConfig({ env: {}, overrides: { port: 70000 } }))).toBe('port');
    expect(bad(() => loadConfig({ env: { RUNBOX_RUNTIMES: '{nope' } }))).toBe('RUNBOX_RUNTIMES');
    expect(bad(() => loadConfig({ env: {}, file: '/nonexistent/runbox.json' }))).toBe('config');
    expect(
      bad(() =>
        loadConfig({ env: {}, overrides: { lease: { heartbeatMs: 5000, expiryMs: 1000 } } }),
      ),
    ).toBe('lease.heartbeatMs');
  });

  it('knows loopback addresses', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('127.1.2.3')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('10.0.0.1')).toBe(false);
  });
});
