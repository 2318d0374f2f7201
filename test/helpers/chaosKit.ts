import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Docker from 'dockerode';
import { TEST_INSTANCE } from './testConfig.js';

/**
 * Shared tools of the chaos suite (test/chaos/): a raw HTTP client that never
 * normalises what it sends, job spec builders, process figures from /proc, a healthz
 * poller, a read-only look into the database, and the figure printer every case uses.
 */

export const docker = new Docker({
  socketPath: process.env.RUNBOX_DOCKER_SOCKET ?? '/var/run/docker.sock',
});

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON (tests read it freely). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  ms: number;
}

export interface HttpOptions {
  method?: string;
  /** A value to send as JSON, or raw bytes (sent as they are). */
  body?: unknown;
  raw?: Buffer | string;
  headers?: Record<string, string>;
  token?: string;
  timeoutMs?: number;
}

/**
 * One request through node:http with `path` sent byte for byte (fetch would resolve
 * "..", re-encode and refuse odd characters, which are what the fuzz case sends).
 */
export function http(base: string, path: string, options: HttpOptions = {}): Promise<HttpAnswer> {
  const url = new URL(base);
  const headers: Record<string, string> = { ...options.headers };
  let payload: Buffer | undefined;
  if (options.raw !== undefined) payload = Buffer.from(options.raw);
  else if (options.body !== undefined) {
    payload = Buffer.from(JSON.stringify(options.body));
    headers['content-type'] ??= 'application/json';
  }
  if (payload) headers['content-length'] = String(payload.length);
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: options.method ?? (payload ? 'POST' : 'GET'),
        path,
        headers,
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json,
            ms: performance.now() - started,
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer in time`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** A shell (busybox) job running `script`. */
export function shellJob(script: string, extra: Record<string, unknown> = {}) {
  return { runtime: 'shell', script: { path: 'job.sh', content: script }, ...extra };
}

/** A Python job running `script`. */
export function pythonJob(script: string, extra: Record<string, unknown> = {}) {
  return { runtime: 'python:3.11', script: { path: 'job.py', content: script }, ...extra };
}

export const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

export interface JobView {
  id: string;
  status: string;
  attempts: number;
  idempotency_key: string | null;
  error: { type: string; message: string; field?: string | null } | null;
  result: {
    exit_code: number | null;
    outputs: Array<{ path: string; type: string; size: number; sha256: string | null }>;
    skipped_outputs: Array<{ path: string; reason: string }>;
    error: { type: string; message: string } | null;
  } | null;
  finished_at: string | null;
}

/** Every job the server knows, following the cursor. */
export async function listAllJobs(base: string, token?: string): Promise<JobView[]> {
  const all: JobView[] = [];
  let cursor: string | null = null;
  do {
    const answer = await http(
      base,
      `/v1/jobs?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
      token ? { token } : {},
    );
    if (answer.status !== 200) throw new Error(`GET /v1/jobs: ${answer.status} ${answer.text}`);
    all.push(...(answer.json.jobs as JobView[]));
    cursor = answer.json.next_cursor as string | null;
  } while (cursor);
  return all;
}

/** Polls until every listed job is final (or throws with the ones that are not). */
export async function waitAllFinal(
  base: string,
  ids: readonly string[],
  timeoutMs: number,
  token?: string,
): Promise<Map<string, JobView>> {
  const deadline = Date.now() + timeoutMs;
  const wanted = new Set(ids);
  for (;;) {
    const jobs = await listAllJobs(base, token);
    const byId = new Map(jobs.filter((j) => wanted.has(j.id)).map((j) => [j.id, j]));
    const open = ids.filter((id) => !FINAL.has(byId.get(id)?.status ?? 'missing'));
    if (open.length === 0) return byId;
    if (Date.now() > deadline) {
      const sample = open.slice(0, 5).map((id) => `${id}:${byId.get(id)?.status ?? 'missing'}`);
      throw new Error(`${open.length} job(s) not final in time, e.g. ${sample.join(' ')}`);
    }
    await sleep(250);
  }
}

/**
 * Waits until no job is queued or running, asking for one job of each status per look:
 * a cheap poll, so a test measuring the server's memory does not measure its own
 * polling (listing every job every 250 ms allocates megabytes a call on the server).
 */
export async function waitQueueIdle(base: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let busy = false;
    for (const status of ['queued', 'running']) {
      const answer = await http(base, `/v1/jobs?status=${status}&limit=1`);
      if (answer.status !== 200) throw new Error(`GET /v1/jobs: ${answer.status} ${answer.text}`);
      if ((answer.json.jobs as unknown[]).length > 0) busy = true;
    }
    if (!busy) return;
    if (Date.now() > deadline)
      throw new Error(`jobs still queued or running after ${timeoutMs} ms`);
    await sleep(250);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const round1 = (n: number) => Math.round(n * 10) / 10;

/** Resident memory of a process in MiB (VmRSS). */
export function rssMiB(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return line ? round1(Number(line[1]) / 1024) : NaN;
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * The server's live JS heap, measured exactly: SIGUSR2 makes a process started with
 * `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<dir>` run a full collection and write
 * a heap snapshot; the sum of its objects' sizes is what survived. Sampled heapUsed
 * cannot say this, because V8 may go a long time between full collections (seen on
 * Node 24: heapTotal grew to 181 MiB while garbage waited). The file is removed.
 */
export async function liveHeapMiB(pid: number, dir: string, timeoutMs = 60_000): Promise<number> {
  const snapshots = () => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot'));
  const before = new Set(snapshots());
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  let lastSize = -1;
  while (Date.now() < deadline) {
    await sleep(250);
    const file = snapshots().find((f) => !before.has(f));
    if (!file) continue;
    const path = join(dir, file);
    const size = statSync(path).size;
    if (size !== lastSize) {
      lastSize = size;
      continue;
    }
    let snapshot: {
      snapshot: { meta: { node_fields: string[] } };
      nodes: number[];
    };
    try {
      snapshot = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      continue; // still being written
    }
    rmSync(path, { force: true });
    const fields = snapshot.snapshot.meta.node_fields;
    const selfSize = fields.indexOf('self_size');
    let bytes = 0;
    for (let i = selfSize; i < snapshot.nodes.length; i += fields.length) {
      bytes += snapshot.nodes[i]!;
    }
    return round1(bytes / 1048576);
  }
  throw new Error(`no heap snapshot from process ${pid} in ${timeoutMs} ms`);
}

export interface MemorySample {
  rssMiB: number;
  /** What V8 has reserved for the JS heap: grows in steps that V8 alone decides. */
  heapTotalMiB: number;
  heapUsedMiB: number;
  /** RSS less the JS heap: buffers, SQLite, native codecs and code. */
  nativeMiB: number;
}

/**
 * Samples RSS from /proc beside the server's own V8 heap figures from /metrics, one
 * request at a time. RSS alone cannot tell a leak from V8 growing its heap reservation
 * (a step of 16 MiB or more at a time, seen in the soak); the split can: a JS leak
 * shows as a rising floor of heapUsed, a native one as rising RSS less heapTotal.
 */
export function sampleMemory(url: string, pid: number, everyMs = 1000) {
  const samples: MemorySample[] = [];
  let stopped = false;
  const pick = (text: string, name: string) => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
    return match ? round1(Number(match[1]) / 1048576) : NaN;
  };
  const loop = (async () => {
    while (!stopped) {
      try {
        const metrics = await http(url, '/metrics');
        const rss = rssMiB(pid);
        const heapTotal = pick(metrics.text, 'nodejs_heap_size_total_bytes');
        const heapUsed = pick(metrics.text, 'nodejs_heap_size_used_bytes');
        if (Number.isFinite(heapTotal) && Number.isFinite(heapUsed)) {
          samples.push({
            rssMiB: rss,
            heapTotalMiB: heapTotal,
            heapUsedMiB: heapUsed,
            nativeMiB: round1(rss - heapTotal),
          });
        }
      } catch {
        // the process ended or was busy; the next sample will tell
      }
      await sleep(everyMs);
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

/**
 * Asks /healthz every `everyMs` (one request at a time) and keeps the latencies, so a
 * case can say the server stayed responsive while something hostile ran.
 */
export function pollHealth(base: string, everyMs = 50) {
  const latencies: number[] = [];
  const statuses = new Map<number | string, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const answer = await http(base, '/healthz', { timeoutMs: 5000 });
        latencies.push(answer.ms);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      } catch (error) {
        const key = (error as Error).message.slice(0, 60);
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
      }
      await sleep(everyMs);
    }
  })();
  return {
    latencies,
    statuses,
    async stop() {
      running = false;
      await loop;
      return {
        polls: latencies.length,
        p50Ms: round1(percentile(latencies, 50)),
        p95Ms: round1(percentile(latencies, 95)),
        p99Ms: round1(percentile(latencies, 99)),
        maxMs: round1(Math.max(0, ...latencies)),
        statuses: Object.fromEntries(statuses),
      };
    },
  };
}

/** Opens the queue database read-only (after the server stopped) for checks. */
export function openDbReadonly(path: string): Database.Database {
  return new Database(path, { readonly: true, fileMustExist: true });
}

/** PRAGMA integrity_check's answer: 'ok' when the file is sound. */
export function integrityCheck(path: string): string {
  const db = openDbReadonly(path);
  try {
    const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    return rows.map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

export function tempDataDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `runbox-chaos-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Files left under a folder (recursively), for "no temp file left behind". */
export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => !e.isDirectory())
      .map((e) => join(e.parentPath, e.name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export function entriesUnder(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** A small seeded PRNG (mulberry32), so a failing chaos run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FIGURES_FILE = join(tmpdir(), 'runbox-chaos-figures.jsonl');

/** Prints a case's figures (and appends them to FIGURES_FILE for reports). */
export function report(name: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ case: name, at: new Date().toISOString(), ...figures });
  console.log(`[chaos] ${name}: ${JSON.stringify(figures)}`);
  try {
    appendFileSync(FIGURES_FILE, `${line}\n`);
  } catch {
    // figures still went to the console
  }
}

export interface ContainerEvent {
  action: string;
  id: string;
  job: string;
  attempt: number;
  time: number;
  /** On 'die': the container's exit code. */
  exitCode: number | null;
}

/**
 * Listens to the engine's container events for this test process's runbox instance.
 * `onCreate` runs for each create (e.g. to inspect the container before it goes).
 */
export async function watchContainers(
  onCreate?: (id: string) => void | Promise<void>,
  instance = TEST_INSTANCE,
) {
  const events: ContainerEvent[] = [];
  const pending: Promise<void>[] = [];
  const stream = (await docker.getEvents({
    filters: { type: ['container'], label: [`io.runbox.instance=${instance}`] },
  })) as NodeJS.ReadableStream & { destroy(): void };
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    rest += chunk.toString();
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as {
        Action: string;
        id: string;
        time: number;
        Actor: { Attributes: Record<string, string> };
      };
      const attrs = e.Actor.Attributes;
      events.push({
        action: e.Action,
        id: e.id,
        job: attrs['io.runbox.job'] ?? '',
        attempt: Number(attrs['io.runbox.attempt'] ?? 0),
        time: e.time,
        exitCode: attrs.exitCode === undefined ? null : Number(attrs.exitCode),
      });
      if (e.Action === 'create' && onCreate) pending.push(Promise.resolve(onCreate(e.id)));
    }
  });
  stream.on('error', () => {});
  return {
    events,
    async stop() {
      await sleep(300); // let the last events arrive
      stream.destroy();
      await Promise.all(pending);
      return events;
    },
  };
}
