import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import { RUNBOX_BUNDLE } from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';
import {
  getJob,
  http,
  pythonJob,
  runbox,
  shellJob,
  startOutputsServer,
  submit,
  waitFinal,
  type OutputsServer,
} from './outputsKit.js';

/**
 * Issue 4, logs: capped to head and tail with a truncation flag, stored as blobs and
 * read back by `runbox logs` after the job, followed live by `runbox logs -f` while it runs.
 */
const CAP = 64 * 1024;
const LINES = 20_000; // 20,000 lines of 32 bytes: 640,000 bytes, ten times the cap

const CHATTY = `
import sys
for i in range(${LINES}):
    sys.stdout.write("line %06d of the chatty job..\\n" % i)
sys.stderr.write("a word on stderr\\n")
`;

const TICKER = `
i=0
while [ $i -lt 8 ]; do echo "tick $i"; i=$((i+1)); sleep 0.4; done
echo done
`;

describe('logs', () => {
  let rb: OutputsServer;

  beforeAll(async () => {
    rb = await startOutputsServer('outputs-logs', { limits: { logBytes: CAP } });
  });
  afterEach(() => expectNoLeftoverContainers(TEST_INSTANCE));
  afterAll(async () => rb?.stop());

  it('a log over the cap keeps head and tail, flags the cut, and counts every byte', async () => {
    const id = await submit(rb.url, pythonJob(CHATTY));
    const job = await waitFinal(rb.url, id);
    expect(job.status).toBe('succeeded');
    expect(job.result!.stdout).toMatchObject({ bytes: LINES * 32, truncated: true });
    expect(job.result!.stderr).toMatchObject({ bytes: 17, truncated: false });

    const stored = (await http(`${rb.url}/v1/jobs/${id}/logs`)).body.toString();
    const omitted = /\n\[runbox: (\d+) bytes omitted\]\n/.exec(stored);
    expect(omitted, stored.slice(0, 200)).not.toBeNull();
    const [head, tail] = stored.split(omitted![0]) as [string, string];
    expect(head.length + omitted![0].length + tail.length).toBe(CAP);
    expect(Number(omitted![1]) + head.length + tail.length).toBe(LINES * 32);
    expect(head.startsWith('line 000000 of the chatty job..\n')).toBe(true);
    expect(tail.endsWith(`line ${String(LINES - 1).padStart(6, '0')} of the chatty job..\n`)).toBe(
      true,
    );

    // `runbox logs` after the job prints the stored log, byte for byte.
    const cli = await runbox(rb.url, ['logs', id]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toBe(stored);
    const err = await runbox(rb.url, ['logs', id, '--stderr']);
    expect(err.code).toBe(0);
    // The job's stderr, printed on the CLI's stdout so `> err.txt` captures it.
    expect(err.stdout).toBe('a word on stderr\n');
  });

  it('runbox logs -f streams a running job live: lines arrive before the job ends', async () => {
    const id = await submit(rb.url, shellJob(TICKER));
    const follower = spawn(
      process.execPath,
      [RUNBOX_BUNDLE, 'logs', id, '-f', '--server', rb.url],
      { env: { ...process.env, RUNBOX_CONFIG: '', RUNBOX_SERVER: '' } },
    );
    let output = '';
    let statusAtFirstTick: string | null = null;
    const firstTick = new Promise<void>((resolve) => {
      follower.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('tick 0') && statusAtFirstTick === null) {
          statusAtFirstTick = 'pending';
          void getJob(rb.url, id).then((job) => {
            statusAtFirstTick = job.status;
            resolve();
          });
        }
      });
    });
    const exited = new Promise<number | null>((resolve) => follower.on('close', resolve));
    await firstTick;
    expect(statusAtFirstTick).toBe('running');
    expect(output).not.toContain('done');
    expect(await exited).toBe(0);
    expect((await getJob(rb.url, id)).status).toBe('succeeded');
    expect(output).toBe(Array.from({ length: 8 }, (_, i) => `tick ${i}\n`).join('') + 'done\n');
  });
});
