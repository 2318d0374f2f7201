import type { ScheduleRecord } from '../ScheduleStore.js';

export interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string;
  catch_up: 'skip' | 'once';
  request: string;
  paused: number;
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
    request: JSON.parse(row.request) as Record<string, unknown>,
    paused: row.paused !== 0,
    nextFireAt: row.next_fire_at,
    lastFiredAt: row.last_fired_at,
    lastJobId: row.last_job_id,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
