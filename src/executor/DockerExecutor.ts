import { mkdir, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { createContainer, createDocker } from './dockerClient.js';
import type { Config } from '../config.js';
import type { JobResult } from '../contract/resultSchema.js';
import { RunboxError } from '../errors/index.js';
import type { BlobStore } from '../storage/BlobStore.js';
import { AttemptRecord } from './attemptRecord.js';
import { collectOutputs } from './collectOutputs.js';
import { OUTPUTS_DIR, WORK_DIR, planContainer, sandboxApplied } from './containerConfig.js';
import { toEngineError } from './engineErrors.js';
import { LABELS, type ContainerIdentity, type ExecuteRequest, type Executor } from './Executor.js';
import {
  findContainers,
  findUnlabelledContainers,
  removeContainer,
  type FoundContainer,
} from './findContainers.js';
import { attachOutput, followLogs, type LogFollower, type LogSource } from './followLogs.js';
import { assertImageContract } from './imageContract.js';
import { assertNoScratchVolumes } from './imageVolumes.js';
import { clearAsJobUser } from './clearScratch.js';
import { ensureImage, type OnPullProgress } from './imagePolicy.js';
import { pullLimitsOf } from './pullImage.js';
import type { ResolvedSpec } from '../spec/parseJobSpec.js';
import { writeInputs } from './inputsTar.js';
import { JobLogs } from './logCapture.js';
import {
  createScratch,
  removeScratch,
  scratchName,
  scratchRoot,
  sweepScratch,
  underScratch,
} from './scratchDir.js';
import { ScratchGuard, scratchLimits, type ScratchWatch } from './scratchGuard.js';
import { sampleUsage } from './statsSampler.js';
import { abortReasonOf, waitForExit } from './waitForExit.js';

export interface DockerExecutorOptions {
  config: Readonly<Config>;
  /** Labels of this database's containers; recovery finds and touches only these. */
  identity: ContainerIdentity;
  /** Told how far each image pull has got (`runbox run` shows it on a terminal). @defaultValue none */
  onPullProgress?: OnPullProgress;
  /** Where logs and outputs are stored. */
  store: BlobStore;
  /** @defaultValue a client on config.dockerSocket */
  docker?: Docker;
  /**
   * Read peak memory and CPU time from the container's cgroup while it runs (and the
   * engine's stats stream). It never delays a run; a job that ends before the first
   * read (right after its start) reports null.
   * @defaultValue true
   */
  sampleUsage?: boolean;
  /** How long to wait for the log stream to end once the container exited. @defaultValue 5000 */
  logSettleMs?: number;
}

/** How a supervised container comes to run: started now, or found running/exited. */
interface SuperviseFrom {
  start: boolean;
  /** Epoch ms the job started (re-attach); now when start is true. */
  startedAt?: number;
  spoolDir: string;
  /**
   * The host folder mounted at /outputs, when known: outputs are read from it (see
   * collectOutputs; the engine's archive when it is unknown or unreadable), and none
   * are collected when it is empty (listing a folder follows nothing the job made).
   */
  outputsDir: string | null;
  /** The host folders mounted at /work and /outputs, watched while the job runs. */
  scratchDirs: string[];
  /** Set by supervise: the watch to release once the folders are removed. */
  watch?: ScratchWatch;
}

/**
 * Runs jobs in sandboxed containers through the Engine API (dockerode; never the
 * docker CLI). Each run: image policy -> scratch folders + create -> inputs tar ->
 * start, follow logs, wait with timeout/abort -> logs and outputs into the store ->
 * remove the container and scratch folders. The removal happens on every path.
 */
export class DockerExecutor implements Executor {
  readonly docker: Docker;
  private readonly config: Readonly<Config>;
  private readonly identity: ContainerIdentity;
  private readonly store: BlobStore;
  private readonly sampleUsage: boolean;
  private readonly logSettleMs: number;
  private readonly scratchGuard: ScratchGuard;
  private readonly onPullProgress: OnPullProgress | undefined;
  /** Pinned runtime images: tag -> image ID, fixed at the first job (RuntimeConfig.pin). */
  private readonly pins = new Map<string, string>();

  constructor(options: DockerExecutorOptions) {
    this.onPullProgress = options.onPullProgress;
    this.config = options.config;
    this.identity = options.identity;
    this.store = options.store;
    this.docker = options.docker ?? createDocker(options.config.dockerSocket);
    this.sampleUsage = options.sampleUsage ?? true;
    this.logSettleMs = options.logSettleMs ?? 5000;
    // Below half the submit reserve a running job is killed: submissions are refused
    // first (507), and the database keeps room to record what happened.
    this.scratchGuard = new ScratchGuard(
      options.config.dataDir,
      Math.floor(options.config.limits.minFreeBytes / 2),
    );
  }

  /** Never rejects: every failure, the job's or the engine's, is in the result. */
  async run(request: ExecuteRequest): Promise<JobResult> {
    const { spec } = request;
    const record = new AttemptRecord(sandboxApplied(spec), spec.timeoutMs);
    let scratchDir: string | null = null;
    let container: Docker.Container | null = null;
    let from: SuperviseFrom | null = null;
    if (request.signal?.aborted) {
      record.stoppedBy = abortReasonOf(request.signal);
      return record.toResult();
    }
    try {
      const imageId = await record.time('image', async () => {
        const image = await this.resolveImage(spec, request.signal);
        // An image that embeds another build's runbox component is refused before any
        // container exists (ImageContractMismatch), rather than failing inside the job.
        assertImageContract(spec.image, image.Config?.Labels ?? null);
        assertNoScratchVolumes(spec.image, image.Config?.Volumes);
        record.imageDigest = image.Id;
        return image.Id;
      });
      const scratch = await record.time('create', () =>
        createScratch(this.config.dataDir, request.jobId, request.attempt),
      );
      scratchDir = scratch.root;
      const plan = planContainer({
        identity: this.identity,
        // By ID: a tag moved between the inspect and the create cannot change what runs,
        // so image_digest is what ran.
        spec: { ...spec, image: imageId },
        jobId: request.jobId,
        attempt: request.attempt,
        scratch,
      });
      container = await record.time('create', () =>
        createContainer(this.docker, plan.options).catch((error: unknown) => {
          throw toEngineError(error, `creating a container from ${spec.image}`);
        }),
      );
      const created = container;
      await record.time('inputs', () => writeInputs(created, scratch.work, spec.files));
      from = {
        start: true,
        spoolDir: scratch.root,
        outputsDir: scratch.outputs,
        scratchDirs: [scratch.work, scratch.outputs],
      };
      await this.supervise(created, request, record, from);
    } catch (error) {
      // Aborted before any container exists (a pull abandoned on cancel or drain): what
      // stopped it is the abort, as it is for an abort just before the start.
      if (container === null && request.signal?.aborted) {
        record.stoppedBy = abortReasonOf(request.signal);
      } else {
        record.fail(toEngineError(error, 'running the job'));
      }
    } finally {
      await record.time('cleanup', async () => {
        if (container) await this.removeQuietly(container);
        if (scratchDir) await this.removeJobScratch(scratchDir, record.imageDigest);
        from?.watch?.release();
      });
    }
    return record.toResult();
  }

  /**
   * The image a job runs on, present on the engine. A pinned runtime's tag is resolved
   * to an image ID at its first job in this process; later jobs run that ID even if the
   * tag has moved, and fail (never silently switch) if the ID is gone.
   */
  private async resolveImage(
    spec: ResolvedSpec,
    signal: AbortSignal | undefined,
  ): Promise<Docker.ImageInspectInfo> {
    return this.ensureSpecImage(spec, signal).catch((error: unknown) => {
      throw runtimeImageError(spec, error);
    });
  }

  private async ensureSpecImage(
    spec: ResolvedSpec,
    signal: AbortSignal | undefined,
  ): Promise<Docker.ImageInspectInfo> {
    const limits = pullLimitsOf(this.config);
    const pinned = spec.pinImage ? this.pins.get(spec.image) : undefined;
    if (!pinned) {
      const image = await ensureImage(
        this.docker,
        spec.image,
        spec.pullPolicy,
        limits,
        this.onPullProgress,
        signal,
      );
      if (spec.pinImage) this.pins.set(spec.image, image.Id);
      return image;
    }
    return ensureImage(this.docker, pinned, 'never', limits).catch((error: unknown) => {
      if (error instanceof RunboxError && error.type === 'ImageUnavailable') {
        throw new RunboxError(
          'ImageUnavailable',
          `runtime image ${spec.image} is pinned to ${pinned}, which is no longer on the engine; restart runbox to pin the tag again`,
          { field: 'image', cause: error },
        );
      }
      throw error;
    });
  }

  /**
   * Takes over a container a previous runbox process started (found by
   * findContainers): follows its logs from the beginning, enforces what is left of
   * its timeout, collects its outputs and removes it, exactly as run() does after start.
   */
  async reattach(containerId: string, request: ExecuteRequest): Promise<JobResult> {
    const { spec } = request;
    const record = new AttemptRecord(sandboxApplied(spec), spec.timeoutMs);
    const container = this.docker.getContainer(containerId);
    // Named for the job and attempt like run()'s folders, so a crash during the
    // re-attach leaves a folder startup recovery can recognise and remove.
    const spoolDir = join(
      scratchRoot(this.config.dataDir),
      scratchName(request.jobId, request.attempt, 'reattach-'),
    );
    let jobScratch: string | null = null;
    let from: SuperviseFrom | null = null;
    try {
      const info = await container.inspect().catch((error: unknown) => {
        throw toEngineError(error, `inspecting container ${containerId}`);
      });
      record.imageDigest = info.Image;
      const labels = info.Config.Labels ?? {};
      if (labels[LABELS.database] !== this.identity.database) {
        throw new RunboxError(
          'Internal',
          `container ${containerId} does not belong to this runbox database (${this.identity.database})`,
        );
      }
      const work = info.Mounts.find((m) => m.Destination === WORK_DIR);
      const outputs = info.Mounts.find((m) => m.Destination === OUTPUTS_DIR);
      jobScratch = work ? dirname(work.Source) : null;
      if (info.State.Status === 'created') {
        throw new RunboxError(
          'WorkerLost',
          'the previous runbox stopped between creating and starting the container; run it again',
        );
      }
      await mkdir(spoolDir, { recursive: true });
      const startedAt = Date.parse(info.State.StartedAt);
      // The part of the run the dead process saw: up to its end when it has ended (the
      // replay below takes milliseconds), else up to now (supervise times the rest).
      const finishedAt = info.State.Running ? NaN : Date.parse(info.State.FinishedAt);
      const seenUntil = Number.isNaN(finishedAt) ? Date.now() : finishedAt;
      if (!Number.isNaN(startedAt)) record.ranBefore((seenUntil - startedAt) / 1000);
      from = {
        start: false,
        startedAt: Number.isNaN(startedAt) ? Date.now() : startedAt,
        spoolDir,
        outputsDir: outputs?.Source ?? null,
        scratchDirs: [work?.Source, outputs?.Source].filter((d): d is string => !!d),
      };
      await this.supervise(container, request, record, from);
    } catch (error) {
      record.fail(toEngineError(error, 're-attaching to the job'));
    } finally {
      await record.time('cleanup', async () => {
        await this.removeQuietly(container);
        await removeScratch(this.config.dataDir, spoolDir).catch(() => {});
        if (jobScratch) await this.removeJobScratch(jobScratch, record.imageDigest);
        from?.watch?.release();
      });
    }
    return record.toResult();
  }

  /** Containers of this database left on the engine (for startup recovery). */
  findContainers(): Promise<FoundContainer[]> {
    return findContainers(this.docker, this.identity.database);
  }

  findUnlabelledContainers(jobIds: ReadonlySet<string>): Promise<FoundContainer[]> {
    return findUnlabelledContainers(this.docker, jobIds);
  }

  /**
   * Removes scratch folders that no runbox container mounts and that belong to no
   * attempt `liveAttempts` names (asked after the folders are listed; see sweepScratch).
   * Containers of every database count: two databases may share one data dir (--db),
   * and a folder another database's container mounts is not a crash's leftover.
   * Returns the names removed. Throws when the engine cannot be asked.
   */
  async sweepScratch(
    liveAttempts: () => Promise<(jobId: string, attempt: number) => boolean>,
  ): Promise<string[]> {
    return sweepScratch(this.config.dataDir, async () => {
      const mounted = new Set<string>();
      for (const c of await this.docker
        .listContainers({
          all: true,
          // Every runbox container has an instance label, old builds' ones too.
          filters: { label: [LABELS.instance] },
        })
        .catch((error: unknown) => {
          throw toEngineError(error, 'listing containers');
        })) {
        for (const m of c.Mounts ?? []) if (m.Source) mounted.add(basename(dirname(m.Source)));
      }
      const isLive = await liveAttempts();
      return (name, parsed) =>
        mounted.has(name) || (parsed !== null && isLive(parsed.jobId, parsed.attempt));
    });
  }

  /** Force-removes a container and its scratch folders; a missing one is not an error. */
  removeContainer(containerId: string): Promise<void> {
    return removeContainer(this.docker, this.config.dataDir, containerId);
  }

  /**
   * From start (or re-attach) to stored logs and outputs. Failures are recorded, not
   * thrown, and the later stages still run, so partial logs and outputs are kept on
   * timeout, cancel and engine errors. The caller removes the container.
   */
  private async supervise(
    container: Docker.Container,
    request: ExecuteRequest,
    record: AttemptRecord,
    from: SuperviseFrom,
  ): Promise<void> {
    const { spec } = request;
    if (from.start && request.signal?.aborted) {
      record.stoppedBy = abortReasonOf(request.signal);
      return;
    }
    const secrets = spec.secretEnv.map((name) => spec.env[name] ?? '');
    const logs = new JobLogs(spec.logBytes, from.spoolDir, request.onLog, secrets);
    let follower: LogFollower | null = null;
    let scratch: ScratchWatch | null = null;
    let ran = false;
    await record.time('run', async () => {
      const usage = this.sampleUsage ? sampleUsage(container) : null;
      try {
        let source: LogSource = { replay: true };
        if (from.start) {
          const attached = await attachOutput(container);
          source = { attach: attached };
          await container.start().catch((error: unknown) => {
            attached.destroy?.();
            throw toEngineError(error, 'starting the container');
          });
          usage?.readNow();
        }
        ran = true;
        const startedAt = from.startedAt ?? Date.now();
        follower = await followLogs(container, logs, source);
        const overLimit = new AbortController();
        scratch = from.watch = this.scratchGuard.watch(
          from.scratchDirs,
          scratchLimits({ bytes: spec.outputBytes, files: spec.outputFiles }, spec.files),
          (error) => {
            record.outputError = error;
            overLimit.abort('output-limit');
          },
        );
        const exit = await waitForExit(container, {
          deadline: startedAt + spec.timeoutMs,
          graceMs: spec.killGraceMs,
          signal: request.signal
            ? AbortSignal.any([request.signal, overLimit.signal])
            : overLimit.signal,
        });
        scratch.stop();
        // The job has stopped writing: a slow live reader no longer paces the rest.
        logs.release();
        record.stoppedBy = exit.stoppedBy;
        record.exitCode = exit.statusCode;
        await follower.settle(this.logSettleMs);
        const state = (await container.inspect()).State;
        record.exitCode = state.ExitCode ?? exit.statusCode;
        record.oomKilled = state.OOMKilled === true;
        if (record.stoppedBy === null && !record.oomKilled && (record.exitCode ?? 0) > 128) {
          const external = await this.killedThroughEngine(container.id, startedAt);
          if (external) record.fail(external);
        }
      } catch (error) {
        record.fail(toEngineError(error, 'running the job'));
        (follower as LogFollower | null)?.stop();
      } finally {
        logs.release();
        (scratch as ScratchWatch | null)?.stop();
        const seen = usage?.stop();
        // The kernel kills for memory only at the limit, so an OOM-killed job peaked there
        // even when the cgroup was gone before a sample could see it.
        record.peakMemoryBytes = record.oomKilled
          ? Math.max(seen?.peakMemoryBytes ?? 0, spec.memoryBytes)
          : (seen?.peakMemoryBytes ?? null);
        record.cpuSeconds = seen?.cpuSeconds ?? null;
      }
    });
    await record.time('outputs', async () => {
      // Logs and outputs become durable together, in one flush, before the result that
      // names them exists.
      const batch = this.store.beginBatch(request.signal);
      try {
        const kept = await logs.finish(this.store, batch);
        record.stdout = kept.stdout;
        record.stderr = kept.stderr;
      } catch (error) {
        record.fail(error);
        const counted = await logs.discard();
        record.stdout = counted.stdout;
        record.stderr = counted.stderr;
      }
      // Stopped because the disk ran low: copying its outputs into the blob store would
      // take the same disk again, so it keeps its logs only. Over its own limits, it
      // keeps what fits in them, as at any collection.
      const collect =
        ran &&
        from.watch?.trippedBy !== 'disk' &&
        !(from.outputsDir !== null && (await isEmptyDir(from.outputsDir)));
      if (collect) {
        const collected = await collectOutputs(
          container,
          this.store,
          {
            files: spec.outputFiles,
            bytes: spec.outputBytes,
          },
          { batch, hostDir: this.hostOutputsDir(from.outputsDir) },
        );
        record.outputs = collected.outputs;
        record.skipped = collected.skipped;
        // A limit passed while running keeps its own message (it says when and why).
        if (collected.error?.type === 'OutputLimitExceeded') record.outputError ??= collected.error;
        else if (collected.error) record.fail(collected.error);
      }
      try {
        await batch.commit();
      } catch (error) {
        // Nothing the result would name is durable: record none of it.
        record.fail(
          error instanceof RunboxError && error.type === 'Cancelled'
            ? error
            : new RunboxError(
                'Internal',
                `storing logs and outputs failed: ${(error as Error).message}`,
                // The store's own field (blobs.bucket, blobs.endpoint) says what to fix.
                {
                  field: (error instanceof RunboxError && error.field) || 'outputs',
                  cause: error,
                },
              ),
        );
        record.stdout = { ...record.stdout, blob: null };
        record.stderr = { ...record.stderr, blob: null };
        record.outputs = [];
      }
    });
  }

  /**
   * The folder to read outputs from on this host: the one runbox made under its data
   * dir's scratch. On a re-attach the path comes from the engine's mount list, so it is
   * checked, not trusted; anything else is read through the engine's archive.
   */
  private hostOutputsDir(outputsDir: string | null): string | null {
    if (outputsDir === null) return null;
    return underScratch(this.config.dataDir, outputsDir) === null ? null : outputsDir;
  }

  /**
   * A container that died of a signal runbox did not send may have been stopped through
   * the engine by someone else: dockerd stopping every container as it shuts down (no
   * live-restore), or `docker stop`/`docker kill` by hand. That is not the job's
   * failure, and recording it as NonZeroExit 143 would fail a job the engine broke.
   * The engine logs such kills as `kill` events (a job signalling itself makes none),
   * so the container's events since it started are asked: a kill there, or an engine
   * that no longer answers, makes the attempt EngineUnavailable, which is retried.
   */
  private async killedThroughEngine(
    containerId: string,
    startedAt: number,
  ): Promise<RunboxError | null> {
    const since = Math.floor(startedAt / 1000) - 1;
    const until = Math.ceil(Date.now() / 1000) + 1;
    let kills: string[];
    try {
      const stream = (await this.docker.getEvents({
        since,
        until,
        filters: { container: [containerId], event: ['kill'] },
      })) as unknown as AsyncIterable<Buffer>;
      let text = '';
      for await (const chunk of stream) text += chunk.toString();
      kills = text.split('\n').filter((line) => line.trim() !== '');
    } catch (error) {
      return toEngineError(error, 'checking how the container ended');
    }
    if (kills.length > 0) {
      const signal = (JSON.parse(kills[0]!) as { Actor?: { Attributes?: { signal?: string } } })
        .Actor?.Attributes?.signal;
      return new RunboxError(
        'EngineUnavailable',
        `the container was stopped through the Docker engine (signal ${signal ?? '?'}), not by the job ` +
          'or runbox: dockerd shutting down, or docker stop/kill by hand; the job will be retried',
      );
    }
    return null;
  }

  /**
   * Removes an attempt's scratch folder once its container is gone. A runbox that is not
   * root may not remove what the job made there, so it first clears both folders as the
   * job's user (clearScratch.ts); first, because a removal that fails part way may still
   * be removing a sibling folder as it rejects, and the clearing mounts both.
   */
  private async removeJobScratch(root: string, image: string | null | undefined): Promise<void> {
    if (image && process.geteuid?.() !== 0) {
      await clearAsJobUser(this.docker, image, [join(root, 'work'), join(root, 'outputs')]).catch(
        () => {},
      );
    }
    await removeScratch(this.config.dataDir, root).catch(() => {});
  }

  private async removeQuietly(container: Docker.Container): Promise<void> {
    // A leftover here is removed by startup recovery (it carries our labels), so a
    // failure to remove never fails the job; a couple of retries cover "removal in progress".
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await container.remove({ force: true, v: true });
        return;
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        if (status === 404) return;
        await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)));
      }
    }
  }
}

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch {
    return false;
  }
}

/** The executor over a real engine. */
export function createDockerExecutor(options: DockerExecutorOptions): DockerExecutor {
  return new DockerExecutor(options);
}

/**
 * An image error of a runtime's job names the runtime and how to get its image there:
 * on a box with no registry, "pulling image X failed: ... no such host" left the
 * operator to work out which config entry pointed at X and what would fix it.
 */
function runtimeImageError(spec: ResolvedSpec, error: unknown): unknown {
  if (!(error instanceof RunboxError) || error.type !== 'ImageUnavailable' || !spec.runtime) {
    return error;
  }
  const fix =
    error.field === 'image'
      ? `; load ${spec.image} onto this engine (docker load, docker build), point ` +
        `runtimes.${spec.runtime}.image at an image it has, or \`runbox pull ${spec.runtime}\` ` +
        'where a registry answers'
      : '';
  return new RunboxError('ImageUnavailable', `runtime ${spec.runtime}: ${error.message}${fix}`, {
    field: error.field,
    cause: error,
  });
}
