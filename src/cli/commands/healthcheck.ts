import type { CommandModule } from 'yargs';
import type { Config } from '../../config.js';
import { RunboxError } from '../../errors/index.js';
import type { CliContext, GlobalFlags } from '../context.js';
import { withJson, withServer } from '../flags.js';

/**
 * The /healthz URL of the `runbox serve` that runs with this same config: a container's
 * HEALTHCHECK runs beside it, so a wildcard bind is probed on loopback.
 */
function localHealthzUrl(config: Readonly<Pick<Config, 'host' | 'port'>>): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const authority = host.includes(':') ? `[${host}]` : host;
  return `http://${authority}:${config.port}/healthz`;
}

/** A runbox /healthz answer is a few hundred bytes of JSON. */
const HEALTHZ_MAX_BYTES = 64 * 1024;

/**
 * The answer's first HEALTHZ_MAX_BYTES, to print; the status alone decides. text() read
 * a server's endless body into memory (375 MB in 3 s), and a body cut off by --timeout
 * ended in "Internal: The operation was aborted due to timeout", exit 70.
 */
async function headOf(response: Response, url: string, seconds: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const kept: Uint8Array[] = [];
  let bytes = 0;
  try {
    while (bytes < HEALTHZ_MAX_BYTES) {
      const next = await reader.read();
      if (next.done) break;
      kept.push(next.value);
      bytes += next.value.length;
    }
  } catch (error) {
    throw new RunboxError(
      'ServerUnavailable',
      `${url} did not finish its answer within ${seconds} s (--timeout)`,
      { field: 'server', cause: error },
    );
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(kept).subarray(0, HEALTHZ_MAX_BYTES).toString('utf8');
}

/**
 * `runbox healthcheck`: exit 0 when /healthz answers 200 in time, 1 when it answers
 * anything else (503: the engine is away), 69 when nothing answers. The image's
 * HEALTHCHECK runs it, so the image needs no curl.
 */
export function healthcheckCommand(
  ctx: CliContext,
  setCode: (code: number) => void,
): CommandModule {
  return {
    command: 'healthcheck',
    describe: 'Exit 0 if the local server is healthy (HEALTHCHECK)',
    builder: (y) =>
      withJson(withServer(y))
        .epilogue(
          'GETs /healthz of the server this config runs: exit 0 on 200, 1 on any other answer (503: the engine is away), 69 when nothing answers.',
        )
        .option('timeout', {
          type: 'number',
          default: 5,
          describe: 'Seconds to wait for the answer',
        }),
    handler: async (raw) => {
      const args = raw as unknown as GlobalFlags & { timeout: number };
      // A flag out of range is the command line's (64), as for `ls --limit`: not a job spec.
      if (!(args.timeout > 0)) {
        throw new RunboxError(
          'UsageError',
          `--timeout takes a number of seconds above 0, e.g. --timeout 5 (see \`runbox healthcheck --help\`)`,
          { field: 'timeout' },
        );
      }
      // --server, RUNBOX_SERVER or the config file's server when one is named, as every
      // client command reads it; else the serve this config runs.
      const { config, sources } = ctx.clientResolved(args);
      // A named server is checked as every client command checks it: a user:password@
      // in it was quoted, password and all, in fetch's refusal (exit 69).
      const url =
        sources.server === 'default'
          ? localHealthzUrl(config)
          : ctx.client(args).url('/healthz').toString();
      let response: Response;
      try {
        response = await fetch(url, { signal: AbortSignal.timeout(args.timeout * 1000) });
      } catch (error) {
        const cause =
          (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
        throw new RunboxError('ServerUnavailable', `${url} did not answer: ${cause}`, {
          field: 'server',
          cause: error,
        });
      }
      const body = await headOf(response, url, args.timeout);
      if (args.json) ctx.io.out(body);
      if (response.status !== 200) {
        ctx.io.err(`runbox: unhealthy: ${url} answered ${response.status} ${body.slice(0, 200)}`);
        return setCode(1);
      }
      if (!args.json) ctx.io.out(`healthy: ${url} ${body.slice(0, 200)}`);
      setCode(0);
    },
  };
}
