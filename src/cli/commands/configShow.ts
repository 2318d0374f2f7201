import type { CommandModule } from 'yargs';
import type { CliContext, GlobalFlags } from '../context.js';
import { withData, withJson, withServer } from '../flags.js';
import { table } from '../output.js';
import { exitCodeOf, reportError } from '../reportError.js';
import { toRunboxError } from '../../errors/index.js';
import { redactQueue, redactUrl } from '../../queueUrl.js';

/** Dotted keys and values of a resolved config, in its own order. */
function leaves(value: unknown, prefix = ''): Array<[string, unknown]> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return [[prefix, value]];
    return entries.flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, value]];
}

export function configCommand(ctx: CliContext, setCode: (code: number) => void): CommandModule {
  return {
    command: 'config [action]',
    describe: "Show the resolved config and each value's source",
    builder: (y) =>
      withJson(withServer(withData(y)))
        .positional('action', { choices: ['show'] as const, default: 'show' as const })
        .epilogue(
          'Sources, lowest first: default < config file (--config or RUNBOX_CONFIG, else ' +
            '/etc/runbox/config.json then $XDG_CONFIG_HOME/runbox/config.json) < RUNBOX_* ' +
            'environment < flags. The token, the webhook secret, S3 keys and the password in any URL are shown as "[set]". ' +
            'A config runbox would refuse is printed all the same, then refused (exit 78) naming the value at fault.',
        ),
    handler: (raw) => {
      const args = raw as unknown as GlobalFlags;
      const { config, sources, files, problem } = ctx.inspected(args);
      const shown = {
        ...config,
        token: config.token === null ? null : '[set]',
        webhooks: {
          ...config.webhooks,
          secret: config.webhooks.secret === null ? null : '[set]',
        },
        blobs:
          config.blobs?.kind === 's3' && config.blobs.credentials
            ? { ...config.blobs, credentials: '[set]' }
            : config.blobs,
        queue: redactQueue(config.queue),
      };
      const redacted = withoutUrlPasswords(shown);
      // The values are printed even when the config is refused: they are what the user
      // came to see to find the fault. Under --json the refusal is the document's `error`
      // (one document on stdout, as every command's failure is).
      const refusal = problem === undefined ? undefined : toRunboxError(problem);
      if (args.json) {
        ctx.io.out(
          JSON.stringify(
            { config: redacted, sources, files, ...(refusal ? { error: refusal.toJSON() } : {}) },
            null,
            2,
          ),
        );
      } else {
        ctx.io.out(`files read: ${files.length > 0 ? files.join(', ') : 'none'}`);
        ctx.io.out(
          table([
            ['KEY', 'VALUE', 'FROM'],
            ...leaves(redacted).map(([key, value]) => [
              key,
              JSON.stringify(value),
              sources[key] ?? sourceOfParent(sources, key),
            ]),
          ]),
        );
      }
      if (refusal === undefined) setCode(0);
      else setCode(args.json ? exitCodeOf(refusal) : reportError(refusal, false, ctx.io));
    },
  };
}

/**
 * Every URL-shaped string with its password replaced: a password in --server, advertiseUrl,
 * a tcp:// dockerSocket or an S3 endpoint was printed as it was given, where only the
 * queue URL's was hidden.
 */
function withoutUrlPasswords(value: unknown): unknown {
  if (typeof value === 'string') {
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? redactUrl(value) : value;
  }
  if (Array.isArray(value)) return value.map(withoutUrlPasswords);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, withoutUrlPasswords(inner)]),
    );
  }
  return value;
}

/** A key set as part of a larger value (a whole runtime) takes that value's source. */
function sourceOfParent(sources: Record<string, string>, key: string): string {
  for (let at = key.lastIndexOf('.'); at > 0; at = key.lastIndexOf('.', at - 1)) {
    const source = sources[key.slice(0, at)];
    if (source) return source;
  }
  return 'default';
}
