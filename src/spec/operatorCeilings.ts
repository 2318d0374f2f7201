import type { Config, PullPolicy } from '../config.js';
import { InvalidSpecError } from '../errors/index.js';

/**
 * The operator's ceilings and allow-lists applied to one job's requests
 * (DESIGN.md "The operator sets the ceiling"). A request beyond them is the
 * submitter's error: InvalidSpec naming the field, the value, the ceiling and the
 * config key that sets it, so whoever reads it knows whom to ask.
 */

const SIZE_UNITS: Array<[string, number]> = [
  ['t', 1024 ** 4],
  ['g', 1024 ** 3],
  ['m', 1024 ** 2],
  ['k', 1024],
];

/** 4294967296 -> "4g", 1610612736 -> "1.5g": the way sizes are written in a spec. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of SIZE_UNITS) {
    if (bytes >= size) {
      const value = Math.floor((bytes / size) * 10) / 10;
      return `${value}${unit}`;
    }
  }
  return `${bytes}`;
}

/** Throws when `asked` is above the ceiling. `shown` is the value as the job wrote it. */
export function checkCeiling(
  field: string,
  asked: number,
  shown: string,
  key: keyof Config['ceilings'],
  config: Readonly<Config>,
  format: (n: number) => string = String,
): void {
  const max = config.ceilings[key];
  if (asked > max) {
    throw new InvalidSpecError(
      field,
      `${shown} is above the server's ceiling ${format(max)} (ceilings.${key}); ask for less, or ask the operator to raise it`,
    );
  }
}

/** True when `pattern` is the image itself, or a prefix ending in `*` that it starts with. */
function imageMatches(pattern: string, image: string): boolean {
  return pattern.endsWith('*') ? image.startsWith(pattern.slice(0, -1)) : pattern === image;
}

/** An image named by `image` must be a configured runtime's image or on allow.images. */
export function checkImageAllowed(image: string, config: Readonly<Config>): void {
  if (Object.values(config.runtimes).some((runtime) => runtime.image === image)) return;
  if (config.allow.images.some((pattern) => imageMatches(pattern, image))) return;
  const runtimes = Object.keys(config.runtimes).join(', ');
  throw new InvalidSpecError(
    'image',
    `"${image}" is not allowed on this server (allow.images); use a runtime (${runtimes}) or ask the operator to allow the image`,
  );
}

export function checkNetworkAllowed(network: 'none' | 'bridge', config: Readonly<Config>): void {
  if (config.allow.networks.includes(network)) return;
  throw new InvalidSpecError(
    'network',
    `"${network}" is not allowed on this server (allow.networks: ${config.allow.networks.join(', ')})`,
  );
}

export function checkPullPolicyAllowed(policy: PullPolicy, config: Readonly<Config>): void {
  if (config.allow.pullPolicies.includes(policy)) return;
  throw new InvalidSpecError(
    'pull_policy',
    `"${policy}" is not allowed on this server (allow.pullPolicies: ${config.allow.pullPolicies.join(', ')})`,
  );
}
