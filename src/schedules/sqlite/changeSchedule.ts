import { immediate, sql, type Db } from '../../queue/sqlite/db.js';
import type { ScheduleRecord } from '../ScheduleStore.js';
import { rowToSchedule, type ScheduleRow } from '../rows.js';

const REMOVE = 'DELETE FROM schedules WHERE name = :name';

// Resuming a paused schedule sets a fresh next_fire_at (times that passed while paused are
// not caught up); pausing keeps it, so `ls` still shows where it stood. Resuming one that
// is not paused changes nothing: a fresh time would drop a due time not yet fired.
const SET_PAUSED = `
UPDATE schedules
SET paused = :paused,
    next_fire_at = CASE WHEN paused = 1 THEN coalesce(:nextFireAt, next_fire_at)
      ELSE next_fire_at END,
    updated_at = :now
WHERE name = :name
RETURNING *`;

export function removeSchedule(db: Db, name: string): boolean {
  return immediate(db, () => sql(db, REMOVE).run({ name }).changes > 0);
}

export function setSchedulePaused(
  db: Db,
  name: string,
  paused: boolean,
  nextFireAt: number | null,
  now: number,
): ScheduleRecord | null {
  return immediate(db, () => {
    const row = sql(db, SET_PAUSED).get({ name, paused: paused ? 1 : 0, nextFireAt, now }) as
      ScheduleRow | undefined;
    return row ? rowToSchedule(row) : null;
  });
}
