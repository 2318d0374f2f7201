/**
 * A zone's UTC offset at an instant, from the platform's Intl data, and the daylight
 * saving changes found between two instants: what cron.ts needs to keep the README's
 * promises about skipped and repeated local times, which croner alone keeps only for
 * patterns naming one time in the affected hour.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** Local wall-clock time minus UTC at `ms`, in ms (Paris in winter: 3,600,000). */
export function offsetMs(timezone: string, ms: number): number {
  const at = Math.floor(ms / 1000) * 1000;
  const p: Record<string, number> = {};
  for (const part of formatter(timezone).formatToParts(new Date(at))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return wall - at;
}

export interface Change {
  /** The first instant with the new offset. */
  at: number;
  before: number;
  after: number;
}

/** Where the offset changes in (from, to], given offset(from) !== offset(to) and one change. */
function bisect(timezone: string, from: number, to: number): Change {
  const before = offsetMs(timezone, from);
  // Whole seconds, as offsetMs reads them: from a `now` with milliseconds, a change in
  // the last second before `to` (a due time at a spring gap's end) left hi - lo between
  // 1 and 2 s, where the midpoint is lo itself, and the loop never ended (a schedule
  // added at 15:05:15.123 for the gap's day held serve's event loop for ever).
  let lo = Math.floor(from / 1000) * 1000;
  let hi = Math.floor(to / 1000) * 1000;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offsetMs(timezone, mid) === before) lo = mid;
    else hi = mid;
  }
  return { at: hi, before, after: offsetMs(timezone, hi) };
}

/** Offsets change at most a few times a year and never twice within this. */
const STEP_MS = 86_400_000;

/** The offset changes in (from, to], earliest first. */
export function changesBetween(timezone: string, from: number, to: number): Change[] {
  const changes: Change[] = [];
  for (let a = from; a < to; a += STEP_MS) {
    const b = Math.min(to, a + STEP_MS);
    if (offsetMs(timezone, a) !== offsetMs(timezone, b)) changes.push(bisect(timezone, a, b));
  }
  return changes;
}
