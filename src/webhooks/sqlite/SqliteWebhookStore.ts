import type { Db } from '../../queue/sqlite/db.js';
import type { AttemptResult, DeliveryClaim, DeliveryView, WebhookStore } from '../WebhookStore.js';
import { claimDeliveries } from './claimDeliveries.js';
import { listDeliveries } from './listDeliveries.js';
import { recordAttempt } from './recordAttempt.js';

/** The embedded store: the queue's own connection, each call one small transaction. */
export class SqliteWebhookStore implements WebhookStore {
  constructor(private readonly db: Db) {}

  async claimDue(
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
  ): Promise<DeliveryClaim[]> {
    return claimDeliveries(this.db, owner, now, leaseMs, limit);
  }

  async recordAttempt(result: AttemptResult): Promise<boolean> {
    return recordAttempt(this.db, result);
  }

  async listForJob(jobId: string): Promise<DeliveryView[]> {
    return listDeliveries(this.db, jobId);
  }

  async countPending(): Promise<number> {
    const row = this.db
      .prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'pending'")
      .get() as { n: number };
    return row.n;
  }
}
