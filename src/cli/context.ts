import {
  resolveClientConfig,
  resolveConfig,
  type Config,
  type ConfigOverrides,
  type ResolvedClientConfig,
  type ResolvedConfig,
} from '../config.js';
import { queueFromUrl } from '../queueUrl.js';
import type { StartRunbox } from '../runboxTypes.js';
import { parseBlobsUrl } from '../storage/s3/blobsUrl.js';
import { ApiClient } from './client.js';
import type { CliIO } from './output.js';

/** Flags that feed the config, on the commands that take them. */
export interface GlobalFlags {
  config?: string | undefined;
  dataDir?: string | undefined;
  db?: string | undefined;
  blobs?: string | undefined;
  queue?: string | undefined;
  server?: string | undefined;
  token?: string | undefined;
  json?: boolean | undefined;
}

export interface CliContext {
  io: CliIO;
  startRunbox: StartRunbox;
  /** Config from file < env < these flags. */
  config(flags: GlobalFlags, overrides?: ConfigOverrides): Readonly<Config>;
  /** The same, with where each value came from. */
  resolved(flags: GlobalFlags, overrides?: ConfigOverrides): ResolvedConfig;
  /** The same, returning a config its checks refuse with the refusal as `problem`. */
  inspected(flags: GlobalFlags): ResolvedConfig;
  /** The same for a command that may only talk to a server: no data dir needed. */
  clientResolved(flags: GlobalFlags): ResolvedClientConfig;
  client(flags: GlobalFlags): ApiClient;
  /** See RunCliOptions.handOff. */
  handOff?: (() => Promise<never>) | undefined;
}

export function createContext(
  io: CliIO,
  startRunbox: StartRunbox,
  handOff?: () => Promise<never>,
): CliContext {
  const options = (flags: GlobalFlags, overrides: ConfigOverrides = {}, keepInvalid = false) => ({
    file: flags.config,
    keepInvalid,
    overrides: {
      ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
      ...(flags.db ? { dbPath: flags.db } : {}),
      ...(flags.blobs ? { blobs: parseBlobsUrl(flags.blobs) } : {}),
      ...(flags.queue ? { queue: queueFromUrl(flags.queue, '--queue') } : {}),
      ...(flags.server ? { server: flags.server } : {}),
      ...(flags.token ? { token: flags.token } : {}),
      ...overrides,
    },
  });
  // A command resolves its config more than once; each warning is said the first time.
  const warned = new Set<string>();
  const warnOnce = <T extends { warnings: string[] }>(result: T): T => {
    for (const warning of result.warnings) {
      if (warned.has(warning)) continue;
      warned.add(warning);
      io.err(`runbox: warning: ${warning}`);
    }
    return result;
  };
  const resolved = (flags: GlobalFlags, overrides?: ConfigOverrides) =>
    warnOnce(resolveConfig(options(flags, overrides)));
  const clientResolved = (flags: GlobalFlags) => warnOnce(resolveClientConfig(options(flags)));
  return {
    io,
    startRunbox,
    handOff,
    resolved,
    inspected: (flags) => warnOnce(resolveConfig(options(flags, {}, true))),
    clientResolved,
    config: (flags, overrides) => resolved(flags, overrides).config,
    client: (flags) => {
      const c = clientResolved(flags).config;
      return new ApiClient(c.server, c.token);
    },
  };
}
