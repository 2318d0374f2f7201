import { randomBytes } from 'node:crypto';
import { InvalidSpecError } from '../errors/index.js';
import { shownValue } from '../shownValue.js';

/**
 * Job ids: ULIDs (26 chars of Crockford base32: 48-bit millisecond time, 80 random
 * bits). They sort by creation time as text, so `ORDER BY id` is submission order and
 * cursor pagination needs no second column. Within one process ids are strictly
 * increasing even inside one millisecond (the random part is incremented), so the
 * claim order's last tie-break (id) is FIFO for one submitter.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastTime = -1;
let lastRandom: number[] = [];

/** The time part of an id: every id made at or after `ms` sorts at or after it. */
export function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32]! + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

/** When an id was made (ms since the epoch), from its time part. */
export function idTime(id: string): number {
  let ms = 0;
  for (let i = 0; i < 10; i++) ms = ms * 32 + ALPHABET.indexOf(id[i]!.toUpperCase());
  return ms;
}

function freshRandom(): number[] {
  const bytes = randomBytes(16);
  const digits: number[] = [];
  for (let i = 0; i < 16; i++) digits.push(bytes[i]! % 32);
  // Keep headroom so increments within one millisecond never overflow the 80 bits.
  digits[0] = digits[0]! & 0x0f;
  return digits;
}

function increment(digits: number[]): number[] {
  const next = digits.slice();
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i]! < 31) {
      next[i] = next[i]! + 1;
      return next;
    }
    next[i] = 0;
  }
  return freshRandom();
}

export function newJobId(now: number = Date.now()): string {
  if (now <= lastTime) {
    lastRandom = increment(lastRandom);
    now = lastTime;
  } else {
    lastTime = now;
    lastRandom = freshRandom();
  }
  return encodeTime(now) + lastRandom.map((d) => ALPHABET[d]).join('');
}

/**
 * What a job lookup takes as an id: never a path or anything a URL must quote. The API's
 * routes and the CLI's commands both check with it, so a mistyped id gets one answer,
 * InvalidSpec (65) naming the field at fault, with or without a server (the local
 * database said "no job", 66). Returns the id as the queue stores it: ULIDs are Crockford
 * base32, which reads letters in either case, and ids are made upper case, so a lower
 * case id (typed, or passed through a tool that lowercases) names the same job. Done
 * here, before any queue is asked, the SQLite and PostgreSQL queues need no collation.
 */
const LOOKUP_ID = /^[0-9A-Za-z_-]{1,64}$/;

export function canonicalJobId(id: string, field = 'id'): string {
  if (!LOOKUP_ID.test(id)) throw new InvalidSpecError(field, `${shownValue(id)} is not a job id`);
  return id.toUpperCase();
}
