import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import {
  http,
  runbox,
  shellJob,
  startOutputsServer,
  submit,
  waitFinal,
  type OutputsServer,
} from './outputsKit.js';

/**
 * Job ids as a user types them against a real `runbox serve`: ULIDs are Crockford base32,
 * which reads letters in either case, so a lower or mixed case id names the job on the
 * HTTP routes and in the CLI, answered with the id as stored (upper case). A lower case
 * id was 404 / exit 66. And the values an error quotes back (a Range header) cut.
 */

/** The id with every other letter lower case. */
const mixedCase = (id: string) => [...id].map((c, i) => (i % 2 ? c.toLowerCase() : c)).join('');

describe('job ids in any case', () => {
  let rb: OutputsServer;
  let done: string;

  beforeAll(async () => {
    rb = await startOutputsServer('job-ids');
    done = await submit(rb.url, shellJob('echo hello'));
    expect((await waitFinal(rb.url, done)).status).toBe('succeeded');
  });
  afterAll(async () => rb?.stop());

  it('status and logs answer for a lower or mixed case id, over HTTP and in the CLI', async () => {
    for (const given of [done.toLowerCase(), mixedCase(done)]) {
      const job = await http(`${rb.url}/v1/jobs/${given}`);
      expect(job.status, job.body.toString()).toBe(200);
      expect((JSON.parse(job.body.toString()) as JobView).id).toBe(done);
      const logs = await http(`${rb.url}/v1/jobs/${given}/logs`);
      expect([logs.status, logs.body.toString()]).toEqual([200, 'hello\n']);

      const status = await runbox(rb.url, ['status', given, '--json']);
      expect(status.code, status.stderr).toBe(0);
      expect((JSON.parse(status.stdout) as JobView).id).toBe(done);
      const printed = await runbox(rb.url, ['logs', given]);
      expect([printed.code, printed.stdout]).toEqual([0, 'hello\n']);
    }
  });

  it('cancel takes a lower or mixed case id, over HTTP and in the CLI', async () => {
    const overHttp = await submit(rb.url, shellJob('sleep 60'));
    const cancelled = await http(`${rb.url}/v1/jobs/${overHttp.toLowerCase()}/cancel`, {
      method: 'POST',
    });
    expect(cancelled.status, cancelled.body.toString()).toBe(200);
    expect((JSON.parse(cancelled.body.toString()) as JobView).id).toBe(overHttp);

    const fromCli = await submit(rb.url, shellJob('sleep 60'));
    const cli = await runbox(rb.url, ['cancel', mixedCase(fromCli), '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    expect((JSON.parse(cli.stdout) as JobView).id).toBe(fromCli);
    for (const id of [overHttp, fromCli]) {
      expect((await waitFinal(rb.url, id)).status, id).toBe('cancelled');
    }
  });

  it('a malformed id is still refused naming it: params.id over HTTP, id in the CLI', async () => {
    const answer = await http(`${rb.url}/v1/jobs/a%20b`);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body.toString())).toMatchObject({
      error: {
        type: 'InvalidSpec',
        field: 'params.id',
        message: 'params.id: "a b" is not a job id',
      },
    });
    const cli = await runbox(rb.url, ['status', 'a b']);
    expect([cli.code, cli.stderr]).toEqual([
      65,
      'runbox: InvalidSpec: id: "a b" is not a job id\n',
    ]);
  });

  // Seen: `Range: bytes=<5000 digits>` came back whole in the 416's message.
  it('a Range header it cannot satisfy is quoted cut in the 416', async () => {
    const range = `bytes=${'9'.repeat(5000)}`;
    const answer = await http(`${rb.url}/v1/jobs/${done}/logs`, { headers: { range } });
    expect(answer.status).toBe(416);
    const { message } = (JSON.parse(answer.body.toString()) as { error: { message: string } })
      .error;
    expect(message).toBe(
      `range "bytes=${'9'.repeat(43)}… (5006 characters) is not one range inside 0-5`,
    );
  });
});
