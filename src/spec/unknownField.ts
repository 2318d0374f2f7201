import type { ValueError } from '@sinclair/typebox/errors';
import { editDistance } from '../editDistance.js';

/**
 * The words for a field the schema does not know, with the known field it most likely
 * meant: `timeout` for `timeout_seconds`, `maxAttempts` for `max_attempts`, a typo. The
 * bare "is not a known field" sent a user to read the whole OpenAPI document for a name
 * one edit away. `alsoKnown` adds the names a body's other schema takes (a submit's queue
 * options beside its spec).
 */
export function unknownFieldText(
  error: ValueError,
  see: string,
  alsoKnown: readonly string[] = [],
): string {
  const name = error.path.split('/').pop() ?? '';
  const properties = (error.schema as { properties?: Record<string, unknown> }).properties ?? {};
  const meant = closestField(name, [...Object.keys(properties), ...alsoKnown]);
  return meant === null
    ? `is not a known field; see ${see}`
    : `is not a known field; did you mean "${meant}"? (see ${see})`;
}

/** The known name `name` most likely stands for, or null when none is close. */
export function closestField(name: string, known: readonly string[]): string | null {
  const wanted = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
  if (wanted === '') return null;
  const exact = known.find((k) => k === wanted);
  if (exact !== undefined) return exact;
  // A field named without its unit or last word: timeout, retry_on_exit.
  const longer = known.filter((k) => k.startsWith(`${wanted}_`));
  if (longer.length === 1) return longer[0]!;
  let best: string | null = null;
  let bestDistance = wanted.length <= 4 ? 1 : 2;
  for (const k of known) {
    const d = editDistance(wanted, k);
    if (d <= bestDistance && (best === null || d < bestDistance)) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}
