import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliProcess } from '../helpers/serverProcess.js';

const dir = mkdtempSync(join(tmpdir(), 'runbox-config-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The built CLI with no config of the caller's: only what each test gives it. */
const runbox = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCliProcess(args, {
    env: {
      RUNBOX_CONFIG: '',
      RUNBOX_SERVER: '',
      RUNBOX_TOKEN: '',
      RUNBOX_DATA_DIR: join(dir, 'data'),
      XDG_CONFIG_HOME: join(dir, 'no-config'),
      ...env,
    },
  });

describe('a password in a configured URL is never printed', () => {
  it('config show replaces it with [set] in --server, a tcp:// dockerSocket and the table and --json alike', async () => {
    const env = { RUNBOX_DOCKER_SOCKET: 'tcp://engine:dockerpw@127.0.0.1:2375' };
    const server = ['--server', 'http://alice:hunter2@127.0.0.1:9'];
    const table = await runbox(['config', 'show', ...server], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/server\s+"http:\/\/alice:\[set\]@127\.0\.0\.1:9\/"\s+flag/);
    expect(table.stdout).toMatch(/dockerSocket\s+"tcp:\/\/engine:\[set\]@127\.0\.0\.1:2375"/);
    const json = await runbox(['config', 'show', '--json', ...server], env);
    expect(json.code, json.stderr).toBe(0);
    const { config } = JSON.parse(json.stdout) as { config: Record<string, unknown> };
    expect(config).toMatchObject({
      server: 'http://alice:[set]@127.0.0.1:9/',
      dockerSocket: 'tcp://engine:[set]@127.0.0.1:2375',
    });
    for (const run of [table, json]) {
      expect(run.stdout + run.stderr).not.toMatch(/hunter2|dockerpw/);
    }
  });

  it('nor in the errors that refuse such a URL (healthcheck, a bad scheme, advertiseUrl, dockerSocket)', async () => {
    const runs = [
      // fetch's own refusal quoted the whole URL: exit 69 with the password in it.
      await runbox(['healthcheck', '--server', 'http://alice:hunter2@127.0.0.1:9']),
      await runbox(['ls', '--server', 'ftp://alice:hunter2@127.0.0.1:9']),
      await runbox(['config', 'show'], { RUNBOX_ADVERTISE_URL: 'http://a:hunter2@10.0.0.5:7070' }),
      await runbox(['config', 'show'], { RUNBOX_DOCKER_SOCKET: 'ssh://a:hunter2@host' }),
    ];
    expect(runs.map((r) => r.code)).toEqual([64, 64, 78, 78]);
    expect(runs[0]!.stderr).toContain('was given with user:password@, which runbox does not send');
    for (const run of runs.slice(1)) expect(run.stderr).toContain(':[set]@');
    for (const run of runs) expect(run.stdout + run.stderr).not.toContain('hunter2');
  });
});

describe('a token in a configured URL is never printed', () => {
  it('config show hides a token in a query string or as an http(s) user name, and a 0644 file holding one is warned of', async () => {
    const file = join(dir, 'webhook-token.json');
    writeFileSync(
      file,
      JSON.stringify({
        webhooks: { url: 'https://hooks.example/in?channel=ops&token=tok-abc123' },
      }),
    );
    chmodSync(file, 0o644);
    // The secret from the environment: the file's only secret is the URL's token.
    const env = { RUNBOX_WEBHOOK_SECRET: 'whsecret-0123456789' };
    const json = await runbox(['config', 'show', '--json', '--config', file], env);
    expect(json.code, json.stderr).toBe(0);
    const { config } = JSON.parse(json.stdout) as { config: { webhooks: { url: string } } };
    expect(config.webhooks.url).toBe('https://hooks.example/in?channel=ops&token=[set]');
    expect(json.stderr).toContain(`config file ${file} holds a credential in webhooks.url`);
    const table = await runbox(['config', 'show', '--server', 'https://tok-abc123@127.0.0.1:9']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/server\s+"https:\/\/\[set\]@127\.0\.0\.1:9\/"\s+flag/);
    for (const run of [json, table]) expect(run.stdout + run.stderr).not.toContain('tok-abc123');
  });
});

describe('a config file that holds a secret and every user may read', () => {
  const fileWith = (name: string, body: object, mode: number) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(body));
    chmodSync(file, mode);
    return file;
  };
  const WARNING = /runbox: warning: config file .* every user on this machine may read it/g;

  it('is warned of once, naming the file, the keys and chmod 600', async () => {
    const file = fileWith(
      'open.json',
      {
        token: 'abcdefghijklmnopqrstuvwxyz012345',
        queue: { kind: 'postgres', url: 'postgres://runbox:pgpw@127.0.0.1:9/runbox' },
      },
      0o644,
    );
    // ls resolves its config more than once (server, then the local fallback).
    const run = await runbox(['ls', '--config', file, '--server', 'http://127.0.0.1:9']);
    expect(run.code).toBe(69);
    expect(run.stderr.match(WARNING)).toHaveLength(1);
    expect(run.stderr).toContain(
      `config file ${file} holds token, a password in queue.url and every user`,
    );
    expect(run.stderr).toContain(`(mode 0644); run \`chmod 600 ${file}\``);
    expect(run.stderr).not.toMatch(/abcdefghij|pgpw/);
  });

  it('is not warned of when only its owner (0600) or its group (0640) may read it, or it holds no secret', async () => {
    const secret = { webhooks: { url: 'https://hooks.example/x', secret: 'whsecret-0123456789' } };
    for (const file of [
      fileWith('owner.json', secret, 0o600),
      fileWith('group.json', secret, 0o640),
      fileWith('plain.json', { workers: 3 }, 0o644),
    ]) {
      const run = await runbox(['config', 'show', '--config', file]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr, file).toBe('');
    }
  });
});
