import { Type } from '@sinclair/typebox';
import type Docker from 'dockerode';
import type { Config } from '../config.js';
import { InvalidSpecError } from '../errors/index.js';

/**
 * A job's GPU request: a count, "all", or device IDs (index or UUID, as
 * nvidia-smi -L prints them). Mapped to the engine's DeviceRequests, the same as
 * `docker run --gpus`.
 */
export const GpusSchema = Type.Union(
  [
    Type.Integer({ minimum: 1, maximum: 64 }),
    Type.Literal('all'),
    Type.Array(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' }), {
      minItems: 1,
      maxItems: 64,
    }),
  ],
  { description: 'GPUs: a count, "all", or device IDs; the server must allow GPUs' },
);

export type GpuRequest = { count: number } | { deviceIds: string[] };

/** Checks a spec's `gpus` against the server's config; null when the job asks for none. */
export function resolveGpus(
  gpus: number | 'all' | string[] | undefined,
  config: Readonly<Config>,
): GpuRequest | null {
  if (gpus === undefined) return null;
  if (!config.gpus.allow) {
    throw new InvalidSpecError(
      'gpus',
      'this server does not run GPU jobs; its operator can allow them with "gpus": {"allow": true} in the config (on a host with the NVIDIA Container Toolkit)',
    );
  }
  if (Array.isArray(gpus)) return { deviceIds: [...gpus] };
  // The engine's "all" is Count -1.
  return { count: gpus === 'all' ? -1 : gpus };
}

/** The HostConfig.DeviceRequests entry for a GPU request. */
export function deviceRequests(request: GpuRequest): Docker.DeviceRequest[] {
  return [
    {
      Driver: '',
      Count: 'count' in request ? request.count : 0,
      DeviceIDs: 'deviceIds' in request ? request.deviceIds : [],
      Capabilities: [['gpu']],
      Options: {},
    },
  ];
}

/** `--gpus N|all|ID,ID` as the CLI takes it (like `docker run --gpus`). */
export function parseGpusFlag(value: string): number | 'all' | string[] {
  const text = value.trim().replace(/^device=/, '');
  if (text === 'all') return 'all';
  if (/^\d+$/.test(text)) return Number(text);
  // Not a device ID: a count that is not one (a GPU host's engine only said "unknown device").
  if (/^-\d+$/.test(text)) {
    throw new InvalidSpecError(
      'gpus',
      `--gpus ${value}: a count is 1 or more; give a count, "all", or device IDs like 0,1`,
    );
  }
  const ids = text.split(',').map((id) => id.trim());
  if (ids.some((id) => id === '')) {
    throw new InvalidSpecError(
      'gpus',
      `--gpus ${value}: give a count, "all", or device IDs like 0,1`,
    );
  }
  return ids;
}
