import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RUNBOX_BUNDLE } from '../helpers/serverProcess.js';

/**
 * A config file in a searched place that the user runbox runs as cannot read. README's
 * staging box made /etc/runbox 0750 root:root and ran serve as the user runbox: the
 * config there was skipped without a word and serve ran on defaults. Run as nobody when
 * the tests run as root (root reads anything), else as this user.
 */
describe('a config file runbox cannot read', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const asRoot = process.getuid?.() === 0;
  const configShow = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [RUNBOX_BUNDLE, 'config', 'show', '--json'], {
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });

  /** A home for the test user with config/runbox/config.json in it. */
  const home = () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-config-access-'));
    dirs.push(dir);
    chmodSync(dir, 0o755);
    const runboxDir = join(dir, 'config', 'runbox');
    mkdirSync(runboxDir, { recursive: true });
    chmodSync(join(dir, 'config'), 0o755);
    writeFileSync(join(runboxDir, 'config.json'), '{"workers": 7}');
    if (asRoot) chownSync(dir, 65534, 65534);
    return { dir, runboxDir, file: join(runboxDir, 'config.json') };
  };

  it('exits 78 naming the file and the fix when its folder exists but cannot be searched', () => {
    const { dir, runboxDir, file } = home();
    // root's own folder, closed to nobody; or this user's own without its search bit.
    chmodSync(runboxDir, asRoot ? 0o700 : 0o600);
    const run = configShow({ HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') });
    expect(run.status).toBe(78);
    const error = (JSON.parse(run.stdout) as { error: { type: string; message: string } }).error;
    expect(error.type).toBe('InvalidConfig');
    expect(error.message).toContain(`cannot read config file ${file}`);
    expect(error.message).toContain('readable by the user runbox runs as');
  });

  it('exits 78 naming the fix when the file itself cannot be read', () => {
    const { dir, file } = home();
    chmodSync(file, asRoot ? 0o600 : 0o000);
    const run = configShow({ HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') });
    expect(run.status).toBe(78);
    expect(run.stdout).toContain('readable by the user runbox runs as');
  });

  /** runbox as a uid with no passwd entry and no HOME (needs root): os.homedir() throws. */
  const noHome = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [RUNBOX_BUNDLE, ...args], {
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
      uid: 54321,
      gid: 54321,
    });

  it('with no home at all (HOME unset, a uid with no passwd entry) needs only a data dir', () => {
    // Every command, a submit to a server included, died Internal (70) quoting uv_os_homedir.
    const bare = noHome(['config', 'show']);
    expect(bare.status).toBe(78);
    expect(bare.stderr).toMatch(
      /dataDir: HOME is unset and uid 54321 .*set HOME, or RUNBOX_DATA_DIR/,
    );
    const dataDir = join(tmpdir(), 'runbox-no-home');
    expect(noHome(['config', 'show'], { RUNBOX_DATA_DIR: dataDir }).status).toBe(0);
    const client = noHome(['ls'], {
      RUNBOX_DATA_DIR: dataDir,
      RUNBOX_SERVER: 'http://127.0.0.1:9',
    });
    expect(client.stderr).toContain('ServerUnavailable');
    expect(client.status).toBe(69);
  });

  it('with no home at all, a command that talks to a named server needs no data dir', () => {
    // `runbox ls --server URL` was refused 78 "dataDir: HOME is unset" though it never
    // opens one: a CI step as a bare uid had to invent a data dir to list jobs.
    const server = ['--server', 'http://127.0.0.1:9'];
    for (const args of [
      ['ls'],
      ['status', 'j1'],
      ['logs', 'j1'],
      ['cancel', 'j1'],
      ['healthcheck'],
    ]) {
      const run = noHome([...args, ...server]);
      expect(run.stderr, args.join(' ')).toContain('ServerUnavailable');
      expect(run.status, args.join(' ')).toBe(69);
    }
    const byEnv = noHome(['runtimes'], { RUNBOX_SERVER: 'http://127.0.0.1:9' });
    expect(byEnv.stderr).toContain('ServerUnavailable');
    expect(byEnv.status).toBe(69);
  });

  it('with no home at all, pull needs no data dir: it goes to the engine', () => {
    // pull read the full config, so a uid with no home was refused 78 "dataDir: HOME is
    // unset", asking for a data dir pull never opens. The config is named: a searched
    // /etc/runbox this uid cannot read is another test's subject.
    const dir = mkdtempSync(join(tmpdir(), 'runbox-no-home-pull-'));
    dirs.push(dir);
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'config.json'), '{}', { mode: 0o644 });
    const run = noHome(['pull', '127.0.0.1:9/runbox-test/nothing:1'], {
      RUNBOX_CONFIG: join(dir, 'config.json'),
    });
    expect(run.stderr).not.toContain('dataDir');
    // 69 either way: the engine's socket refuses this uid, or the registry is not there.
    expect(run.stderr).toMatch(/^runbox: (EngineUnavailable|ImageUnavailable): /);
    expect(run.status).toBe(69);
  });

  it('still skips a home it cannot enter (systemd ProtectHome=), as a missing file', () => {
    const { dir } = home();
    chmodSync(join(dir, 'config'), 0o000);
    const run = configShow({ HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect((JSON.parse(run.stdout) as { files: string[] }).files).toEqual([]);
  });
});
