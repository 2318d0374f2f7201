import type Docker from 'dockerode';
import type { PullPolicy } from '../config.js';
import { InvalidSpecError, RunboxError } from '../errors/index.js';
import { isImageReference } from '../spec/imageReference.js';
import { engineReason, engineStatus, toEngineError } from './engineErrors.js';
import { pullImage, type PullEvent, type PullLimits } from './pullImage.js';

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

/** How far a pull has got, summed over its layers (sizes grow as layers are announced). */
export interface PullProgress {
  image: string;
  currentBytes: number;
  totalBytes: number;
  /** True once, when the pull has ended (either way). */
  done: boolean;
}

export type OnPullProgress = (progress: PullProgress) => void;

/** Turns the engine's per-layer events into one running total for a progress display. */
function progressReporter(image: string, onProgress: OnPullProgress) {
  const layers = new Map<string, { current: number; total: number }>();
  const report = (done: boolean) => {
    let currentBytes = 0;
    let totalBytes = 0;
    for (const layer of layers.values()) {
      currentBytes += layer.current;
      totalBytes += layer.total;
    }
    onProgress({ image, currentBytes, totalBytes, done });
  };
  return {
    onEvent(event: PullEvent): void {
      // Only downloads count: "Extracting" reuses the same byte counts.
      if (!event.id || event.status !== 'Downloading') return;
      layers.set(event.id, {
        current: event.progressDetail?.current ?? 0,
        total: event.progressDetail?.total ?? 0,
      });
      report(false);
    },
    finish(succeeded: boolean): void {
      if (succeeded) for (const layer of layers.values()) layer.current = layer.total;
      report(true);
    },
  };
}

/**
 * Makes sure `image` is on the engine according to the policy:
 * - if-not-present (default): pull only when missing;
 * - always: pull every time (a failed pull fails the job even if a copy exists);
 * - never: use the local copy or fail without touching a registry.
 * Fails with ImageUnavailable naming the image and the engine's reason; under "never"
 * its field is `pull_policy`, which the retry policy reads as final (no retry can
 * bring an image the job forbids pulling). Resolves with the image's inspect data
 * (its labels carry the contract, see imageContract.ts). `signal` abandons a pull.
 */
export async function ensureImage(
  docker: Docker,
  image: string,
  policy: PullPolicy,
  limits: PullLimits,
  onPullProgress: OnPullProgress = () => {},
  signal?: AbortSignal,
): Promise<Docker.ImageInspectInfo> {
  // Checked again here, not only at submit: a job stored by an older build, whose check
  // let "myorg/../x" through, would otherwise reach the engine's URL and end the process
  // (see imageReference.ts) at every retry.
  if (!isImageReference(image)) {
    throw new InvalidSpecError('image', `"${image}" is not a valid image reference`);
  }
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
  const progress = progressReporter(image, onPullProgress);
  await pullImage(docker, image, limits, (event) => progress.onEvent(event), signal)
    .then(
      () => progress.finish(true),
      (error: unknown) => {
        progress.finish(false);
        throw error;
      },
    )
    .catch(async (error: unknown) => {
      // The registry's refusal, worded for the job: whether a local copy exists says
      // why "always" failed where "if-not-present" would have run. The limits' own
      // messages (pull.timeoutSeconds, pull.maxBytes) pass through.
      if (error instanceof RunboxError && error.field === 'image') {
        const local =
          policy === 'always' && (await inspectIfPresent(docker, image))
            ? 'a local copy exists, but pull policy "always" requires a fresh pull (use "if-not-present" to run the local copy)'
            : 'no local copy exists';
        throw new RunboxError(
          'ImageUnavailable',
          `pulling image ${image} failed: ${engineReason(error.cause)}; ${local}`,
          { field: 'image', cause: error.cause },
        );
      }
      throw error;
    });
  const pulled = await inspectIfPresent(docker, image);
  if (!pulled) {
    throw new RunboxError('ImageUnavailable', `image ${image} is still missing after a pull`, {
      field: 'image',
    });
  }
  return pulled;
}
