import type { Db } from '../../queue/sqlite/db.js';
import type {
  FireArgs,
  FireOutcome,
  SchedulePage,
  ScheduleRecord,
  ScheduleStore,
} from '../ScheduleStore.js';
import { removeSchedule, setSchedulePaused } from './changeSchedule.js';
import { createSchedule } from './createSchedule.js';
import { fireSchedule } from './fireSchedule.js';
import { dueSchedules, getSchedule, listSchedules } from './readSchedules.js';

/** The embedded store: the queue's own connection, each call one small transaction. */
export class SqliteScheduleStore implements ScheduleStore {
  constructor(private readonly db: Db) {}

  async create(record: ScheduleRecord): Promise<void> {
    createSchedule(this.db, record);
  }

  async list(page: SchedulePage): Promise<ScheduleRecord[]> {
    return listSchedules(this.db, page);
  }

  async get(name: string): Promise<ScheduleRecord | null> {
    return getSchedule(this.db, name);
  }

  async remove(name: string): Promise<boolean> {
    return removeSchedule(this.db, name);
  }

  async setPaused(
    name: string,
    paused: boolean,
    nextFireAt: number | null,
    now: number,
  ): Promise<ScheduleRecord | null> {
    return setSchedulePaused(this.db, name, paused, nextFireAt, now);
  }

  async due(now: number, limit: number): Promise<ScheduleRecord[]> {
    return dueSchedules(this.db, now, limit);
  }

  async fire(args: FireArgs): Promise<FireOutcome> {
    return fireSchedule(this.db, args);
  }
}
