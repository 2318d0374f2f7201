import { clientCommands } from './commands/clientCommands.js';
import { completionCommand } from './commands/completion.js';
import { configCommand } from './commands/configShow.js';
import { contractCommand } from './commands/contract.js';
import { doctorCommand } from './commands/doctor.js';
import { gcCommand } from './commands/gc.js';
import { healthcheckCommand } from './commands/healthcheck.js';
import { outputsCommand } from './commands/outputs.js';
import { pullCommand } from './commands/pull.js';
import { runtimesCommand } from './commands/runtimes.js';
import { scheduleCommand } from './commands/schedule.js';
import { serverCommands } from './commands/serverCommands.js';
import { webhooksCommand } from './commands/webhooks.js';
import { runCommands, type RunCliOptions } from './runCommands.js';

export type { RunCliOptions } from './runCommands.js';

/** Parses argv, runs one command of the full CLI, and resolves with the exit code. */
export function runCli(given: string[], options: RunCliOptions): Promise<number> {
  return runCommands(given, options, (ctx, setCode) => [
    ...serverCommands(ctx, setCode),
    ...clientCommands(ctx, setCode),
    outputsCommand(ctx, setCode),
    runtimesCommand(ctx, setCode),
    contractCommand(ctx, setCode),
    doctorCommand(ctx, setCode),
    gcCommand(ctx, setCode),
    configCommand(ctx, setCode),
    completionCommand(ctx, setCode),
    healthcheckCommand(ctx, setCode),
    pullCommand(ctx, setCode),
    scheduleCommand(ctx, setCode),
    webhooksCommand(ctx, setCode),
  ]);
}
