import { createHash } from 'node:crypto';
import { canonicalJson } from './canonicalJson.js';
import { JobResultSchema } from './resultSchema.js';

export const CONTRACT_NAME = 'runbox.result';
/** Bump with every change to resultSchema.ts (see the rule there). */
export const CONTRACT_VERSION = '1.1.0';

export interface ContractDescriptor {
  name: string;
  version: string;
  fingerprint: string;
  schema: unknown;
}

/** The schema as plain JSON: TypeBox adds symbol keys that are not part of the contract. */
export function plainSchema(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema));
}

export function fingerprintOf(schema: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(plainSchema(schema)))
    .digest('hex');
}

/** This build's contract. */
export const CURRENT_CONTRACT: ContractDescriptor = Object.freeze({
  name: CONTRACT_NAME,
  version: CONTRACT_VERSION,
  fingerprint: fingerprintOf(JobResultSchema),
  schema: plainSchema(JobResultSchema),
});
