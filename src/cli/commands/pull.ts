import Docker from 'dockerode';
import type { CommandModule } from 'yargs';
import { EXIT_CODES, RunboxError, toRunboxError } from '../../errors/index.js';
import { pullImage, pullLimitsOf, type PullEvent } from '../../executor/pullImage.js';
import { runtimeImages } from '../../executor/RuntimeImageWatch.js';
import { formatBytes } from '../../storage/diskSpace.js';
import type { CliContext, GlobalFlags } from '../context.js';

interface Pulled {
  image: string;
  id: string | null;
  error: { type: string; message: string; field: string | null } | null;
}

/** Progress on one rewritten line: layers' bytes so far of the total announced. */
function progressLine(image: string, write: (text: string) => void): (event: PullEvent) => void {
  const layers = new Map<string, { current: number; total: number }>();
  return (event) => {
    if (!event.id || !event.progressDetail?.total) return;
    layers.set(event.id, {
      current: event.progressDetail.current ?? 0,
      total: event.progressDetail.total,
    });
    let current = 0;
    let total = 0;
    for (const layer of layers.values()) {
      current += layer.current;
      total += layer.total;
    }
    write(`\r${image}: ${formatBytes(current)} of ${formatBytes(total)}   `);
  };
}

/**
 * `runbox pull [RUNTIME|IMAGE...]`: puts images on the engine before a job needs them,
 * within pull.timeoutSeconds and pull.maxBytes. Every target is tried; the exit code is
 * that of the first failure.
 */
export function pullCommand(ctx: CliContext, setCode: (code: number) => void): CommandModule {
  return {
    command: 'pull [targets..]',
    describe:
      'Pull runtime images (every configured runtime by default) or the named images; progress on a terminal only',
    builder: (y) =>
      y.positional('targets', {
        type: 'string',
        array: true,
        describe: 'runtime names (from config) or image references',
      }),
    handler: async (raw) => {
      const args = raw as unknown as GlobalFlags & { targets?: string[] };
      const config = ctx.config(args);
      const images = args.targets?.length
        ? [...new Set(args.targets.map((t) => config.runtimes[t]?.image ?? t))]
        : runtimeImages(config);
      const docker = new Docker({ socketPath: config.dockerSocket });
      const tty = (ctx.io.stderr as NodeJS.WriteStream).isTTY === true && !args.json;
      const results: Pulled[] = [];
      let firstError: RunboxError | null = null;
      for (const image of images) {
        try {
          const onEvent = tty ? progressLine(image, (t) => ctx.io.stderr.write(t)) : undefined;
          await pullImage(docker, image, pullLimitsOf(config), onEvent);
          if (tty) ctx.io.stderr.write('\n');
          const { Id } = await docker.getImage(image).inspect();
          results.push({ image, id: Id, error: null });
          if (!args.json) ctx.io.out(`pulled ${image} ${Id}`);
        } catch (thrown) {
          if (tty) ctx.io.stderr.write('\n');
          const error = toRunboxError(thrown);
          firstError ??= error;
          results.push({ image, id: null, error: error.toJSON() });
          if (!args.json) ctx.io.err(`runbox: ${error.type}: ${error.message}`);
          if (error.type === 'EngineUnavailable') break;
        }
      }
      if (args.json) ctx.io.out(JSON.stringify({ images: results }, null, 2));
      setCode(firstError ? EXIT_CODES[firstError.type] : 0);
    },
  };
}
