import { describe, expect, it } from 'vitest';
import { RunboxError } from '../../src/errors/index.js';
import { createLogger } from '../../src/log.js';
import { OUTAGE_REMINDER_MS, QueueHealth } from '../../src/queue/queueUnavailable.js';

const down = () =>
  new RunboxError('StorageUnavailable', 'the queue database does not answer', {
    field: 'queue.url',
  });

describe('QueueHealth.quiet', () => {
  it('logs an outage once, reminds once a minute with the count held back, and says when the database is back', () => {
    const lines: Array<Record<string, unknown>> = [];
    let now = 1_000_000;
    const logger = createLogger('debug', (line) => lines.push(JSON.parse(line)));
    const health = new QueueHealth(logger, () => now);
    const log = health.quiet(logger);

    log.error('claim failed', { error: down() });
    health.observe(down());
    for (let i = 0; i < 30; i++) {
      now += 1000;
      log.error('claim failed', { error: down() });
      log.warn('scheduler turn failed', { error: down() });
    }
    // Other failures are never held back.
    log.error('claim failed', { error: new RunboxError('Internal', 'a bug') });
    expect(lines.map((line) => line['msg'])).toEqual(['claim failed', 'claim failed']);

    now += OUTAGE_REMINDER_MS - 30_000;
    log.error('reaper failed', { error: down() });
    expect(lines[2]).toMatchObject({
      level: 'warn',
      msg: 'the queue database still does not answer',
      unavailable_ms: OUTAGE_REMINDER_MS,
      failures_not_logged: 61,
    });

    now += 5000;
    health.observe(null);
    expect(lines[3]).toMatchObject({
      level: 'info',
      msg: 'the queue database answers again',
      unavailable_ms: OUTAGE_REMINDER_MS + 5000,
      failures_not_logged: 61,
    });
    expect(health.isUp()).toBe(true);

    // The next outage's first failure is logged again.
    log.error('heartbeat failed', { error: down() });
    expect(lines).toHaveLength(5);
    expect(lines[4]).toMatchObject({
      msg: 'heartbeat failed',
      error: { type: 'StorageUnavailable' },
    });
  });
});
