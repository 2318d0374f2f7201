import { describe, expect, it } from 'vitest';
import { parseBlobsUrl } from '../../src/storage/s3/blobsUrl.js';

describe('--blobs s3://bucket/prefix?endpoint=...', () => {
  it('reads bucket, prefix and parameters', () => {
    expect(parseBlobsUrl('s3://runbox')).toEqual({ kind: 's3', bucket: 'runbox' });
    expect(
      parseBlobsUrl(
        's3://my.bucket-1/team/a?endpoint=http://127.0.0.1:9000&region=eu-west-1&forcePathStyle=false',
      ),
    ).toEqual({
      kind: 's3',
      bucket: 'my.bucket-1',
      prefix: 'team/a/',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      forcePathStyle: false,
    });
    expect(parseBlobsUrl('s3://runbox/p/').prefix).toBe('p/');
  });

  it.each([
    ['runbox', /not a URL/],
    ['file:///tmp/blobs', /not supported/],
    ['s3://AKIA:secret@runbox', /credentials do not belong in the URL/],
    ['s3://Upper_Case', /not a valid bucket name/],
    ['s3://ab', /not a valid bucket name/],
    ['s3://runbox?endpoint=ftp://x', /must be http/],
    ['s3://runbox?endpoint=nope', /is not a URL/],
    ['s3://runbox?forcePathStyle=yes', /true or false/],
    ['s3://runbox?acl=public', /unknown parameter "acl"/],
  ])('refuses %s, naming the field and the fix', (value, message) => {
    expect(() => parseBlobsUrl(value)).toThrow(message);
    try {
      parseBlobsUrl(value);
    } catch (error) {
      expect(error).toMatchObject({ type: 'InvalidConfig', field: 'blobs' });
    }
  });
});
