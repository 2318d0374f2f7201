import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { RunboxError } from '../../src/errors/index.js';
import { queueFromUrl, redactQueue, redactUrl } from '../../src/queueUrl.js';

const dir = mkdtempSync(join(tmpdir(), 'runbox-config-queue-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const noFiles = { searchPaths: [] };

function thrown(fn: () => unknown): RunboxError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RunboxError);
    return error as RunboxError;
  }
  throw new Error('expected a RunboxError');
}

describe('choosing the queue', () => {
  it('is SQLite at dbPath unless something names another', () => {
    expect(loadConfig({ env: {}, ...noFiles }).queue).toBeNull();
  });

  it('takes a PostgreSQL URL from RUNBOX_QUEUE, and a file overrides nothing the env sets', () => {
    const file = join(dir, 'pg.json');
    writeFileSync(
      file,
      JSON.stringify({ queue: { kind: 'postgres', url: 'postgres://a@h1/db', schema: 'rb' } }),
    );
    expect(loadConfig({ env: {}, file }).queue).toEqual({
      kind: 'postgres',
      url: 'postgres://a@h1/db',
      schema: 'rb',
    });
    const env = { RUNBOX_QUEUE: 'postgresql://b:pw@h2:5433/other' };
    expect(loadConfig({ env, file }).queue).toMatchObject({
      kind: 'postgres',
      url: 'postgresql://b:pw@h2:5433/other',
    });
  });

  it('refuses a queue it does not know, naming where it came from, without the password', () => {
    const error = thrown(() => queueFromUrl('mysql://u:hunter2@h/db', '--queue'));
    expect(error.type).toBe('InvalidConfig');
    expect(error.field).toBe('--queue');
    expect(error.message).not.toContain('hunter2');
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ queue: { kind: 'redis', url: 'redis://h' } }));
    expect(thrown(() => loadConfig({ env: {}, file })).type).toBe('InvalidConfig');
    expect(thrown(() => loadConfig({ env: { RUNBOX_QUEUE: 'nope' }, ...noFiles })).field).toBe(
      'RUNBOX_QUEUE',
    );
  });

  it('reads sqlite:PATH as a SQLite file', () => {
    expect(queueFromUrl('sqlite:/var/lib/runbox/q.db', 'x')).toEqual({
      kind: 'sqlite',
      path: '/var/lib/runbox/q.db',
    });
  });

  it('never shows the password of a queue URL', () => {
    expect(redactUrl('postgres://runbox:s3cr%C3%A9t@db.example:5432/q')).toBe(
      'postgres://runbox:[set]@db.example:5432/q',
    );
    expect(redactUrl('postgres://runbox@db/q')).toBe('postgres://runbox@db/q');
    expect(redactQueue({ kind: 'postgres', url: 'postgres://u:pw@h/d' })).toEqual({
      kind: 'postgres',
      url: 'postgres://u:[set]@h/d',
    });
  });
});
