import type { QueueBackendConfig } from './backendConfig.js';
import { RunboxError } from './errors/index.js';

/**
 * `--queue` and RUNBOX_QUEUE name the queue by URL: postgres:// (or postgresql://) for
 * PostgreSQL, sqlite:PATH for a SQLite file. `field` names where it came from in the
 * message.
 */
export function queueFromUrl(value: string, field: string): QueueBackendConfig {
  if (/^postgres(ql)?:\/\//i.test(value)) {
    try {
      new URL(value);
    } catch {
      throw new RunboxError('InvalidConfig', `${field}: "${redactUrl(value)}" is not a valid URL`, {
        field,
      });
    }
    return { kind: 'postgres', url: value };
  }
  if (value.startsWith('sqlite:') && value.length > 'sqlite:'.length) {
    return { kind: 'sqlite', path: value.slice('sqlite:'.length) };
  }
  throw new RunboxError(
    'InvalidConfig',
    `${field}: "${redactUrl(value)}" names no queue runbox knows; use ` +
      'postgres://user:password@host:port/database or sqlite:/path/to/runbox.db',
    { field },
  );
}

/**
 * Query parameters whose values are credentials: a PostgreSQL URL takes `password` (and
 * `sslpassword`) there, and HTTP URLs carry tokens and signatures as `token`,
 * `access_token`, `api_key`, `X-Amz-Signature`...
 */
const SECRET_PARAM = /pass|secret|token|key|sig|auth|credential/i;

/**
 * A URL with its credentials replaced by "[set]", for logs, messages and `config show`:
 * the password, the user name of an http(s) URL that has no password (a token given as
 * `https://TOKEN@host`; a PostgreSQL user name is kept, it names the role), and the
 * values of query parameters named like a credential.
 */
export function redactUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not a URL we can parse: hide everything between "://" and "@", if any.
    return value.replace(/\/\/[^@/]*@/, '//[set]@');
  }
  const web = url.protocol === 'http:' || url.protocol === 'https:';
  const hideUser = web && url.username !== '' && url.password === '';
  const params = [...url.searchParams.keys()].filter((name) => SECRET_PARAM.test(name));
  if (url.password === '' && !hideUser && params.length === 0) return value;
  let user = url.username === '' ? '' : `${url.username}@`;
  if (url.password !== '') user = `${url.username}:[set]@`;
  else if (hideUser) user = '[set]@';
  return `${url.protocol}//${user}${url.host}${url.pathname}${redactSearch(url.search, params)}${url.hash}`;
}

/** Whether redactUrl hides something of this URL (a value that is not a URL: no). */
export function urlHoldsCredential(value: string): boolean {
  return URL.canParse(value) && redactUrl(value) !== value;
}

/** The query string as written, with the named parameters' values replaced. */
function redactSearch(search: string, secret: string[]): string {
  if (secret.length === 0) return search;
  return search.replace(/([?&])([^=&]*)=([^&]*)/g, (whole, sep: string, rawName: string) => {
    let name = rawName;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      // A name that does not decode is compared as written.
    }
    return secret.includes(name) ? `${sep}${rawName}=[set]` : whole;
  });
}

/** The queue config as shown to people: the PostgreSQL URL without its password. */
export function redactQueue(queue: QueueBackendConfig | null): QueueBackendConfig | null {
  if (queue === null || queue.kind !== 'postgres') return queue;
  return { ...queue, url: redactUrl(queue.url) };
}
