import { describe, expect, it } from 'vitest';
import { toEngineError } from '../../src/executor/engineErrors.js';

const apiError = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) bad parameter - ${message}`), {
    statusCode,
    json: { message },
  });

describe('engine errors', () => {
  it('a request the engine refuses as invalid is InvalidSpec, which does not retry', () => {
    const error = toEngineError(
      apiError(400, 'Minimum memory limit allowed is 6MB'),
      'creating a container',
    );
    expect(error.type).toBe('InvalidSpec');
    expect(error.message).toMatch(/Minimum memory limit/);
  });
  it('more CPUs than the engine has names limits.cpus and the most it takes', () => {
    const error = toEngineError(
      apiError(400, 'Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available'),
      'creating a container',
    );
    expect(error).toMatchObject({
      type: 'InvalidSpec',
      field: 'limits.cpus',
      message: 'limits.cpus: this Docker engine has 2.00 CPUs; ask for at most 2.00',
    });
  });
  it('an unreachable socket is EngineUnavailable; other engine failures are Internal', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(toEngineError(refused, 'pinging').type).toBe('EngineUnavailable');
    expect(toEngineError(apiError(500, 'driver failed'), 'starting').type).toBe('Internal');
  });
  it('a full data disk is named as such, not as a Docker engine error', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
    });
    const error = toEngineError(full, 'reading the logs');
    expect(error.type).toBe('Internal');
    expect(error.message).toMatch(/^the data disk is full while reading the logs \(ENOSPC/);
    expect(error.message).not.toMatch(/Docker engine/);
  });
});
