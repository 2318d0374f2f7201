import { Cron } from 'croner';
import { InvalidSpecError } from '../errors/index.js';
import { shownValue } from '../shownValue.js';
import { changesBetween, offsetMs } from './zoneOffsets.js';

/**
 * Cron expressions are read by croner (npm `croner`): no dependencies, time zones through
 * the platform's Intl data (so DST gaps and repeats follow the zone's real rules), 5
 * fields or 6 with seconds first (or a name: @hourly, @daily, ...), and the usual OR of
 * day-of-month and day-of-week.
 */
export interface CronSchedule {
  /** The first due time strictly after `afterMs`, or null when there is none. */
  next(afterMs: number): number | null;
  /** The last due time at or before `atMs`, or null when there is none. */
  latest(atMs: number): number | null;
}

/** Throws InvalidSpec naming the field: `cron` for the expression, `timezone` for the zone. */
export function parseCron(expression: string, timezone: string): CronSchedule {
  checkTimezone(timezone);
  const fields = withoutNickname(expression).split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new InvalidSpecError(
      'cron',
      `${shownValue(expression)} has ${fields.length} fields; give 5 (minute hour day month weekday), 6 (seconds first) or a name such as @daily`,
    );
  }
  const pattern = fields.join(' ');
  let cron: Cron;
  try {
    cron = new Cron(pattern, { timezone, paused: true });
  } catch (error) {
    throw new InvalidSpecError(
      'cron',
      `${shownValue(expression)} is not a cron expression: ${cronerReason((error as Error).message)}`,
    );
  }
  // The same pattern read on a zone's wall clock as if it were UTC: does it name a local
  // time inside a spring gap?
  const wall = new Cron(pattern, { timezone: 'UTC', paused: true });
  const rawNext = (afterMs: number) => cron.nextRun(new Date(afterMs))?.getTime() ?? null;
  const rawLatest = (atMs: number) =>
    // previousRuns counts a run earlier in the reference's own second: +1 ms keeps a
    // due time exactly at atMs.
    cron.previousRuns(1, new Date(atMs + 1))[0]?.getTime() ?? null;

  /** Ends of spring gaps in (from, to] that swallowed a due local time, earliest first. */
  const gapFires = (from: number, to: number): number[] =>
    changesBetween(timezone, from, to)
      .filter((c) => c.after > c.before)
      .filter((c) => {
        const first = wall.nextRun(new Date(c.at + c.before - 1));
        return first !== null && first.getTime() < c.at + c.after;
      })
      .map((c) => c.at);

  /**
   * When `t` is the second time its local time is lived (autumn), where that repeated
   * stretch ends; otherwise null. No zone moves back more than 2 h.
   */
  const repeatEnd = (t: number): number | null => {
    const now = offsetMs(timezone, t);
    const earlier = offsetMs(timezone, t - 3 * 3_600_000);
    const back = earlier - now;
    if (back <= 0 || offsetMs(timezone, t - back) !== earlier) return null;
    const [change] = changesBetween(timezone, t - back, t);
    return change ? change.at + back : null;
  };

  // croner keeps the README's DST promises only for a pattern naming one time in the
  // affected hour: with several (*/20 2 * * *) it dropped the spring day and fired the
  // autumn hour twice. A skipped local time fires once at the gap's end; a repeated one
  // fires the first time only, but for a pattern of every hour, which goes by real time
  // as cron's does: "every 30 minutes" keeps firing through both passes of the hour.
  const everyHour = /^(\*|\*\/1|0-23)$/.test(fields[fields.length === 6 ? 2 : 1] ?? '');
  const repeated = (t: number): number | null => (everyHour ? null : repeatEnd(t));
  return {
    next(afterMs) {
      let from = afterMs;
      for (;;) {
        const t = rawNext(from);
        const [gap] = gapFires(from, t ?? from + 366 * 86_400_000);
        if (gap !== undefined && (t === null || gap <= t)) return gap;
        if (t === null) return null;
        const end = repeated(t);
        if (end === null) return t;
        from = end - 1;
      }
    },
    latest(atMs) {
      let at = atMs;
      for (;;) {
        const t = rawLatest(at);
        const gaps = gapFires(t ?? at - 366 * 86_400_000, at);
        const gap = gaps[gaps.length - 1];
        if (gap !== undefined && (t === null || gap > t)) return gap;
        if (t === null || repeated(t) === null) return t;
        at = t - 1;
      }
    },
  };
}

/** The names cron(8) takes for common schedules; stored as typed, read as their fields. */
const NICKNAMES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/**
 * `@hourly` was refused as "has 1 fields". `@reboot` has no due time a schedule could
 * keep, so it is refused by name rather than as an unknown word.
 */
function withoutNickname(expression: string): string {
  const trimmed = expression.trim();
  if (!trimmed.startsWith('@')) return trimmed;
  const fields = NICKNAMES[trimmed.toLowerCase()];
  if (fields) return fields;
  throw new InvalidSpecError(
    'cron',
    trimmed.toLowerCase() === '@reboot'
      ? '"@reboot" has no due time: a schedule fires at times; start the job when the server starts instead'
      : `${shownValue(trimmed)} is not a cron name; give one of ${Object.keys(NICKNAMES).join(', ')}, or 5 or 6 fields`,
  );
}

/** croner's name of a field -> ours, the offset it counts from, and the range it takes. */
const FIELDS: Record<string, { name: string; offset: number; range: string }> = {
  second: { name: 'second', offset: 0, range: '0-59' },
  minute: { name: 'minute', offset: 0, range: '0-59' },
  hour: { name: 'hour', offset: 0, range: '0-23' },
  day: { name: 'day of month', offset: 1, range: '1-31' },
  month: { name: 'month', offset: 1, range: '1-12' },
  dayOfWeek: { name: 'day of week', offset: 0, range: '0-7 (0 and 7: Sunday)' },
};

/**
 * croner counts day and month from 0 and names a bad value as it counts: "0 0 40 * *"
 * was refused for "day: 39" and "0 0 * 13 *" for "month: 12". The value is given back as
 * written, with the range that would fix it; other reasons pass as croner words them, without
 * the name of croner's class.
 */
function cronerReason(message: string): string {
  const bad = /Invalid value for (\w+): (-?\d+)$/.exec(message);
  const field = bad ? FIELDS[bad[1]!] : undefined;
  // croner names its own class ("CronPattern: Syntax error, ..."): a word of its code, not of cron.
  // It quotes the part at fault whole ("configuration entry 1 (<10 kB>) contains illegal
  // characters"): quoted here as every value is, cut when long.
  if (!bad || !field) {
    return message
      .replace(/^CronPattern:\s*/, '')
      .replace(
        /\(([\s\S]*)\)( contains illegal characters)/,
        (_, part: string, rest: string) => `${shownValue(part)}${rest}`,
      )
      .replace(/'([^']*)'/g, (_, part: string) => shownValue(part));
  }
  return `${field.name} ${Number(bad[2]) + field.offset} is outside ${field.range}`;
}

export function checkTimezone(timezone: string): void {
  // Node 24's Intl takes a UTC offset as a zone; a schedule's zone has daylight-saving
  // rules or is explicitly fixed (Etc/GMT-5), and README promises an IANA name.
  if (/^[+-]/.test(timezone)) {
    throw new InvalidSpecError(
      'timezone',
      `${shownValue(timezone)} is a UTC offset, not an IANA time zone; give a zone such as ` +
        'Europe/Paris, or Etc/GMT-5 for a fixed UTC+5 (IANA writes Etc/GMT signs reversed)',
    );
  }
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new InvalidSpecError(
      'timezone',
      `${shownValue(timezone)} is not an IANA time zone, e.g. UTC or Europe/Paris`,
    );
  }
}

/** Lower-cased zone name -> IANA's spelling, for the zones the platform lists. */
let spellings: Map<string, string> | null = null;

/**
 * The zone as the schedule stores it. Intl reads zone names in any case, so
 * `europe/paris` worked but was stored and shown as typed, beside `Europe/Paris` on
 * another schedule: a listed zone is stored in IANA's spelling. A link the platform
 * does not list (Asia/Kolkata, US/Eastern, GMT) is kept as typed when it has capitals
 * (how IANA writes every name); typed all in lower case its spelling cannot be known
 * here, so it is refused, naming the zone it links to.
 */
export function canonicalTimezone(timezone: string): string {
  checkTimezone(timezone);
  const resolved = new Intl.DateTimeFormat('en', { timeZone: timezone }).resolvedOptions().timeZone;
  if (timezone === resolved) return timezone;
  spellings ??= new Map(Intl.supportedValuesOf('timeZone').map((z) => [z.toLowerCase(), z]));
  const lower = timezone.toLowerCase();
  const listed = spellings.get(lower) ?? (resolved.toLowerCase() === lower ? resolved : null);
  if (listed !== null) return listed;
  if (timezone !== lower) return timezone;
  throw new InvalidSpecError(
    'timezone',
    `${shownValue(timezone)} is the zone ${resolved} under another name; give ${resolved}, ` +
      'or this name with the capitals IANA writes it with',
  );
}

/**
 * Missed due times counted (for the log) when catching up; past it the count says "at
 * least". Each costs a next() through the zone's offsets (~0.1 ms): at 10,000 a restart a
 * day after the last fire of a few every-second schedules held the event loop for 29 s
 * (no API answer, no heartbeat), all for a log line.
 */
const MAX_COUNT = 100;

export interface FirePlan {
  /** The due time to enqueue now, or null (nothing missed fits the catch-up policy). */
  fireAt: number | null;
  /** How many due times this plan passes over without a job (see skippedAtLeast). */
  skipped: number;
  /** True when counting stopped at MAX_COUNT: `skipped` is then a lower bound. */
  skippedAtLeast: boolean;
  /** The next due time after now (null: the expression has no more). */
  next: number | null;
}

/**
 * What a due schedule does at `now` (README "Schedules", catch-up policy):
 * - its pending due time is at most graceMs old: that time fires, whatever the policy,
 *   and next is the due time after it (which may have come too: the scheduler fires
 *   again), so a poll that came late, or a short restart, loses no due time;
 * - older (a downtime), the latest due time at or before now is found;
 * - catch_up "once": that latest time is enqueued, however late, and earlier missed
 *   times are skipped (one job stands for everything missed while down);
 * - catch_up "skip": it is enqueued only if it is at most graceMs old; older, it is
 *   skipped like the rest;
 * - next_fire_at becomes the first due time after now.
 */
export function planFire(
  cron: CronSchedule,
  nextFireAt: number,
  now: number,
  catchUp: 'skip' | 'once',
  graceMs: number,
): FirePlan {
  if (now - nextFireAt <= graceMs) {
    return { fireAt: nextFireAt, skipped: 0, skippedAtLeast: false, next: cron.next(nextFireAt) };
  }
  const latest = Math.max(nextFireAt, cron.latest(now) ?? nextFireAt);
  let passed = 0;
  for (let t: number | null = nextFireAt; t !== null && t < latest && passed < MAX_COUNT;) {
    passed++;
    t = cron.next(t);
  }
  const fire = catchUp === 'once' || now - latest <= graceMs;
  return {
    fireAt: fire ? latest : null,
    skipped: fire ? passed : passed + 1,
    skippedAtLeast: passed >= MAX_COUNT,
    next: cron.next(now),
  };
}
