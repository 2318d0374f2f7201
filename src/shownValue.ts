import { codePoints } from './codePoints.js';

/**
 * A value a message quotes back (a job field, a config key's value, a header, a path in a
 * URL): whole when short, cut visibly when long. Everything a stranger sends is quoted
 * through it, so no answer or log line repeats a 10 kB value or carries half an emoji.
 */
export function shownValue(value: unknown): string {
  // JSON says null for NaN and Infinity, which hides what was sent.
  const text =
    typeof value === 'number' && !Number.isFinite(value)
      ? String(value)
      : (JSON.stringify(value) ?? String(value));
  if (text.length <= 60) return text;
  // A long array's first characters say nothing of what was wrong with it: its length.
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  // The length a limit counts is the value's own, not that of its quoted JSON (a
  // 65-character queue name was "67 characters"), in characters as the schemas count
  // them (200 emoji were "400 characters").
  const length = codePoints(typeof value === 'string' ? value : text);
  // Not between the two halves of a surrogate pair: the lone half, an escape in the
  // answer, is what runbox itself refuses in a body (a key of emoji showed one).
  const cut = /[\uD800-\uDBFF]/.test(text.charAt(49)) ? 49 : 50;
  return `${text.slice(0, cut)}… (${length} characters)`;
}
