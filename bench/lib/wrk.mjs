// Closed-loop HTTP load with wrk (C, one thread: it leaves the server the other core).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './proc.mjs';

const UNIT = { us: 0.001, ms: 1, s: 1000 };

function ms(text) {
  const match = /([\d.]+)(us|ms|s)/.exec(text);
  return match ? Number(match[1]) * UNIT[match[2]] : NaN;
}

/**
 * Runs wrk against url for `seconds` with `connections` open connections; a POST when
 * body is given. Resolves with requests/s, latency quantiles (ms) and non-2xx count.
 */
export async function wrk({ url, body, connections = 128, seconds = 10 }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency'];
  if (body !== undefined) {
    const script = join(mkdtempSync(join(tmpdir(), 'runbox-bench-wrk-')), 'post.lua');
    writeFileSync(
      script,
      `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`,
    );
    args.push('-s', script);
  }
  const { stdout } = await run('wrk', [...args, url]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  const errors = /Socket errors:[^\n]*/.exec(stdout)?.[0] ?? null;
  const q = (p) => ms(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(stdout)?.[1] ?? '');
  return { rps, p50_ms: q(50), p99_ms: q(99), non2xx, errors, raw: stdout };
}

/** A wrk result without its text output, for latest.json. */
export function withoutRaw(result) {
  const copy = { ...result };
  delete copy.raw;
  return copy;
}
