import { accessSync, constants, mkdirSync } from 'node:fs';
import { PRIVATE_DIR_MODE } from '../../storage/fs/privateFiles.js';
import { createServer } from 'node:net';
import { createDocker } from '../../executor/dockerClient.js';
import type { BlobStoreConfig } from '../../backendConfig.js';
import type { Config } from '../../config.js';
import { redactUrl } from '../../queueUrl.js';
import { checkCompatibility } from '../../contract/compatibility.js';
import { RunboxError } from '../../errors/index.js';
import { readImageContract } from '../../executor/imageContract.js';
import { probeDataDir, removeStaleProbes } from '../../executor/probeDataDir.js';
import { inspectDatabase } from '../../queue/sqlite/openDatabase.js';
import { pidAlive } from '../../processAlive.js';
import { formatBytes, freeBytes } from '../../storage/fs/diskSpace.js';
import type { ApiClient } from '../client.js';

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

/** The server's health and contract, for `runbox doctor --server URL`. */
export async function serverChecks(client: ApiClient): Promise<Check[]> {
  const checks: Check[] = [];
  try {
    // Bounded as every client call is (client.request): fetch's json() read a body with
    // no cap and no clock, so a --server that sent headers and then nothing held doctor.
    const answer = await client.request('GET', '/healthz');
    const ok = answer.status >= 200 && answer.status < 300;
    const health = JSON.parse(answer.text) as {
      status?: string;
      engine?: string;
      version?: string;
    };
    checks.push({
      name: 'server',
      state: ok ? 'ok' : 'fail',
      detail: `${client.baseUrl} answers: ${health.status ?? answer.status}, engine ${health.engine ?? 'unknown'}, version ${health.version ?? 'unknown'}`,
      ...(ok ? {} : { fix: "the server's Docker engine is down: start dockerd there" }),
    });
  } catch (error) {
    checks.push({
      name: 'server',
      state: 'fail',
      detail: (error as Error).message,
      fix: 'start it with `runbox serve`, or check the URL',
    });
    return checks;
  }
  try {
    const { body } = await client.json<Parameters<typeof checkCompatibility>[0]>(
      'GET',
      '/v1/contract',
    );
    const report = checkCompatibility(body);
    checks.push({
      name: 'server contract',
      state: report.compatible ? 'ok' : 'fail',
      detail: report.compatible
        ? `${body.version}, compatible`
        : `${body.version}: ${report.reasons.join('; ')}`,
      ...(report.compatible ? {} : { fix: 'use a runbox build that speaks the same contract' }),
    });
  } catch (error) {
    checks.push({
      name: 'server contract',
      state: 'fail',
      detail: (error as Error).message,
      ...(error instanceof RunboxError && error.type === 'Unauthorized'
        ? { fix: 'set RUNBOX_TOKEN to the server token' }
        : {}),
    });
  }
  return checks;
}

/** Every check `runbox doctor` makes on this machine, each with a state and a fix. */
export async function runChecks(config: Readonly<Config>): Promise<Check[]> {
  const checks: Check[] = [];
  const docker = createDocker(config.dockerSocket);
  let localImage: string | null = null;
  let engineUp = false;
  try {
    const version = await docker.version();
    engineUp = true;
    checks.push({
      name: 'docker engine',
      state: 'ok',
      detail: `reachable at ${redactUrl(config.dockerSocket)}, version ${version.Version} (API ${version.ApiVersion})`,
    });
  } catch (error) {
    checks.push({
      name: 'docker engine',
      state: 'fail',
      detail: `unavailable at ${redactUrl(config.dockerSocket)}: ${(error as Error).message}`,
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
    mkdirSync(config.dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
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
  const queue = config.queue;
  let info: ReturnType<typeof inspectDatabase> | undefined;
  if (queue?.kind === 'postgres') {
    const { inspectPgDatabase } = await import('../../queue/postgres/inspect.js');
    try {
      info = await inspectPgDatabase(queue.url, queue.schema);
    } catch (error) {
      checks.push({
        name: 'database',
        state: 'fail',
        detail: (error as Error).message,
        fix: 'start PostgreSQL, or correct the queue URL (--queue, RUNBOX_QUEUE, queue.url)',
      });
      info = undefined;
    }
  } else {
    const path = queue?.kind === 'sqlite' ? queue.path : config.dbPath;
    try {
      info = inspectDatabase(path, config.workerDeadMs);
    } catch (error) {
      // A database on a read-only mount cannot even be read (WAL needs its -shm file):
      // a failed check, not a crash of doctor itself.
      checks.push({
        name: 'database',
        state: 'fail',
        detail: `${path}: ${(error as Error).message}`,
        fix: 'make the data directory writable, or choose another --data-dir',
      });
      info = undefined;
    }
  }
  if (info === undefined) {
    // Reported above.
  } else if (!info) {
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
  } else if (info.upgradeBlockedBy) {
    const { id, pid, host } = info.upgradeBlockedBy;
    checks.push({
      name: 'database',
      state: 'warn',
      detail: `schema ${info.schemaVersion}/${info.latestSchemaVersion}: this build upgrades the file when it opens it, and refuses to while worker ${id} (pid ${pid} on ${host}) of the older build runs on it`,
      fix: 'stop that runbox (serve, worker or run) before starting this build; copy the stopped data dir first to keep a way back',
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
  if (config.blobs?.kind === 's3') checks.push(await blobStoreCheck(config.blobs));
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

/**
 * The shared bucket, proven as `serve` proves it at start (a probe PUT pair, deleted):
 * a wrong bucket, endpoint or key otherwise passed doctor and then stopped serve (78).
 */
async function blobStoreCheck(blobs: Extract<BlobStoreConfig, { kind: 's3' }>): Promise<Check> {
  const { createS3Client, probeConditionalPut } = await import('../../storage/s3/s3Client.js');
  const client = createS3Client({
    ...(blobs.endpoint !== undefined && { endpoint: blobs.endpoint }),
    ...(blobs.region !== undefined && { region: blobs.region }),
    ...(blobs.forcePathStyle !== undefined && { forcePathStyle: blobs.forcePathStyle }),
    ...(blobs.credentials && { credentials: blobs.credentials }),
  });
  const where = `bucket ${blobs.bucket} (prefix ${blobs.prefix ?? ''}blobs/) at ${blobs.endpoint === undefined ? 'AWS S3' : redactUrl(blobs.endpoint)}`;
  try {
    const conditional = await probeConditionalPut(
      client,
      blobs.bucket,
      `${blobs.prefix ?? ''}blobs/`,
    );
    return {
      name: 'blob store',
      state: 'ok',
      detail: `${where} takes writes (${conditional ? 'conditional PUT' : 'no conditional PUT: HEAD before each upload'})`,
    };
  } catch (error) {
    return {
      name: 'blob store',
      state: 'fail',
      detail: `${where}: ${(error as Error).message}`,
      fix: 'correct blobs (bucket, endpoint) or the keys (RUNBOX_S3_ACCESS_KEY_ID / RUNBOX_S3_SECRET_ACCESS_KEY), or create the bucket',
    };
  } finally {
    client.destroy();
  }
}

/** Job folders reach containers by host path: the engine must see the data dir where runbox does. */
async function dataDirSeenByEngine(
  docker: ReturnType<typeof createDocker>,
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
  await removeStaleProbes(docker, pidAlive);
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
