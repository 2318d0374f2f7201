import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, queueSlotsFrom } from '../../src/config.js';
import { RunboxError } from '../../src/errors/index.js';
import { queueFromUrl, redactQueue, redactUrl, urlHoldsCredential } from '../../src/queueUrl.js';

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

  it('lets a higher source replace the queue whole, not merge into it', () => {
    const file = join(dir, 'replace.json');
    writeFileSync(
      file,
      JSON.stringify({
        queue: { kind: 'postgres', url: 'postgres://h/db', schema: 'rb' },
        queues: { default: 4, gpu: 1 },
      }),
    );
    const config = loadConfig({
      env: { RUNBOX_QUEUE: 'sqlite:/tmp/q.db', RUNBOX_QUEUES: 'gpu:2' },
      file,
    });
    expect(config.queue).toEqual({ kind: 'sqlite', path: '/tmp/q.db' });
    expect(config.queues).toEqual({ gpu: 2 });
  });

  it('reads named queue slots, a bare name as one slot, and refuses bad ones by name', () => {
    expect(queueSlotsFrom('--queues', 'default:4, gpu:1,cpu.big')).toEqual({
      default: 4,
      gpu: 1,
      'cpu.big': 1,
    });
    for (const bad of ['GPU:1', 'gpu:-1', 'gpu:1:2', 'gpu:x', 'a:1,a:2', '', 'gpu:257', 'ü:1']) {
      const error = thrown(() => queueSlotsFrom('--queues', bad));
      expect(error.field).toBe('--queues');
    }
    const file = join(dir, 'badqueues.json');
    writeFileSync(file, JSON.stringify({ queues: { 'Bad Name': 1 } }));
    expect(thrown(() => loadConfig({ env: {}, file })).type).toBe('InvalidConfig');
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

  it('never shows a token given as an http(s) user name or a credential in the query string', () => {
    expect(redactUrl('https://ghp_0123456789abcdef@hooks.example/x')).toBe(
      'https://[set]@hooks.example/x',
    );
    // PostgreSQL takes the password as a parameter too; the role name is kept.
    expect(redactUrl('postgres://runbox@db/q?sslmode=require&password=s3cr%C3%A9t')).toBe(
      'postgres://runbox@db/q?sslmode=require&password=[set]',
    );
    expect(
      redactUrl('https://hooks.example/x?a=1&token=abc&access%5Ftoken=def&X-Amz-Signature=0f#top'),
    ).toBe(
      'https://hooks.example/x?a=1&token=[set]&access%5Ftoken=[set]&X-Amz-Signature=[set]#top',
    );
    expect(urlHoldsCredential('https://hooks.example/x?token=abc')).toBe(true);
    for (const plain of [
      'https://hooks.example/x?a=1&mode=fast',
      'postgres://runbox@db/q?sslmode=require',
      'http://127.0.0.1:7070',
      '/var/lib/runbox',
    ]) {
      expect(redactUrl(plain)).toBe(plain);
      expect(urlHoldsCredential(plain)).toBe(false);
    }
  });
});
