import { RunboxError } from '../../errors/index.js';
import { immediate, sql, type Db } from '../../queue/sqlite/db.js';
import type { ScheduleRecord } from '../ScheduleStore.js';

const INSERT = `
INSERT INTO schedules (name, cron, timezone, catch_up, request, paused, next_fire_at,
                       created_at, updated_at)
VALUES (:name, :cron, :timezone, :catchUp, :request, :paused, :nextFireAt, :now, :now)
ON CONFLICT (name) DO NOTHING`;

export function createSchedule(db: Db, s: ScheduleRecord): void {
  immediate(db, () => {
    const { changes } = sql(db, INSERT).run({
      name: s.name,
      cron: s.cron,
      timezone: s.timezone,
      catchUp: s.catchUp,
      request: JSON.stringify(s.request),
      paused: s.paused ? 1 : 0,
      nextFireAt: s.nextFireAt,
      now: s.createdAt,
    });
    if (changes === 0) {
      throw new RunboxError(
        'Conflict',
        `a schedule named "${s.name}" exists; remove it first or pick another name`,
        { field: 'name' },
      );
    }
  });
}
