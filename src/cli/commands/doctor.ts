import { accessSync, constants, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import Docker from 'dockerode';
import type { CommandModule } from 'yargs';
import type { Config } from '../../config.js';
import { checkCompatibility } from '../../contract/compatibility.js';
import { RunboxError } from '../../errors/index.js';
import { readImageContract } from '../../executor/imageContract.js';
import { probeDataDir } from '../../executor/probeDataDir.js';
import { inspectDatabase } from '../../queue/openDatabase.js';
import { formatBytes, freeBytes } from '../../storage/diskSpace.js';
import type { CliContext, GlobalFlags } from '../context.js';
import { table } from '../output.js';

export type CheckState = 'ok' | 'warn' | 'fail';
export interface Check {
  name: string;
  state: CheckState;
  detail: string;
  fix?: string;
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Every check `runbox doctor` makes, each with a state and a fix. */
export async function runChecks(config: Readonly<Config>): Promise<Check[]> {
  const checks: Check[] = [];
  const docker = new Docker({ socketPath: config.dockerSocket });
  let engineUp = false;
  let localImage: string | null = null;
  try {
    const version = await docker.version();
    engineUp = true;
    checks.push({
      name: 'docker engine',
      state: 'ok',
      detail: `reachable at ${config.dockerSocket}, version ${version.Version} (API ${version.ApiVersion})`,
    });
  } catch (error) {
    checks.push({
      name: 'docker engine',
      state: 'fail',
      detail: `unavailable at ${config.dockerSocket}: ${(error as Error).message}`,
      fix: 'start dockerd (or bash scripts/test-env as root), or set RUNBOX_DOCKER_SOCKET',
    });
  }
  if (engineUp) {
    for (const [name, runtime] of Object.entries(config.runtimes)) {
      try {
        const { contract, report } = await readImageContract(docker, runtime.image);
        if (report && !report.compatible) {
          checks.push({
            name: `runtime ${name}`,
            state: 'fail',
            detail: `image ${runtime.image} carries contract ${contract!.version}, incompatible: ${report.reasons.join('; ')}`,
            fix: 'rebuild the image with this runbox version, or point the runtime at another image',
          });
        } else {
          localImage ??= runtime.image;
          checks.push({
            name: `runtime ${name}`,
            state: 'ok',
            detail: `image ${runtime.image} present${contract ? `, contract ${contract.version}` : ''}`,
          });
        }
      } catch (error) {
        // An unreadable contract label is not a missing image: it is present, and every
        // job on it would fail with ImageContractMismatch.
        if (error instanceof RunboxError && error.type === 'ImageContractMismatch') {
          checks.push({
            name: `runtime ${name}`,
            state: 'fail',
            detail: error.message,
            fix: 'rebuild the image with this runbox version, or point the runtime at another image',
          });
          continue;
        }
        checks.push({
          name: `runtime ${name}`,
          state: 'warn',
          detail: `image ${runtime.image} is not present; jobs will pull it (pull policy ${config.defaults.pullPolicy})`,
          fix: `runbox pull ${name}, or map the runtime to a local image in the config file`,
        });
      }
    }
  }
  try {
    mkdirSync(config.dataDir, { recursive: true });
    accessSync(config.dataDir, constants.W_OK);
    const free = await freeBytes(config.dataDir);
    const low = free < config.limits.minFreeBytes;
    checks.push({
      name: 'data directory',
      state: low ? 'fail' : free < 2 * config.limits.minFreeBytes ? 'warn' : 'ok',
      detail: `${config.dataDir} writable, ${formatBytes(free)} free (new jobs refused below ${formatBytes(config.limits.minFreeBytes)})`,
      ...(low
        ? { fix: 'free space on that disk, run `runbox gc`, or lower limits.minFreeBytes' }
        : {}),
    });
  } catch (error) {
    checks.push({
      name: 'data directory',
      state: 'fail',
      detail: `${config.dataDir}: ${(error as Error).message}`,
      fix: 'choose a writable --data-dir',
    });
  }
  if (engineUp) checks.push(await dataDirSeenByEngine(docker, config.dataDir, localImage));
  const info = inspectDatabase(config.dbPath);
  if (!info) {
    checks.push({
      name: 'database',
      state: 'ok',
      detail: `${config.dbPath} does not exist yet; it is created on first start`,
    });
  } else if (info.schemaVersion > info.latestSchemaVersion) {
    checks.push({
      name: 'database',
      state: 'fail',
      detail: `schema ${info.schemaVersion} is newer than this build's ${info.latestSchemaVersion}`,
      fix: 'use a newer runbox',
    });
  } else {
    const report = info.contract ? checkCompatibility(info.contract) : null;
    checks.push({
      name: 'database',
      state: report && !report.compatible ? 'fail' : 'ok',
      detail: `schema ${info.schemaVersion}/${info.latestSchemaVersion}, contract ${info.contract?.version ?? 'none'}${report && !report.compatible ? `: ${report.reasons.join('; ')}` : ''}`,
      ...(report && !report.compatible
        ? { fix: 'open it with the runbox build that wrote it, or start a new database' }
        : {}),
    });
  }
  const free = await portFree(config.host, config.port);
  checks.push({
    name: 'port',
    state: free ? 'ok' : 'warn',
    detail: free
      ? `${config.host}:${config.port} is free`
      : `${config.host}:${config.port} is in use (a running runbox serve?)`,
    ...(free ? {} : { fix: 'stop what listens there, or serve with --port' }),
  });
  return checks;
}

/** Job folders reach containers by host path: the engine must see the data dir where runbox does. */
async function dataDirSeenByEngine(
  docker: Docker,
  dataDir: string,
  image: string | null,
): Promise<Check> {
  const name = 'data directory seen by the engine';
  if (!image) {
    return {
      name,
      state: 'warn',
      detail: 'not checked: no runtime image is present to probe with',
      fix: 'pull a runtime image (runbox doctor lists them)',
    };
  }
  const view = await probeDataDir(docker, dataDir, image).catch(
    (error: unknown) => ({ state: 'unknown', detail: (error as Error).message }) as const,
  );
  if (view.state === 'same') {
    return { name, state: 'ok', detail: `${dataDir} is the same folder for runbox and the engine` };
  }
  if (view.state === 'unknown') return { name, state: 'warn', detail: view.detail };
  return {
    name,
    state: 'fail',
    detail: `${view.detail}: job containers would get empty /work and /outputs folders`,
    fix: `mount the data dir at the same path inside and outside runbox's container (docker run -v ${dataDir}:${dataDir}), or set --data-dir to the host path`,
  };
}

export function doctorCommand(ctx: CliContext, setCode: (code: number) => void): CommandModule {
  return {
    command: 'doctor',
    describe:
      'Check the engine, runtime images, data directory, database and port; exit 1 on any fail',
    handler: async (raw) => {
      const args = raw as unknown as GlobalFlags;
      const checks = await runChecks(ctx.config(args));
      if (args.json) ctx.io.out(JSON.stringify({ checks }, null, 2));
      else {
        ctx.io.out(
          table([
            ['CHECK', 'STATE', 'DETAIL'],
            ...checks.map((c) => [c.name, c.state.toUpperCase(), c.detail]),
          ]),
        );
        for (const c of checks.filter((c) => c.fix)) ctx.io.out(`fix ${c.name}: ${c.fix}`);
      }
      setCode(checks.some((c) => c.state === 'fail') ? 1 : 0);
    },
  };
}
