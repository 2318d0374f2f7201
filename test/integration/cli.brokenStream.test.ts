import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import { RUNBOX_BUNDLE } from '../helpers/serverProcess.js';
import { tcpRelay, type TcpRelay } from '../helpers/tcpRelay.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';
import {
  runbox,
  shellJob,
  startOutputsServer,
  submit,
  waitFinal,
  type OutputsServer,
} from './outputsKit.js';

/**
 * A connection that breaks in the middle of an answer's body (the server killed or
 * restarted, a proxy dropping it) is the server going away: `runbox logs -f` and
 * `runbox outputs -o` said `runbox: Internal: terminated` and exited 70.
 */
describe('a client command whose answer is cut mid-body', () => {
  let rb: OutputsServer;
  let relay: TcpRelay;
  const temp: string[] = [];

  beforeAll(async () => {
    rb = await startOutputsServer('broken-stream');
    relay = await tcpRelay(new URL(rb.url), { cutAfterBytes: 256 * 1024 });
  });

  afterEach(() => expectNoLeftoverContainers(TEST_INSTANCE));

  afterAll(async () => {
    await relay?.down();
    await rb?.stop();
    for (const dir of temp) rmSync(dir, { recursive: true, force: true });
  });

  it('outputs -o exits 69 naming the server and the file, and a second run resumes it', async () => {
    const id = await submit(
      rb.url,
      shellJob('head -c 4000000 /dev/urandom > "$RUNBOX_OUTPUTS/big.bin"'),
    );
    expect((await waitFinal(rb.url, id)).status).toBe('succeeded');
    const dir = mkdtempSync(join(tmpdir(), 'runbox-broken-o-'));
    temp.push(dir);

    const cut = await runbox(relay.endpoint, ['outputs', id, '-o', dir]);
    expect(cut.code, cut.stderr).toBe(69);
    expect(cut.stderr).toContain('ServerUnavailable');
    expect(cut.stderr).toContain(`the connection to the runbox server at ${relay.endpoint} broke`);
    expect(cut.stderr).toContain('output big.bin');
    expect(cut.stderr).toContain('run the same command again');
    const partial = statSync(join(dir, 'big.bin')).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(4_000_000);

    const again = await runbox(rb.url, ['outputs', id, '-o', dir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('big.bin  4000000 bytes  sha256 ok');
  });

  it('logs -f whose connection is cut waits, asks again from the byte it reached, and ends with the job', async () => {
    const id = await submit(rb.url, shellJob('seq 1 200000; sleep 2'));
    const child = spawn(
      process.execPath,
      [RUNBOX_BUNDLE, 'logs', id, '-f', '--server', relay.endpoint],
      { env: { ...process.env, RUNBOX_CONFIG: '', RUNBOX_SERVER: '' } },
    );
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect(code, stderr).toBe(0);
    expect((await waitFinal(rb.url, id)).status).toBe('succeeded');
    const stored = await runbox(rb.url, ['logs', id]);
    // seq's 1,288,895 bytes came over several cut connections: each byte once.
    expect(stored.stdoutBytes.length).toBe(1_288_895);
    expect(Buffer.concat(stdout).equals(stored.stdoutBytes)).toBe(true);
    expect(stderr).toContain(`the connection to the runbox server at ${relay.endpoint} broke`);
    expect(stderr).toContain('waiting up to 60 s (--reconnect-seconds) for it to come back');
    expect(stderr).toContain('the server answers again');
  });
});
