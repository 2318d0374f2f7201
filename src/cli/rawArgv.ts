import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';

let notUtf8: ReadonlySet<string> | undefined;

/**
 * The words of this process's command line that are not UTF-8, as Node decoded them
 * (each bad byte U+FFFD): process.argv holds only the decoded words, the kernel's
 * /proc/self/cmdline the bytes the shell passed. Empty where there is no /proc (then a
 * U+FFFD cannot be told from one typed as such).
 */
export function wordsNotUtf8(): ReadonlySet<string> {
  if (notUtf8) return notUtf8;
  const found = new Set<string>();
  let raw: Buffer | null;
  try {
    raw = readFileSync('/proc/self/cmdline');
  } catch {
    raw = null;
  }
  let start = 0;
  for (let i = 0; raw && i < raw.length; i++) {
    if (raw[i] !== 0) continue;
    const word = raw.subarray(start, i);
    if (!isUtf8(word)) found.add(word.toString('utf8'));
    start = i + 1;
  }
  notUtf8 = found;
  return found;
}

/**
 * Whether `text`, as Node decoded it, came from bytes that are not UTF-8: it holds U+FFFD
 * and ends a command-line word that was not UTF-8 (`--env=A=\xff` is one word, `--env`
 * `A=\xff` two).
 */
export function cameNotUtf8(text: string): boolean {
  if (!text.includes('\ufffd')) return false;
  for (const word of wordsNotUtf8()) if (word.endsWith(text)) return true;
  return false;
}
