import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { CURRENT_CONTRACT } from '../contract/contract.js';
import type { SandboxApplied } from '../contract/resultSchema.js';
import { deviceRequests } from '../spec/gpus.js';
import type { ResolvedSpec } from '../spec/parseJobSpec.js';
import { LABELS, type ContainerIdentity } from './Executor.js';
import { JOB_GID, JOB_UID, type ScratchDir } from './scratchDir.js';

export const WORK_DIR = '/work';
export const OUTPUTS_DIR = '/outputs';

/**
 * The engine keeps its own copy of stdout/stderr while runbox reads them live; this
 * bounds that copy (max-size x max-file) so an endless printer cannot fill the
 * engine's disk. runbox's own cap is config.limits.logBytes.
 *
 * The `local` driver stores each message as protobuf bytes, so what comes back is what
 * the job wrote. `json-file` (the engine's usual default) stores JSON strings: it
 * replaces invalid UTF-8 with U+FFFD, and as it cuts lines longer than 16 KiB into
 * pieces, a character split across two pieces became two U+FFFD (180,000 bytes of
 * multi-byte text came back as 163,884). No compression: rotation happens while the
 * job prints, and runbox reads the file as it grows.
 */
export const ENGINE_LOG_CONFIG = {
  Type: 'local',
  Config: { 'max-size': '16m', 'max-file': '2', compress: 'false' },
};

export interface ContainerPlan {
  options: Docker.ContainerCreateOptions;
  sandbox: SandboxApplied;
}

export interface PlanInput {
  identity: ContainerIdentity;
  spec: ResolvedSpec;
  jobId: string;
  attempt: number;
  scratch: ScratchDir;
}

/**
 * Container labels: instance, database, job, attempt and contract, so a restarted
 * runbox finds its own (and only its own).
 */
export function containerLabels(
  identity: ContainerIdentity,
  jobId: string,
  attempt: number,
): Record<string, string> {
  return {
    [LABELS.instance]: identity.instance,
    [LABELS.database]: identity.database,
    [LABELS.job]: jobId,
    [LABELS.attempt]: String(attempt),
    [LABELS.contract]: `${CURRENT_CONTRACT.name}@${CURRENT_CONTRACT.version}`,
  };
}

function containerName(instance: string, jobId: string, attempt: number): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 48);
  return `runbox-${clean(instance)}-${clean(jobId)}-${attempt}-${randomBytes(3).toString('hex')}`;
}

/**
 * The sandboxed create options for one attempt, and the settings it applies.
 * Invariants: the only host paths mounted are the attempt's scratch work and outputs
 * folders (never the Docker socket); the root filesystem is read-only; the job runs as
 * 65534 with every capability dropped and no way to gain privileges; stdin is closed.
 * Only network and the resource limits come from the job.
 */
export function planContainer({
  identity,
  spec,
  jobId,
  attempt,
  scratch,
}: PlanInput): ContainerPlan {
  const user = `${JOB_UID}:${JOB_GID}`;
  const env: Record<string, string> = {
    HOME: '/tmp',
    ...spec.env,
    RUNBOX_WORK: WORK_DIR,
    RUNBOX_OUTPUTS: OUTPUTS_DIR,
    RUNBOX_ATTEMPT: String(attempt),
  };
  const [entrypoint, ...args] = spec.command;
  const hostConfig: Docker.HostConfig = {
    NetworkMode: spec.network,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    ReadonlyRootfs: true,
    Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${spec.tmpfsBytes}` },
    Mounts: [
      { Type: 'bind', Source: scratch.work, Target: WORK_DIR, ReadOnly: false },
      { Type: 'bind', Source: scratch.outputs, Target: OUTPUTS_DIR, ReadOnly: false },
    ],
    PidsLimit: spec.pidsLimit,
    Memory: spec.memoryBytes,
    // Equal to Memory: no swap on top of the limit, so a hog is killed, not slowed.
    MemorySwap: spec.memoryBytes,
    NanoCpus: spec.nanoCpus,
    Ulimits: [
      { Name: 'nofile', Soft: spec.nofile, Hard: spec.nofile },
      { Name: 'fsize', Soft: spec.fileSizeBytes, Hard: spec.fileSizeBytes },
    ],
    // An init as PID 1 forwards SIGTERM and reaps orphaned children.
    Init: true,
    LogConfig: ENGINE_LOG_CONFIG,
    AutoRemove: false,
    Privileged: false,
    ...(spec.gpus ? { DeviceRequests: deviceRequests(spec.gpus) } : {}),
  };
  const options: Docker.ContainerCreateOptions = {
    name: containerName(identity.instance, jobId, attempt),
    Image: spec.image,
    Entrypoint: entrypoint === undefined ? [] : [entrypoint],
    Cmd: args,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    WorkingDir: WORK_DIR,
    User: user,
    Hostname: 'runbox',
    Labels: containerLabels(identity, jobId, attempt),
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    NetworkDisabled: spec.network === 'none',
    HostConfig: hostConfig,
  };
  return { options, sandbox: sandboxApplied(spec) };
}

/** What the sandbox applies for a spec, as reported in result.sandbox. */
export function sandboxApplied(spec: ResolvedSpec): SandboxApplied {
  return {
    image: spec.image,
    user: `${JOB_UID}:${JOB_GID}`,
    network: spec.network,
    read_only_root: true,
    cap_drop: ['ALL'],
    no_new_privileges: true,
    memory_bytes: spec.memoryBytes,
    nano_cpus: spec.nanoCpus,
    pids_limit: spec.pidsLimit,
    tmpfs_bytes: spec.tmpfsBytes,
    timeout_seconds: spec.timeoutMs / 1000,
  };
}
