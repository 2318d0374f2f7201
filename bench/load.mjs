// Open-loop HTTP load at a fixed rate, as its own process (the server under test gets
// the other core). Every request has a scheduled send time; its latency is counted from
// that time, not from when a free connection took it, so a stall shows in the tail
// instead of slowing the sender down (no coordinated omission, as wrk2 measures).
//
//   node bench/load.mjs '{"url":"http://127.0.0.1:7070","paths":["/v1/jobs/ID"],"rate":2000,"seconds":10}'
//
// Options: method (GET), body (JSON text), connections (32), warmupSeconds (1; sent at the
// same rate, not counted). Prints one JSON line: counts, achieved rate, latency quantiles (ms).
import { setTimeout } from 'node:timers';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { quantile } from './lib/stats.mjs';

const opts = { method: 'GET', connections: 32, warmupSeconds: 1, ...JSON.parse(process.argv[2]) };
const target = new URL(opts.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
const headers = opts.body ? { 'content-type': 'application/json' } : {};
const interval = 1000 / opts.rate;
const warmup = Math.round(opts.warmupSeconds * opts.rate);
const total = warmup + Math.round(opts.seconds * opts.rate);
const latencies = [];
const statuses = {};
let errors = 0;
let sent = 0;
let done = 0;
const start = performance.now() + 20;

function fire(index) {
  const scheduled = start + index * interval;
  const path = opts.paths[index % opts.paths.length];
  const request = http.request(
    { agent, host: target.hostname, port: target.port, path, method: opts.method, headers },
    (response) => {
      response.resume();
      response.on('end', () => {
        statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
        if (index >= warmup) latencies.push(performance.now() - scheduled);
        finish();
      });
    },
  );
  request.on('error', () => {
    errors += 1;
    finish();
  });
  request.end(opts.body);
}

function finish() {
  done += 1;
  if (done < total) return;
  const measured = (performance.now() - (start + warmup * interval)) / 1000;
  latencies.sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      rate: opts.rate,
      requests: latencies.length,
      errors,
      statuses,
      achieved_rps: latencies.length / measured,
      p50_ms: quantile(latencies, 0.5),
      p90_ms: quantile(latencies, 0.9),
      p99_ms: quantile(latencies, 0.99),
      max_ms: latencies.at(-1),
    })}\n`,
  );
  agent.destroy();
}

function pump() {
  const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
  while (sent < due) fire(sent++);
  if (sent < total) setTimeout(pump, 1);
}
setTimeout(pump, 20);
