import { RunboxError, coerceError } from '../errors/index.js';

/** Socket-level failures: the engine is not there (or not ours to talk to). */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
]);

/** Errors of this machine's own disk (the data dir), not of the engine. */
const LOCAL_DISK = new Set(['ENOSPC', 'EDQUOT']);

/** The HTTP status of an Engine API error from dockerode, or null for a transport error. */
export function engineStatus(error: unknown): number | null {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : null;
}

/** The engine's own words for an API error (its JSON `message`), else the error's message. */
export function engineReason(error: unknown): string {
  const json = (error as { json?: unknown } | null)?.json;
  if (
    json &&
    typeof json === 'object' &&
    typeof (json as { message?: unknown }).message === 'string'
  ) {
    return (json as { message: string }).message;
  }
  const message = coerceError(error).message;
  // dockerode prefixes "(HTTP code 500) server error - "; the rest is the engine's text.
  return message.replace(/^\(HTTP code \d+\)[^-]*-\s*/, '').trim() || message;
}

/**
 * Turns anything the Engine API threw into a RunboxError: EngineUnavailable when the
 * socket cannot be reached, InvalidSpec when the engine refused the request itself as
 * invalid (HTTP 400: retrying the same spec cannot help), Internal for anything else.
 * RunboxErrors pass through.
 */
export function toEngineError(error: unknown, doing: string): RunboxError {
  if (error instanceof RunboxError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (engineStatus(error) === null && typeof code === 'string' && UNREACHABLE.has(code)) {
    return new RunboxError(
      'EngineUnavailable',
      `Docker engine unreachable while ${doing} (${code}); is dockerd running and is config.dockerSocket right?`,
      { cause: error },
    );
  }
  // This machine's own disk, not the engine: a full data disk while spooling the job's
  // logs (ENOSPC) was reported as "Docker engine error while reading the logs", sending
  // the operator to look at dockerd. Still Internal: the attempt runs again once there is
  // room (README, Reliability).
  if (engineStatus(error) === null && typeof code === 'string' && LOCAL_DISK.has(code)) {
    return new RunboxError(
      'Internal',
      `the data disk is full while ${doing} (${code}: ${coerceError(error).message}); free space on it or run \`runbox gc\``,
      { cause: error },
    );
  }
  if (engineStatus(error) === 400) {
    // More CPUs than the engine has (`runbox run --cpus 64` raises its own ceiling, not
    // the host's): name the field and the most this engine takes.
    const cpus = /Range of CPUs is from [\d.]+ to ([\d.]+)/.exec(engineReason(error));
    if (cpus) {
      return new RunboxError(
        'InvalidSpec',
        `limits.cpus: this Docker engine has ${cpus[1]} CPUs; ask for at most ${cpus[1]}`,
        { field: 'limits.cpus', cause: error },
      );
    }
    return new RunboxError(
      'InvalidSpec',
      `the Docker engine refused the job while ${doing}: ${engineReason(error)}`,
      { cause: error },
    );
  }
  const reason = engineReason(error);
  // What the engine says when a container asks for GPUs it has no runtime for (no
  // NVIDIA Container Toolkit): the job cannot run on this engine, retrying cannot help.
  if (/could not select device driver .*capabilities: \[\[gpu\]\]/.test(reason)) {
    return new RunboxError(
      'InvalidSpec',
      `gpus: this Docker engine has no GPU runtime (${reason}); install the NVIDIA Container Toolkit on the host, or run the job without gpus`,
      { field: 'gpus', cause: error },
    );
  }
  return new RunboxError('Internal', `Docker engine error while ${doing}: ${reason}`, {
    cause: error,
  });
}

/** True for "no such container" and "already stopped/being removed": safe to ignore in cleanup. */
export function isGoneOrNotRunning(error: unknown): boolean {
  const status = engineStatus(error);
  return status === 404 || status === 409 || status === 304;
}
