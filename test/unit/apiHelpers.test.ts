import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { checkOutputPath } from '../../src/api/outputPath.js';
import { exitCodeOf } from '../../src/api/jobView.js';
import { redactSpec } from '../../src/api/jobService.js';
import { attachment, parseRange } from '../../src/api/storedBytes.js';
import { isUtf8Stream } from '../../src/api/blobFacts.js';
import { bearerMatches, tokenMatches } from '../../src/api/auth.js';
import { loggedUrl } from '../../src/api/server.js';
import { LiveLogs } from '../../src/worker/LiveLogs.js';

describe('output paths', () => {
  it('accepts manifest-style paths', () => {
    expect(checkOutputPath('a/b/c.txt')).toBe('a/b/c.txt');
    expect(checkOutputPath('données/ü.txt')).toBe('données/ü.txt');
  });
  it.each([
    '../etc/passwd',
    'a/../../b',
    '/etc/passwd',
    'a\\b',
    'a//b',
    './a',
    'a/.',
    '%2e%2e/x',
    'a%2fb',
    '..%252f',
    'a\0b',
    '',
  ])('refuses %j', (path) => {
    expect(() => checkOutputPath(path)).toThrow(/path/);
  });
});

describe('ranges', () => {
  it('parses the forms a resuming client sends', () => {
    expect(parseRange(undefined, 100)).toBeNull();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
  });
  it('a suffix longer than the file is the whole file (RFC 9110 14.1.2), not 416', () => {
    expect(parseRange('bytes=-100', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=-500', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=-1', 1)).toEqual({ start: 0, end: 0 });
  });
  it('ignores a range in a unit other than bytes (RFC 9110 14.2), as if none was asked', () => {
    expect(parseRange('items=0-1', 100)).toBeNull();
    expect(parseRange('lines=5-', 100)).toBeNull();
  });
  it('marks unsatisfiable or malformed ranges invalid (416)', () => {
    for (const header of ['bytes=100-', 'bytes=9-3', 'bytes=-0', 'bytes=0-1,5-6', 'bytes=-']) {
      expect(parseRange(header, 100)).toBe('invalid');
    }
  });
});

describe('download names', () => {
  // Outputs went out with no Content-Disposition at all: a browser on the API's origin
  // showed a job's page.html inline.
  it.each([
    ['page.html', `attachment; filename="page.html"; filename*=UTF-8''page.html`],
    [
      'a/b/we"ird na me.txt',
      `attachment; filename="we_ird na me.txt"; filename*=UTF-8''we%22ird%20na%20me.txt`,
    ],
    ['ünï.txt', `attachment; filename="_n_.txt"; filename*=UTF-8''%C3%BCn%C3%AF.txt`],
    [
      '100%25 (1)*\\x',
      `attachment; filename="100_25 (1)*_x"; filename*=UTF-8''100%2525%20%281%29%2A%5Cx`,
    ],
    ['😀\uFFFD', `attachment; filename="__"; filename*=UTF-8''%F0%9F%98%80%EF%BF%BD`],
  ])(
    'names %j as an attachment, ASCII fallback and exact UTF-8 (RFC 6266, 8187)',
    (path, header) => {
      expect(attachment(path)).toBe(header);
    },
  );
});

describe('UTF-8 of a stream', () => {
  const chunks = (data: Buffer, at: number) =>
    Readable.from([data.subarray(0, at), data.subarray(at)]);
  it('takes a character split between chunks at any byte for one character', async () => {
    const text = Buffer.from('a é € 😀 z');
    for (let at = 0; at <= text.length; at++) {
      expect(await isUtf8Stream(chunks(text, at))).toBe(true);
    }
  });
  it.each([
    ['a lone 0xff', Buffer.from([0x61, 0xff, 0x62])],
    ['a stray continuation byte', Buffer.from([0x61, 0x80])],
    ['a sequence cut at the end', Buffer.from([0x61, 0xe2, 0x82])],
    ['an overlong form', Buffer.from([0xc0, 0xaf])],
    ['a surrogate', Buffer.from([0xed, 0xa0, 0x80])],
  ])('refuses %s wherever the chunks split', async (_what, data) => {
    for (let at = 0; at <= data.length; at++) {
      expect(await isUtf8Stream(chunks(data, at))).toBe(false);
    }
  });
});

describe('job views', () => {
  it('maps outcomes to exit codes', () => {
    expect(exitCodeOf({ status: 'succeeded', error: null, result: null })).toBe(0);
    expect(exitCodeOf({ status: 'cancelled', error: null, result: null })).toBe(130);
    const failed = (type: string, exit: number | null = null) =>
      exitCodeOf({
        status: 'failed',
        error: { type, message: '', field: null },
        result: { exit_code: exit } as never,
      });
    expect(failed('NonZeroExit', 3)).toBe(3);
    expect(failed('Timeout')).toBe(124);
    expect(failed('OOMKilled')).toBe(137);
    expect(failed('ImageUnavailable')).toBe(69);
    expect(failed('InvalidSpec')).toBe(65);
  });
  it('never shows secret env values', () => {
    const view = redactSpec({ env: { A: 'visible', TOKEN: 's3cret' }, secret_env: ['TOKEN'] });
    expect(JSON.stringify(view)).not.toContain('s3cret');
    expect((view.env as Record<string, string>).A).toBe('visible');
  });
  it('compares tokens', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abd', 'abc')).toBe(false);
    expect(tokenMatches('', 'abc')).toBe(false);
  });
  it('takes a non-ASCII bearer token sent as UTF-8 (curl, runbox) or as Latin-1 (fetch, node:http)', () => {
    // Node reads each header byte as one Latin-1 character: UTF-8 "tök" arrives as "tÃ¶k".
    // Before, that compared unequal and every UTF-8 client got 401.
    const asUtf8Bytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
    for (const token of ['s3cr3t-tök', 'dashboard-token-ø-1', 'plain-ascii']) {
      expect(bearerMatches(token, token), token).toBe(true);
      expect(bearerMatches(asUtf8Bytes(token), token), token).toBe(true);
      expect(bearerMatches(`${token}x`, token)).toBe(false);
    }
    expect(bearerMatches('s3cr3t-tok', 's3cr3t-tök')).toBe(false);
  });
});

describe('live logs', () => {
  it('hands every chunk of a tapped job to its tap, of every attempt, until untapped', () => {
    const logs = new LiveLogs();
    const seen: string[] = [];
    const untap = logs.tap('j', (stream, chunk, attempt) => {
      seen.push(`${attempt} ${stream}:${chunk.toString()}`);
    });
    logs.append('j', 'stdout', Buffer.from('one'), 1);
    logs.append('other', 'stdout', Buffer.from('not mine'), 1);
    logs.append('j', 'stderr', Buffer.from('two'), 2);
    untap();
    logs.append('j', 'stdout', Buffer.from('late'), 2);
    expect(seen).toEqual(['1 stdout:one', '2 stderr:two']);
  });
});

describe('request log lines', () => {
  it('never carry a credential from the query string', () => {
    expect(loggedUrl('/v1/jobs?token=tok-SECRET&limit=5')).toBe(
      '/v1/jobs?token=%5Bredacted%5D&limit=5',
    );
    expect(loggedUrl('/v1/jobs?access_token=a&api_key=b&Password=c')).not.toMatch(/=[abc](&|$)/);
    expect(loggedUrl('/v1/jobs/01ABC/logs?stream=stderr')).toBe(
      '/v1/jobs/01ABC/logs?stream=stderr',
    );
    expect(loggedUrl('/healthz')).toBe('/healthz');
  });
});
