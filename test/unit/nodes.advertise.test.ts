import { describe, expect, it } from 'vitest';
import { hostAllowed } from '../../src/api/hostCheck.js';
import { loadConfig } from '../../src/config.js';
import { advertisedUrl } from '../../src/nodes/advertise.js';

describe('advertiseUrl: where other nodes reach this API (logs -f across nodes)', () => {
  it('defaults to the bound address and port, bracketing IPv6', () => {
    expect(advertisedUrl({ advertiseUrl: null, host: '127.0.0.1' }, 7070)).toBe(
      'http://127.0.0.1:7070',
    );
    expect(advertisedUrl({ advertiseUrl: null, host: '::1' }, 9)).toBe('http://[::1]:9');
    expect(advertisedUrl({ advertiseUrl: null, host: '10.1.2.3' }, 80)).toBe('http://10.1.2.3:80');
  });

  it('advertises an address literal of this machine on a wildcard bind, never 0.0.0.0', () => {
    for (const host of ['0.0.0.0', '::']) {
      const url = new URL(advertisedUrl({ advertiseUrl: null, host }, 7070));
      expect(url.hostname).not.toBe('0.0.0.0');
      expect(url.hostname).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(url.port).toBe('7070');
    }
  });

  it('takes the configured URL as given, without a trailing slash', () => {
    expect(advertisedUrl({ advertiseUrl: 'https://node-3.internal:8443/', host: '::' }, 1)).toBe(
      'https://node-3.internal:8443',
    );
  });

  it('is read from the config file, RUNBOX_ADVERTISE_URL or a flag, and refused when not a base URL', () => {
    expect(loadConfig({ env: {} }).advertiseUrl).toBeNull();
    expect(loadConfig({ env: { RUNBOX_ADVERTISE_URL: 'http://n1:7070' } }).advertiseUrl).toBe(
      'http://n1:7070',
    );
    for (const bad of [
      'n1:7070',
      'ftp://n1',
      'http://n1:7070/api',
      'http://u:p@n1',
      'http://n1?x=1',
      '',
    ]) {
      let caught: unknown;
      try {
        loadConfig({ env: {}, overrides: { advertiseUrl: bad } });
      } catch (error) {
        caught = error;
      }
      expect(caught, bad).toMatchObject({ type: 'InvalidConfig', field: 'advertiseUrl' });
    }
  });

  it("the advertised name is a Host the API answers to; other names still get 421's check", () => {
    const config = {
      host: '0.0.0.0',
      allowedHosts: [],
      advertiseUrl: 'http://Node-3.Internal:7070',
    };
    expect(hostAllowed('node-3.internal', config)).toBe(true);
    expect(hostAllowed('evil.example', config)).toBe(false);
    expect(hostAllowed('node-3.internal', { ...config, advertiseUrl: null })).toBe(false);
  });
});
