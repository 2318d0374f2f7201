import type { ScheduleRecord } from './ScheduleStore.js';

/**
 * A schedules row as both backends read it: SQLite keeps the request as JSON text and
 * paused as 0/1, PostgreSQL as json and boolean; everything else matches.
 */
export interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string;
  catch_up: 'skip' | 'once';
  request: string | Record<string, unknown>;
  paused: number | boolean;
  next_fire_at: number;
  last_fired_at: number | null;
  last_job_id: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export function rowToSchedule(row: ScheduleRow): ScheduleRecord {
  return {
    name: row.name,
    cron: row.cron,
    timezone: row.timezone,
    catchUp: row.catch_up,
    request:
      typeof row.request === 'string'
        ? (JSON.parse(row.request) as Record<string, unknown>)
        : row.request,
    paused: Boolean(row.paused),
    nextFireAt: row.next_fire_at,
    lastFiredAt: row.last_fired_at,
    lastJobId: row.last_job_id,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
