import type { Argv } from 'yargs';
import { canonicalJobId } from '../queue/ids.js';

/**
 * Flags shared by several commands, each added only to the commands it applies to and
 * shown under its own heading in their --help.
 */
export const GROUPS = {
  global: 'Global options:',
  server: 'Server options:',
  data: 'Local data options:',
} as const;

/** For commands that talk to a running server. */
export function withServer<T>(y: Argv<T>) {
  return y
    .option('server', {
      type: 'string',
      describe: 'Server URL (or RUNBOX_SERVER; default http://127.0.0.1:7070)',
    })
    .group(['server'], GROUPS.server);
}

/** For commands that open the database and data directory on this machine. */
export function withData<T>(y: Argv<T>) {
  return y
    .option('data-dir', { type: 'string', describe: 'Data directory (or RUNBOX_DATA_DIR)' })
    .option('db', { type: 'string', describe: 'Database file (or RUNBOX_DB)' })
    .option('blobs', {
      type: 'string',
      describe: 'Blob store: s3://bucket/prefix?endpoint=URL (or RUNBOX_BLOBS); default dataDir',
    })
    .option('queue', {
      type: 'string',
      describe:
        'Queue: postgres://user@host:port/db for several nodes, or sqlite:PATH (or RUNBOX_QUEUE; default the --db file)',
    })
    .group(['data-dir', 'db', 'queue', 'blobs'], GROUPS.data);
}

/** For commands with output: one JSON document on stdout instead, errors included. */
export function withJson<T>(y: Argv<T>) {
  return y
    .option('json', {
      type: 'boolean',
      describe: 'Print one JSON document on stdout (errors too)',
    })
    .group(['json'], GROUPS.global);
}

/**
 * The job id a per-job command takes (status, logs, cancel, outputs, webhooks): checked
 * before any request, and sent as the queue stores it, so a lower case id works against
 * a server that predates the API taking one. A middleware, not a coerce: yargs turns a
 * coerce's error into its own usage error (64), and a malformed id is InvalidSpec (65)
 * naming id, as from a server or the local database.
 */
export function withJobId<T>(y: Argv<T>) {
  return y.positional('id', { type: 'string', demandOption: true }).middleware((args) => {
    const given = args as { id?: unknown };
    if (typeof given.id === 'string') given.id = canonicalJobId(given.id);
  });
}
