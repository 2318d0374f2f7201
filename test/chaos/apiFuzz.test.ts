import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  http,
  openDbReadonly,
  report,
  seededRandom,
  shellJob,
  tempDataDir,
  type HttpAnswer,
} from '../helpers/chaosKit.js';
import { fuzzRequests, type FuzzRequest } from '../helpers/fuzzRequests.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * Issue 7, "API fuzz": at least 10,000 malformed requests, generated from a seed,
 * against a real server process. Only 4xx answers, no crash, and the database holds
 * exactly what it held before.
 */
const COUNT = Number(process.env.CHAOS_FUZZ_COUNT ?? 10_000);
const SEED = Number(process.env.CHAOS_SEED ?? 7);
const BODY_LIMIT = 256 * 1024;
const TIME_BOUND_MS = 180_000;
const CONCURRENCY = 8;

function tableCounts(dbPath: string): Record<string, number> {
  const db = openDbReadonly(dbPath);
  try {
    const out: Record<string, number> = {};
    for (const table of ['jobs', 'job_blobs', 'meta']) {
      out[table] = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    }
    out.lastUpdate = (
      db.prepare('SELECT coalesce(max(updated_at), 0) AS t FROM jobs').get() as { t: number }
    ).t;
    return out;
  } finally {
    db.close();
  }
}

/** Bytes no HTTP client library would send: a request line the parser must refuse. */
function rawExchange(url: string, bytes: Buffer): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('raw request: no answer')));
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      resolve(m ? Number(m[1]) : 0);
    });
  });
}

const RAW_REQUESTS = [
  'GET /v1/jobs/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /v1/jobs/a b HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /v1/jobs\x00 HTTP/1.1\r\nHost: x\r\n\r\n',
  'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
  'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
  `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
  'GARBAGE\r\n\r\n',
  'GET /v1/jobs HTTP/9.9\r\nHost: x\r\n\r\n',
  'GET /v1/jobs/..%c0%af..%c0%afetc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
];

describe('API fuzz', () => {
  const data = tempDataDir('fuzz');
  const configFile = writeTestConfig(data.dir, {
    limits: { bodyBytes: BODY_LIMIT, minFreeBytes: 1 },
  });
  let server: RunboxProcess | null = null;

  afterAll(async () => {
    server?.kill('SIGKILL');
    await expectNoLeftoverContainers(TEST_INSTANCE).catch(() => {});
    data.cleanup();
  });

  it(`answers ${COUNT} malformed requests with 4xx only and writes nothing`, async () => {
    server = await startServerProcess({ dataDir: data.dir, configFile, workers: 1 });
    const url = server.url;
    // One real finished job with an output, so output paths are tried against real data.
    const submitted = await http(url, '/v1/jobs?wait=true&wait_seconds=60', {
      body: shellJob('echo secret-marker > "$RUNBOX_OUTPUTS/marker"'),
    });
    expect(submitted.status).toBe(201);
    expect(submitted.json.status).toBe('succeeded');
    const jobId = submitted.json.id as string;
    const dbPath = join(data.dir, 'runbox.db');
    const before = tableCounts(dbPath);

    const requests = fuzzRequests(seededRandom(SEED), COUNT, jobId, BODY_LIMIT);
    const byStatus = new Map<number, number>();
    const byKind = new Map<string, number>();
    const bad: Array<{ request: FuzzRequest; status: number | string; text: string }> = [];
    const started = Date.now();
    let next = 0;
    let tried = 0;
    const sendOne = async (request: FuzzRequest) => {
      let answer: HttpAnswer;
      try {
        answer = await http(url, request.path, {
          method: request.method,
          ...(request.body !== undefined ? { body: request.body } : {}),
          ...(request.raw !== undefined ? { raw: request.raw } : {}),
          ...(request.headers ? { headers: request.headers } : {}),
          timeoutMs: 20_000,
        });
      } catch (error) {
        bad.push({ request, status: (error as Error).message, text: '' });
        return;
      }
      byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
      byKind.set(request.kind.split(':')[0]!, (byKind.get(request.kind.split(':')[0]!) ?? 0) + 1);
      if (answer.status < 400 || answer.status >= 500) {
        bad.push({ request, status: answer.status, text: answer.text.slice(0, 300) });
      }
    };
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length && Date.now() - started < TIME_BOUND_MS) {
          const request = requests[next++]!;
          tried += 1;
          await sendOne(request);
        }
      }),
    );
    for (const raw of RAW_REQUESTS) {
      tried += 1;
      const status = await rawExchange(url, Buffer.from(raw, 'latin1'));
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      if (status < 400 || status >= 500) {
        bad.push({
          request: { kind: 'raw', method: '', path: raw.slice(0, 60) },
          status,
          text: '',
        });
      }
    }
    const seconds = (Date.now() - started) / 1000;

    // Still alive and well, and the database unchanged.
    const health = await http(url, '/healthz');
    expect(health.status).toBe(200);
    expect(server.child.exitCode).toBeNull();
    const after = tableCounts(dbPath);
    const stderr = server.stderr();
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = null;

    report('api-fuzz', {
      seed: SEED,
      requestsTried: tried,
      seconds: Math.round(seconds),
      requestsPerSecond: Math.round(tried / seconds),
      byStatus: Object.fromEntries([...byStatus].sort((a, b) => a[0] - b[0])),
      byKind: Object.fromEntries(byKind),
      non4xx: bad.length,
      rowsBefore: before,
      rowsAfter: after,
    });
    expect(
      bad.slice(0, 10).map((b) => ({
        kind: b.request.kind,
        method: b.request.method,
        path: b.request.path.slice(0, 120),
        body: JSON.stringify(b.request.body ?? String(b.request.raw ?? '')).slice(0, 200),
        status: b.status,
        text: b.text,
      })),
    ).toEqual([]);
    expect(tried).toBeGreaterThanOrEqual(10_000 + RAW_REQUESTS.length);
    expect(after).toEqual(before);
    expect(stderr).not.toMatch(/request failed/);
  });
});
