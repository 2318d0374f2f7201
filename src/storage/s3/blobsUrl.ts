import type { BlobStoreConfig } from '../../backendConfig.js';
import { RunboxError } from '../../errors/index.js';

type S3Config = Extract<BlobStoreConfig, { kind: 's3' }>;

function invalid(message: string): RunboxError {
  return new RunboxError('InvalidConfig', `blobs: ${message}`, { field: 'blobs' });
}

/**
 * `--blobs` as a URL: `s3://BUCKET[/PREFIX][?endpoint=URL&region=R&forcePathStyle=true]`.
 * The prefix is the key prefix before `blobs/<sha256>` (none: keys start at `blobs/`).
 * Credentials never go in the URL (it is logged and shown): they come from
 * RUNBOX_S3_ACCESS_KEY_ID / RUNBOX_S3_SECRET_ACCESS_KEY or the config file.
 */
export function parseBlobsUrl(value: string): S3Config {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`"${value}" is not a URL; expected s3://bucket/prefix?endpoint=http://host:port`);
  }
  if (url.protocol !== 's3:') {
    throw invalid(`"${url.protocol}" URLs are not supported; expected s3://bucket/prefix`);
  }
  if (url.username || url.password) {
    throw invalid(
      'credentials do not belong in the URL; set RUNBOX_S3_ACCESS_KEY_ID and RUNBOX_S3_SECRET_ACCESS_KEY',
    );
  }
  const bucket = url.hostname;
  // S3's bucket rules: 3-63 of lowercase letters, digits, dots and hyphens.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw invalid(
      `"${bucket}" is not a valid bucket name (3-63 lowercase letters, digits, . and -)`,
    );
  }
  const path = decodeURIComponent(url.pathname).replace(/^\/+/, '');
  const config: S3Config = { kind: 's3', bucket };
  if (path) config.prefix = path.endsWith('/') ? path : `${path}/`;
  for (const [key, v] of url.searchParams) {
    switch (key) {
      case 'endpoint': {
        let endpoint: URL;
        try {
          endpoint = new URL(v);
        } catch {
          throw invalid(`endpoint "${v}" is not a URL`);
        }
        if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
          throw invalid(`endpoint "${v}" must be http:// or https://`);
        }
        config.endpoint = v;
        break;
      }
      case 'region':
        if (!v) throw invalid('region is empty');
        config.region = v;
        break;
      case 'forcePathStyle':
        if (v !== 'true' && v !== 'false') throw invalid('forcePathStyle must be true or false');
        config.forcePathStyle = v === 'true';
        break;
      default:
        throw invalid(`unknown parameter "${key}" (known: endpoint, region, forcePathStyle)`);
    }
  }
  return config;
}
