// Case 7: a client command's cost to the user. `runbox submit job.sh --server URL` (the
// bundle under the same node) against `curl` sending the same POST, interleaved, 20
// spawns each per run; `runbox --version` beside them for the process floor. A client
// command must not load what only the server needs, so submit should stay near
// --version, not near serve's start.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../lib/proc.mjs';
import { quantile } from '../lib/stats.mjs';
import { BUNDLE, startServer } from '../lib/server.mjs';

const SPAWNS = 20;

const median = (samples) =>
  quantile(
    [...samples].sort((a, b) => a - b),
    0.5,
  );

export async function cliCase(ctx) {
  const { log, runs, figure } = ctx;
  const dir = mkdtempSync(join(tmpdir(), 'runbox-bench-cli-'));
  const script = join(dir, 'job.sh');
  writeFileSync(script, 'echo hello\n');
  // Exactly the body `runbox submit job.sh` sends.
  const body = join(dir, 'body.json');
  writeFileSync(
    body,
    JSON.stringify({ script: { path: 'job.sh', content: 'echo hello\n' }, runtime: 'shell' }),
  );
  const server = await startServer({ workers: 0 });
  const submit = [];
  const curl = [];
  const version = [];
  const ratio = [];
  try {
    for (let i = 1; i <= runs; i++) {
      log(`cli run ${i}/${runs}: runbox submit vs curl POST, ${SPAWNS} spawns each`);
      const s = [];
      const c = [];
      const v = [];
      for (let k = 0; k < SPAWNS; k++) {
        s.push(
          (await run(process.execPath, [BUNDLE, 'submit', script, '--server', server.url])).ms,
        );
        c.push(
          (
            await run('curl', [
              '-sf',
              '-X',
              'POST',
              '-H',
              'content-type: application/json',
              '--data-binary',
              `@${body}`,
              `${server.url}/v1/jobs`,
            ])
          ).ms,
        );
        v.push((await run(process.execPath, [BUNDLE, '--version'])).ms);
      }
      submit.push(median(s));
      curl.push(median(c));
      version.push(median(v));
      ratio.push(median(s) / median(c));
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  figure({ name: '`runbox submit` (node dist/runbox.cjs)', unit: 'ms', values: submit });
  figure({ name: 'curl of the same POST', unit: 'ms', values: curl });
  figure({ name: '`runbox --version`', unit: 'ms', values: version });
  figure({
    name: 'runbox submit / curl',
    unit: 'x',
    values: ratio,
    detail: 'node startup is most of it; see `runbox --version`',
  });
}
