import { describe, expect, it } from 'vitest';
import { ANSWER_IDLE_MS, ANSWER_MAX_BYTES, requestLimits } from '../../src/cli/client.js';

describe('requestLimits: the cap and the idle clock of one JSON call', () => {
  it("gives a wait=true call its wait_seconds on top of the clock, the server's 60 s when it names none", () => {
    const limits = (query: string) => requestLimits(new URL(`http://h/v1/jobs/j1${query}`));
    expect(limits('')).toEqual({ maxBytes: ANSWER_MAX_BYTES, idleMs: ANSWER_IDLE_MS });
    expect(limits('?wait=true&wait_seconds=5').idleMs).toBe(ANSWER_IDLE_MS + 5000);
    expect(limits('?wait=true').idleMs).toBe(ANSWER_IDLE_MS + 60_000);
    expect(limits('?wait=false&wait_seconds=600').idleMs).toBe(ANSWER_IDLE_MS);
  });
});
