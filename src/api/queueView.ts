import type { QueueSummary } from '../queue/types.js';
import type { QueueView } from './schemas.js';

/** A backend's queue summary as GET /v1/queues shows it (ISO times, snake_case). */
export function toQueueView(summary: QueueSummary): QueueView {
  return {
    name: summary.name,
    queued: summary.queued,
    due: summary.due,
    scheduled: summary.queued - summary.due,
    running: summary.running,
    oldest_due_at:
      summary.oldestDueAt === null ? null : new Date(summary.oldestDueAt).toISOString(),
    workers: summary.workers,
    slots: summary.slots,
  };
}
