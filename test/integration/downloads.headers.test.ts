import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';
import {
  http,
  pythonJob,
  sha256,
  startOutputsServer,
  submit,
  waitFinal,
  type OutputsServer,
} from './outputsKit.js';

/**
 * What a hostile job's logs and outputs look like to a browser or a resuming client of
 * a real `runbox serve`: the charset claimed, sniffing, how a file is named on download,
 * and the conditional headers of a finished job's log (those of an output file are in
 * outputs.download).
 */

// stdout: not UTF-8, and HTML a browser would run. stderr: UTF-8 with multi-byte characters.
const HOSTILE = `
import os, sys
sys.stdout.buffer.write(b'bad \\xff\\xfe <html><script>alert(1)</script>\\n')
sys.stderr.write('ünïcödé € 😀\\n' * 10)
out = os.environ['RUNBOX_OUTPUTS']
open(out + '/page.html', 'w').write('<html><script>alert(1)</script></html>')
open(out + '/we"ird na me.txt', 'w').write('q')
open(out + '/ünï cödé.txt', 'w').write('u')
open(out + '/100%25.txt', 'w').write('p')
open(out + '/big.bin', 'wb').write(os.urandom(16 * 1024 * 1024))
`;

const SLOW = `
import sys, time
print('started', flush=True)
time.sleep(30)
`;

const MiB = 1024 * 1024;

describe('downloads as a browser or a resuming client sees them', () => {
  let rb: OutputsServer;
  let id: string;
  let logsOf: (query?: string) => string;

  beforeAll(async () => {
    rb = await startOutputsServer('downloads-headers');
    id = await submit(rb.url, pythonJob(HOSTILE));
    expect((await waitFinal(rb.url, id)).status).toBe('succeeded');
    logsOf = (query = '') => `${rb.url}/v1/jobs/${id}/logs${query}`;
  });
  afterEach(() => expectNoLeftoverContainers(TEST_INSTANCE));
  afterAll(async () => rb?.stop());

  // Logs were all served "text/plain; charset=utf-8", whatever bytes the job wrote.
  it('a stored log claims charset=utf-8 only when its bytes are UTF-8; live bytes claim none', async () => {
    const stdout = await http(logsOf());
    expect(stdout.body.subarray(0, 6)).toEqual(Buffer.from([0x62, 0x61, 0x64, 0x20, 0xff, 0xfe]));
    expect(stdout.headers['content-type']).toBe('text/plain');
    const stderr = await http(logsOf('?stream=stderr'));
    expect(stderr.body.toString()).toBe('ünïcödé € 😀\n'.repeat(10));
    expect(stderr.headers['content-type']).toBe('text/plain; charset=utf-8');

    const slow = await submit(rb.url, pythonJob(SLOW));
    // The server has one slot: this one waits behind the slow job and is cancelled there.
    const queued = await submit(rb.url, pythonJob(SLOW));
    try {
      for (let tries = 0; ; tries++) {
        const live = await http(`${rb.url}/v1/jobs/${slow}/logs`);
        if (live.body.toString() === 'started\n') {
          expect(live.headers['content-type']).toBe('text/plain');
          // A running job's log is not a stored representation yet: no Range, no ETag.
          const ranged = await http(`${rb.url}/v1/jobs/${slow}/logs`, {
            headers: { range: 'bytes=0-1' },
          });
          expect(ranged.status).toBe(200);
          expect(ranged.headers.etag).toBeUndefined();
          break;
        }
        expect(tries).toBeLessThan(300);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Its manifest said "no outputs yet", of a job that will never run.
      expect((await http(`${rb.url}/v1/jobs/${queued}/cancel`, { method: 'POST' })).status).toBe(
        200,
      );
      const none = await http(`${rb.url}/v1/jobs/${queued}/outputs`);
      expect(none.status).toBe(404);
      expect(JSON.parse(none.body.toString()).error.message).toBe(
        `job ${queued} ended cancelled without a result, so it has no outputs`,
      );
      const noLog = await http(`${rb.url}/v1/jobs/${queued}/logs`);
      expect([noLog.status, noLog.headers['content-length']]).toEqual([200, '0']);
    } finally {
      for (const job of [queued, slow]) {
        await http(`${rb.url}/v1/jobs/${job}/cancel`, { method: 'POST' });
        await waitFinal(rb.url, job);
      }
    }
  });

  // Nothing said nosniff, and outputs had no Content-Disposition: a browser visiting
  // the API's origin (the dashboard's) could be made to run a job's page.html there.
  it('every answer says nosniff, and an output is an attachment named as the job named it', async () => {
    for (const url of [logsOf(), `${rb.url}/v1/jobs/${id}`, `${rb.url}/v1/jobs/nope`]) {
      expect((await http(url)).headers['x-content-type-options']).toBe('nosniff');
    }
    const names: Array<[string, string, string]> = [
      ['page.html', 'page.html', 'page.html'],
      ['we%22ird%20na%20me.txt', 'we_ird na me.txt', 'we%22ird%20na%20me.txt'],
      ['%C3%BCn%C3%AF%20c%C3%B6d%C3%A9.txt', '_n_ c_d_.txt', '%C3%BCn%C3%AF%20c%C3%B6d%C3%A9.txt'],
      ['100%2525.txt', '100_25.txt', '100%2525.txt'],
    ];
    for (const [path, fallback, exact] of names) {
      const file = await http(`${rb.url}/v1/jobs/${id}/outputs/${path}`);
      expect(file.status, path).toBe(200);
      expect(file.headers['x-content-type-options']).toBe('nosniff');
      expect(file.headers['content-type']).toBe('application/octet-stream');
      expect(file.headers['content-disposition']).toBe(
        `attachment; filename="${fallback}"; filename*=UTF-8''${exact}`,
      );
      expect(decodeURIComponent(exact)).toBe(decodeURIComponent(path));
    }
  });

  // A 416 of an output carried Content-Disposition: attachment, so a browser saved the
  // JSON error under the file's name; its ETag, Accept-Ranges and Vary were undocumented.
  it('a 416 is an error, not a download, and sends only headers the document names', async () => {
    const doc = JSON.parse((await http(`${rb.url}/openapi.json`)).body.toString()) as {
      paths: Record<string, { get: { responses: Record<string, { headers?: object }> } }>;
    };
    const plain = ['content-type', 'content-length', 'date', 'connection', 'keep-alive'];
    for (const [url, path] of [
      [`${rb.url}/v1/jobs/${id}/outputs/page.html`, '/v1/jobs/{id}/outputs/{path}'],
      [logsOf(), '/v1/jobs/{id}/logs'],
    ] as const) {
      const answer = await http(url, { headers: { range: 'bytes=99999999-' } });
      expect(answer.status, url).toBe(416);
      expect(answer.headers['content-disposition'], url).toBeUndefined();
      const named = Object.keys(doc.paths[path]!.get.responses['416']!.headers ?? {});
      const sent = Object.keys(answer.headers).filter(
        (name) =>
          !plain.includes(name) && !['x-request-id', 'x-content-type-options'].includes(name),
      );
      expect(named, url).toEqual(expect.arrayContaining(sent));
    }
  });

  // GET logs ignored Range (200, the whole log) and sent no ETag or Content-Length.
  it("a finished job's log answers Range, If-Range, If-None-Match and HEAD as a file does", async () => {
    const whole = await http(logsOf('?stream=stderr'));
    const etag = `"${sha256(whole.body)}"`;
    expect(whole.headers.etag).toBe(etag);
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.headers['content-length']).toBe(String(whole.body.length));

    const part = await http(logsOf('?stream=stderr'), { headers: { range: 'bytes=2-9' } });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 2-9/${whole.body.length}`);
    expect(part.body).toEqual(whole.body.subarray(2, 10));
    expect(part.headers['content-type']).toBe('text/plain; charset=utf-8');

    const suffix = await http(logsOf('?stream=stderr'), { headers: { range: 'bytes=-100000' } });
    expect(suffix.status).toBe(206);
    expect(suffix.body).toEqual(whole.body);

    const beyond = await http(logsOf('?stream=stderr'), {
      headers: { range: `bytes=${whole.body.length}-` },
    });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${whole.body.length}`);
    expect(JSON.parse(beyond.body.toString()).error.field).toBe('range');

    const stale = await http(logsOf('?stream=stderr'), {
      headers: { range: 'bytes=0-1', 'if-range': '"another"' },
    });
    expect(stale.status).toBe(200);
    expect(stale.body).toEqual(whole.body);
    const current = await http(logsOf('?stream=stderr'), {
      headers: { range: 'bytes=0-1', 'if-range': etag },
    });
    expect(current.status).toBe(206);

    const cached = await http(logsOf('?stream=stderr'), { headers: { 'if-none-match': etag } });
    expect(cached.status).toBe(304);
    expect(cached.body.length).toBe(0);

    const head = await http(logsOf('?stream=stderr'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(whole.body.length));
    expect(head.body.length).toBe(0);

    // follow=true on a finished job is the same stored log.
    const followed = await http(logsOf('?stream=stderr&follow=true'), {
      headers: { range: 'bytes=0-1' },
    });
    expect(followed.status).toBe(206);
    expect(followed.body).toEqual(whole.body.subarray(0, 2));
  });

  // fastify answers HEAD by running the GET handler and draining the body it sends: each
  // HEAD of an output read and decompressed the whole stored file for nothing.
  it('HEAD answers the headers without reading the stored bytes', async () => {
    const pid = rb.server.child.pid!;
    const bytesRead = () =>
      Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
    for (const path of ['outputs/big.bin', 'outputs.tar.zst']) {
      const before = bytesRead();
      const head = await http(`${rb.url}/v1/jobs/${id}/${path}`, { method: 'HEAD' });
      expect(head.status, path).toBe(200);
      expect(head.body.length).toBe(0);
      if (path === 'outputs/big.bin') expect(head.headers['content-length']).toBe(String(16 * MiB));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(bytesRead() - before, path).toBeLessThan(MiB);
    }
  });

  // Each reader of a log walked its frames for the size, and each of several first
  // readers read it whole once more to judge its charset.
  it('readers of a log share one look at it for its size and charset', async () => {
    const big = await submit(
      rb.url,
      pythonJob(
        'import base64, os, sys\nsys.stdout.write(base64.b64encode(os.urandom(12 * 1024 * 1024)).decode())',
      ),
    );
    expect((await waitFinal(rb.url, big)).status).toBe('succeeded');
    const pid = rb.server.child.pid!;
    const bytesRead = () =>
      Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
    const before = bytesRead();
    const heads = await Promise.all(
      Array.from({ length: 6 }, () => http(`${rb.url}/v1/jobs/${big}/logs`, { method: 'HEAD' })),
    );
    for (const head of heads) {
      expect(head.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(head.headers['content-length']).toBe(String(16 * MiB));
    }
    // One walk of its frames for the size and one read for the charset (about 8 and 12
    // MiB of the 12.6 MiB stored), not six of each.
    expect(bytesRead() - before).toBeLessThan(24 * MiB);
    // Then both are known: a HEAD reads nothing stored.
    const again = bytesRead();
    await http(`${rb.url}/v1/jobs/${big}/logs`, { method: 'HEAD' });
    expect(bytesRead() - again).toBeLessThan(MiB);
  });

  it('an empty log is an empty representation: 200 with length 0, and 416 for any range', async () => {
    const quiet = await submit(rb.url, pythonJob('print("only stdout")'));
    await waitFinal(rb.url, quiet);
    const url = `${rb.url}/v1/jobs/${quiet}/logs?stream=stderr`;
    const empty = await http(url);
    expect(empty.status).toBe(200);
    expect(empty.headers['content-length']).toBe('0');
    expect(empty.headers.etag).toBe(`"${sha256(Buffer.alloc(0))}"`);
    const ranged = await http(url, { headers: { range: 'bytes=0-0' } });
    expect(ranged.status).toBe(416);
    expect(JSON.parse(ranged.body.toString()).error.message).toMatch(/the log is empty/);
  });
});
