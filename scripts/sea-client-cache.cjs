/* global require, __dirname */
// Run by scripts/package with the binary's own Node: writes V8's code cache for the
// client bundle (argv[2], already wrapped as a CommonJS function) to argv[3], made after
// the bundle has run a `runbox submit` against a stand-in server in this process, so
// that the functions a client command runs are in it (scripts/sea-main.cjs).
/* eslint-disable @typescript-eslint/no-require-imports */
const { readFileSync, writeFileSync, mkdtempSync, rmSync } = require('node:fs');
const { createServer } = require('node:http');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { Script } = require('node:vm');

const [bundle, out] = process.argv.slice(2).map((p) => resolve(p));
const dir = mkdtempSync(join(tmpdir(), 'runbox-sea-cache-'));
const job = join(dir, 'job.sh');
writeFileSync(job, 'echo hello\n');
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(201, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ id: '01CACHE0000000000000000000', status: 'queued' }));
    server.close();
  });
});
server.listen(0, '127.0.0.1', () => {
  const script = new Script(readFileSync(bundle, 'utf8'), { filename: 'runbox.cjs' });
  process.on('exit', (code) => {
    rmSync(dir, { recursive: true, force: true });
    if (code !== 0 || process.exitCode) {
      process.stderr.write(`sea-client-cache: the warm-up submit failed (exit ${code})\n`);
      process.exitCode = 1;
      return;
    }
    writeFileSync(out, script.createCachedData());
  });
  // No config file or environment of the machine that packages: the defaults.
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('RUNBOX_') || name.startsWith('DOCKER_')) delete process.env[name];
  }
  process.env.XDG_CONFIG_HOME = dir;
  const url = `http://127.0.0.1:${server.address().port}`;
  process.argv = [process.argv[0], 'runbox', 'submit', job, '--server', url];
  const module = { exports: {} };
  script
    .runInThisContext()
    .call(module.exports, module.exports, require, module, bundle, __dirname);
});
