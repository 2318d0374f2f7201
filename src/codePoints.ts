/**
 * The characters of a string as JSON Schema's minLength/maxLength count them: code points,
 * where a UTF-16 `length` counts an emoji twice.
 */
export function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
