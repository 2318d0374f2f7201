import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { JobService, type JobQueue } from '../../src/api/jobService.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { testConfig } from '../helpers/testConfig.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A real queue whose whole-job reads are counted. */
function countingQueue() {
  const { config, cleanup } = testConfig();
  const queue = SqliteQueue.open(config);
  cleanups.push(() => {
    queue.close();
    cleanup();
  });
  const reads = { get: 0 };
  const counted: JobQueue = new Proxy(queue, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (name === 'get') reads.get++;
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  return { jobs: new JobService(config, counted), reads };
}

describe('JobService.waitFinal', () => {
  it('polls the status alone: a job carrying megabytes of input files is read whole only to answer', async () => {
    const { jobs, reads } = countingQueue();
    const { job } = await jobs.submit({
      runtime: 'shell',
      script: { path: 'job.sh', content: 'true\n' },
      files: [
        {
          path: 'data.bin',
          content: randomBytes(4 * 1024 * 1024).toString('base64'),
          encoding: 'base64',
        },
      ],
    });
    const waited = jobs.waitFinal(job.id);
    // Long enough for several polls (10, 20, 40, ... 200 ms apart).
    await new Promise((resolve) => setTimeout(resolve, 700));
    // Before: every poll read and parsed the whole row, spec and its files included
    // (`runbox run --file` of 300 MB spent minutes and gigabytes on its own polls).
    expect(reads.get).toBeLessThanOrEqual(1);
    await jobs.cancel(job.id);
    const final = await waited;
    expect(final.status).toBe('cancelled');
    expect(final.spec.files?.[0]?.path).toBe('data.bin');
  });

  it('still names an unknown job NotFound, and answers the job as it is when the wait runs out', async () => {
    const { jobs } = countingQueue();
    await expect(jobs.waitFinal('01M8RNHEC7CRC1RGMPM9P9H1JY')).rejects.toMatchObject({
      type: 'NotFound',
    });
    const { job } = await jobs.submit({ runtime: 'shell', command: ['true'] });
    const answer = await jobs.waitFinal(job.id, 50);
    expect(answer.status).toBe('queued');
  });
});
