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

/** A URL with its password replaced, for logs, messages and `config show`. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password === '') return value;
    return `${url.protocol}//${url.username}:[set]@${url.host}${url.pathname}${url.search}`;
  } catch {
    // Not a URL we can parse: hide everything between "://" and "@", if any.
    return value.replace(/\/\/[^@/]*@/, '//[set]@');
  }
}

/** The queue config as shown to people: the PostgreSQL URL without its password. */
export function redactQueue(queue: QueueBackendConfig | null): QueueBackendConfig | null {
  if (queue === null || queue.kind !== 'postgres') return queue;
  return { ...queue, url: redactUrl(queue.url) };
}
