// ../shared/bench-peers, run case by case alongside runbox's own runs. Its run.sh runs
// every case of every peer one after the other (and writes its own results.md); here the
// same scripts run interleaved with runbox's runs, with the same N, so each ratio is
// measured side by side. Servers are started as run.sh starts them and stopped by pid.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureApt, have, lastJson, run, sleep } from './proc.mjs';

export const PEERS_SRC = resolve(process.env.BENCH_PEERS_DIR ?? '../shared/bench-peers');
/**
 * A writable copy (the shared folder may be read-only); node_modules kept between runs,
 * one copy per Node ABI: the peers' better-sqlite3 is a native addon, and a copy built
 * for another Node fails to load (the SQLite floor and plainjob then measured nothing).
 */
const WORK =
  process.env.BENCH_PEERS_WORK ?? `/var/tmp/runbox-bench-peers-abi${process.versions.modules}`;

/** Copies the harness and installs its dependencies once. */
export async function preparePeers(log) {
  if (!existsSync(join(PEERS_SRC, 'run.sh'))) throw new Error(`no peer harness at ${PEERS_SRC}`);
  mkdirSync(WORK, { recursive: true });
  const stamp = join(WORK, '.installed-from-lock');
  const lock = readFileSync(join(PEERS_SRC, 'package-lock.json'), 'utf8');
  cpSync(PEERS_SRC, WORK, { recursive: true, filter: (src) => !src.includes('node_modules') });
  await run('chmod', ['-R', 'u+w', WORK]);
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lock) {
    log('installing the peers (npm; better-sqlite3 compiles from source: ~2 min)');
    // npm 11 refuses install scripts it was not told about; the copy's package.json says.
    const pkg = JSON.parse(readFileSync(join(WORK, 'package.json'), 'utf8'));
    pkg.allowScripts = { 'better-sqlite3': true, 'msgpackr-extract': false };
    writeFileSync(join(WORK, 'package.json'), JSON.stringify(pkg, null, 2));
    const ci = await run('npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: WORK,
      allowFailure: true,
    });
    // Its lock file may predate this npm (npm ci then refuses): install resolves it.
    if (ci.code !== 0) await run('npm', ['install', '--no-audit', '--no-fund'], { cwd: WORK });
    writeFileSync(stamp, lock);
  }
  return WORK;
}

async function pgBin() {
  if (await have('initdb')) {
    const { stdout } = await run('sh', ['-c', 'dirname "$(readlink -f "$(command -v initdb)")"']);
    return stdout.trim();
  }
  const { stdout } = await run(
    'sh',
    ['-c', 'ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1'],
    { allowFailure: true },
  );
  return stdout.trim();
}

/** Starts a private Redis and PostgreSQL as run.sh does; stop() stops both. */
export async function startPeerServers(log) {
  if (!(await have('redis-server')) || !(await pgBin())) {
    await ensureApt('redis-server', ['redis-server', 'postgresql'], log);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'runbox-bench-servers-'));
  const env = { REDIS_PORT: process.env.REDIS_PORT ?? '6390' };
  const { spawn } = await import('node:child_process');
  const redis = spawn(
    'redis-server',
    [
      '--port',
      env.REDIS_PORT,
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      tmp,
      '--logfile',
      join(tmp, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; ; i++) {
    const { code } = await run('redis-cli', ['-p', env.REDIS_PORT, 'ping'], { allowFailure: true });
    if (code === 0) break;
    if (i > 100) throw new Error('redis did not start');
    await sleep(100);
  }
  const bin = await pgBin();
  const pgDir = join(tmp, 'pg');
  mkdirSync(pgDir);
  const root = process.getuid?.() === 0;
  const asPg = (cmd, args) =>
    root ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args);
  if (root) await run('chown', ['postgres:', pgDir]);
  await run('chmod', ['755', tmp]);
  const port = process.env.BENCH_PGPORT ?? '5440';
  await asPg(join(bin, 'initdb'), [
    '-D',
    join(pgDir, 'data'),
    '-U',
    'postgres',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  await asPg(join(bin, 'pg_ctl'), [
    '-D',
    join(pgDir, 'data'),
    '-l',
    join(pgDir, 'postgres.log'),
    '-w',
    '-o',
    `-p ${port} -k ${pgDir} -c listen_addresses=''`,
    'start',
  ]);
  Object.assign(env, { PGHOST: pgDir, PGPORT: port, PGUSER: 'postgres', PGDATABASE: 'postgres' });
  log(`redis (pid ${redis.pid}) and postgresql (port ${port}) started for the peers`);
  return {
    env,
    async stop() {
      redis.kill('SIGTERM');
      await asPg(join(bin, 'pg_ctl'), [
        '-D',
        join(pgDir, 'data'),
        '-m',
        'fast',
        '-w',
        'stop',
      ]).catch(() => {});
      await sleep(200);
      rmSync(tmp, { recursive: true, force: true });
      log('peer servers stopped');
    },
  };
}

/** One run of one peer case; its JSON line (times in ms for n jobs). */
export async function runPeer(dir, peer, env) {
  const { stdout } = await run('node', [`${peer.system}.mjs`, peer.case], {
    cwd: dir,
    env: { ...process.env, ...env },
    timeoutMs: 600_000,
  });
  return lastJson(stdout);
}
