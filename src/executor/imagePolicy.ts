import type Docker from 'dockerode';
import type { PullPolicy } from '../config.js';
import { RunboxError } from '../errors/index.js';
import { engineReason, engineStatus, toEngineError } from './engineErrors.js';

/** The image's inspect data, or null when the engine does not have it. */
async function inspectIfPresent(
  docker: Docker,
  image: string,
): Promise<Docker.ImageInspectInfo | null> {
  try {
    return await docker.getImage(image).inspect();
  } catch (error) {
    if (engineStatus(error) === 404) return null;
    throw toEngineError(error, `inspecting image ${image}`);
  }
}

/** Pulls `image`; resolves with null, or with the engine's reason when the pull failed. */
async function pull(
  docker: Docker,
  image: string,
): Promise<{ reason: string; error: unknown } | null> {
  try {
    const stream = await docker.pull(image);
    // The pull's own failure (e.g. manifest unknown) arrives inside the progress stream.
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve()),
        () => {},
      );
    });
    return null;
  } catch (error) {
    const unavailable = toEngineError(error, `pulling ${image}`);
    if (unavailable.type === 'EngineUnavailable') throw unavailable;
    return { reason: engineReason(error), error };
  }
}

/**
 * Makes sure `image` is on the engine according to the policy:
 * - if-not-present (default): pull only when missing;
 * - always: pull every time (a failed pull fails the job even if a copy exists);
 * - never: use the local copy or fail without touching a registry.
 * Fails with ImageUnavailable naming the image and the engine's reason; under "never"
 * its field is `pull_policy`, which the retry policy reads as final (no retry can
 * bring an image the job forbids pulling). Resolves with the image's inspect data
 * (its labels carry the contract, see imageContract.ts).
 */
export async function ensureImage(
  docker: Docker,
  image: string,
  policy: PullPolicy,
): Promise<Docker.ImageInspectInfo> {
  if (policy !== 'always') {
    const present = await inspectIfPresent(docker, image);
    if (present) return present;
  }
  if (policy === 'never') {
    throw new RunboxError(
      'ImageUnavailable',
      `image ${image} is not present on the engine and pull policy is "never"; build or load it first, or allow pulling (pull_policy "if-not-present")`,
      { field: 'pull_policy' },
    );
  }
  const failed = await pull(docker, image);
  if (failed) {
    const local =
      policy === 'always' && (await inspectIfPresent(docker, image))
        ? 'a local copy exists, but pull policy "always" requires a fresh pull (use "if-not-present" to run the local copy)'
        : 'no local copy exists';
    throw new RunboxError(
      'ImageUnavailable',
      `pulling image ${image} failed: ${failed.reason}; ${local}`,
      { field: 'image', cause: failed.error },
    );
  }
  const pulled = await inspectIfPresent(docker, image);
  if (!pulled) {
    throw new RunboxError('ImageUnavailable', `image ${image} is still missing after a pull`, {
      field: 'image',
    });
  }
  return pulled;
}
