import { sql, type Db } from '../../queue/sqlite/db.js';
import type { SchedulePage, ScheduleRecord } from '../ScheduleStore.js';
import { rowToSchedule, type ScheduleRow } from '../rows.js';

// Names are ASCII (ScheduleService's NAME), so SQLite's byte order is PostgreSQL's "C".
const PAGE = `
SELECT * FROM schedules WHERE (:after IS NULL OR name > :after) ORDER BY name LIMIT :limit`;
const ONE = 'SELECT * FROM schedules WHERE name = :name';
const DUE = `
SELECT * FROM schedules INDEXED BY schedules_due
WHERE paused = 0 AND next_fire_at <= :now ORDER BY next_fire_at, name LIMIT :limit`;

export function listSchedules(db: Db, page: SchedulePage): ScheduleRecord[] {
  return (sql(db, PAGE).all(page) as ScheduleRow[]).map(rowToSchedule);
}

export function getSchedule(db: Db, name: string): ScheduleRecord | null {
  const row = sql(db, ONE).get({ name }) as ScheduleRow | undefined;
  return row ? rowToSchedule(row) : null;
}

export function dueSchedules(db: Db, now: number, limit: number): ScheduleRecord[] {
  return (sql(db, DUE).all({ now, limit }) as ScheduleRow[]).map(rowToSchedule);
}
