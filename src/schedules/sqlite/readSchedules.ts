import { sql, type Db } from '../../queue/sqlite/db.js';
import type { ScheduleRecord } from '../ScheduleStore.js';
import { rowToSchedule, type ScheduleRow } from '../rows.js';

const ALL = 'SELECT * FROM schedules ORDER BY name';
const ONE = 'SELECT * FROM schedules WHERE name = :name';
const DUE = `
SELECT * FROM schedules INDEXED BY schedules_due
WHERE paused = 0 AND next_fire_at <= :now ORDER BY next_fire_at, name LIMIT :limit`;

export function listSchedules(db: Db): ScheduleRecord[] {
  return (sql(db, ALL).all() as ScheduleRow[]).map(rowToSchedule);
}

export function getSchedule(db: Db, name: string): ScheduleRecord | null {
  const row = sql(db, ONE).get({ name }) as ScheduleRow | undefined;
  return row ? rowToSchedule(row) : null;
}

export function dueSchedules(db: Db, now: number, limit: number): ScheduleRecord[] {
  return (sql(db, DUE).all({ now, limit }) as ScheduleRow[]).map(rowToSchedule);
}
