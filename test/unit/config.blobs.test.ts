import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, resolveConfig } from '../../src/config.js';

describe('config: blobs', () => {
  const keys = { RUNBOX_S3_ACCESS_KEY_ID: 'AKIDEXAMPLE', RUNBOX_S3_SECRET_ACCESS_KEY: 's3cr3t' };

  it('is the local store by default', () => {
    expect(loadConfig({ env: {} }).blobs).toBeNull();
  });

  it('takes an s3:// URL from RUNBOX_BLOBS or a flag, and the keys from the environment', () => {
    const { config, sources } = resolveConfig({
      env: { RUNBOX_BLOBS: 's3://from-env?endpoint=http://127.0.0.1:9000', ...keys },
    });
    expect(config.blobs).toEqual({
      kind: 's3',
      bucket: 'from-env',
      endpoint: 'http://127.0.0.1:9000',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 's3cr3t' },
    });
    expect(sources['blobs.credentials']).toMatch(/RUNBOX_S3_ACCESS_KEY_ID/);
    const flagged = loadConfig({
      env: { RUNBOX_BLOBS: 's3://from-env' },
      overrides: { blobs: { kind: 's3', bucket: 'from-flag', prefix: 'p/' } },
    });
    expect(flagged.blobs).toMatchObject({ bucket: 'from-flag', prefix: 'p/' });
  });

  it('reads a blobs block from the file, keys included, and refuses unknown keys in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-config-'));
    const file = join(dir, 'c.json');
    const blobs = {
      kind: 's3',
      bucket: 'runbox',
      region: 'eu-west-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      cacheMaxBytes: 1000,
      multipart: { thresholdBytes: 8 * 1024 * 1024, partBytes: 5 * 1024 * 1024, concurrency: 2 },
    };
    writeFileSync(file, JSON.stringify({ blobs }));
    expect(loadConfig({ env: {}, file }).blobs).toEqual(blobs);
    // Keys in the environment win over the file's.
    expect(loadConfig({ env: keys, file }).blobs).toMatchObject({
      credentials: { accessKeyId: 'AKIDEXAMPLE' },
    });
    writeFileSync(file, JSON.stringify({ blobs: { ...blobs, acl: 'public-read' } }));
    expect(() => loadConfig({ env: {}, file })).toThrow(/blobs/);
    // A part of 0 bytes, or a threshold past what one PUT takes, is refused at load.
    for (const multipart of [{ partBytes: 0 }, { thresholdBytes: 6 * 1024 ** 3 }]) {
      writeFileSync(file, JSON.stringify({ blobs: { ...blobs, multipart } }));
      expect(() => loadConfig({ env: {}, file })).toThrow(/multipart/);
    }
  });

  it('refuses a malformed RUNBOX_BLOBS naming the variable', () => {
    expect(() => loadConfig({ env: { RUNBOX_BLOBS: 'ftp://x' } })).toThrow(
      /blobs: .*not supported/,
    );
  });
});
