import { loadConfig, type Config, type ConfigOverrides } from '../config.js';
import type { StartRunbox } from '../runboxTypes.js';
import { ApiClient } from './client.js';
import type { CliIO } from './output.js';

/** Flags every command accepts. */
export interface GlobalFlags {
  config?: string | undefined;
  dataDir?: string | undefined;
  db?: string | undefined;
  server?: string | undefined;
  token?: string | undefined;
  json?: boolean | undefined;
}

export interface CliContext {
  io: CliIO;
  startRunbox: StartRunbox;
  /** Config from file < env < these flags. */
  config(flags: GlobalFlags, overrides?: ConfigOverrides): Readonly<Config>;
  client(flags: GlobalFlags): ApiClient;
}

export function createContext(io: CliIO, startRunbox: StartRunbox): CliContext {
  const config = (flags: GlobalFlags, overrides: ConfigOverrides = {}) =>
    loadConfig({
      file: flags.config,
      overrides: {
        ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
        ...(flags.db ? { dbPath: flags.db } : {}),
        ...(flags.server ? { server: flags.server } : {}),
        ...(flags.token ? { token: flags.token } : {}),
        ...overrides,
      },
    });
  return {
    io,
    startRunbox,
    config,
    client: (flags) => {
      const c = config(flags);
      return new ApiClient(c.server, c.token);
    },
  };
}
