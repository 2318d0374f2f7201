import type { CommandModule } from 'yargs';
import { EXIT_CODES, RunboxError, toRunboxError } from '../../errors/index.js';
import type { PullEvent } from '../../executor/pullImage.js';
import type { CliContext, GlobalFlags } from '../context.js';
import { withJson } from '../flags.js';
import { bytesText, spinner, type Progress } from '../progress.js';
import { shownText } from '../output.js';

interface Pulled {
  image: string;
  id: string | null;
  error: { type: string; message: string; field: string | null } | null;
}

/** The layers' bytes so far of the total announced, on the progress line. */
function progressOf(image: string, progress: Progress): (event: PullEvent) => void {
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
    progress.update(`pulling ${image}: ${bytesText(current, total)}`);
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
    describe: 'Pull the runtime images, or the named ones',
    builder: (y) =>
      withJson(y).positional('targets', {
        type: 'string',
        array: true,
        describe: 'runtime names (from config) or image references',
      }),
    handler: async (raw) => {
      const args = raw as unknown as GlobalFlags & { targets?: string[] };
      // No data dir, database or blob store: the config file and the environment only,
      // so a pull needs no home to put a data dir in, as a client command needs none.
      const { config } = ctx.clientResolved(args);
      // Loaded here: client commands that never pull must not pay for the engine client.
      const [{ createDocker }, { pullImage, pullLimitsOf }, { runtimeImages }] = await Promise.all([
        import('../../executor/dockerClient.js'),
        import('../../executor/pullImage.js'),
        import('../../executor/RuntimeImageWatch.js'),
      ]);
      const images = args.targets?.length
        ? [...new Set(args.targets.map((t) => config.runtimes[t]?.image ?? t))]
        : runtimeImages(config);
      const docker = createDocker(config.dockerSocket);
      const results: Pulled[] = [];
      let firstError: RunboxError | null = null;
      for (const image of images) {
        try {
          const progress = spinner(ctx.io, `pulling ${image}`);
          try {
            await pullImage(docker, image, pullLimitsOf(config), progressOf(image, progress));
          } finally {
            progress.stop();
          }
          const { Id } = await docker.getImage(image).inspect();
          results.push({ image, id: Id, error: null });
          if (!args.json) ctx.io.out(`pulled ${image} ${Id}`);
        } catch (thrown) {
          const error = withRuntimeHint(toRunboxError(thrown), image, config.runtimes);
          firstError ??= error;
          results.push({ image, id: null, error: error.toJSON() });
          if (!args.json) ctx.io.err(`runbox: ${error.type}: ${shownText(error.message)}`);
          if (error.type === 'EngineUnavailable') break;
        }
      }
      if (args.json) ctx.io.out(JSON.stringify({ images: results }, null, 2));
      setCode(firstError ? EXIT_CODES[firstError.type] : 0);
    },
  };
}

/**
 * A pull that failed for an image runtimes use says which and how else to get it there:
 * on a box with no registry "no such host" was all, and the runtime's name was for the
 * operator to find.
 */
function withRuntimeHint(
  error: RunboxError,
  image: string,
  runtimes: Readonly<Record<string, { image: string }>>,
): RunboxError {
  const names = Object.keys(runtimes).filter((name) => runtimes[name]!.image === image);
  if (error.type !== 'ImageUnavailable' || names.length === 0) return error;
  const keys = names.map((name) => `runtimes.${name}.image`).join(' / ');
  return new RunboxError(
    'ImageUnavailable',
    `runtime ${names.join(', ')}: ${error.message}; load ${image} onto this engine ` +
      `(docker load, docker build) or point ${keys} at an image it has`,
    { field: error.field ?? 'image', cause: error },
  );
}
