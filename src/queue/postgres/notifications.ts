import pg from 'pg';
import { CANCEL_CHANNEL } from './cancelJob.js';
import { JOBS_CHANNEL } from './enqueueJobs.js';
import { FINISHED_CHANNEL } from './finishJobs.js';
import { CONTRACT_CHANNEL } from './migrate.js';

export interface NotificationHandlers {
  /** A job became claimable in `queue` ('' when several or unknown). */
  jobs?: (queue: string) => void;
  /** Results were recorded (final, or queued again for a retry), by `origin` ('' unknown). */
  finished?: (ids: readonly string[], origin: string) => void;
  /** A cancel was requested for a running job, on whichever node it runs. */
  cancel?: (id: string) => void;
  /** A newer build raised the contract stamp: re-check it before claiming again. */
  contract?: () => void;
  /**
   * The listening connection was (re)established. Notifications sent while it was down
   * are lost, so whoever waits on one should look at the database now.
   */
  connected?: () => void;
}

const CHANNELS = [JOBS_CHANNEL, FINISHED_CHANNEL, CANCEL_CHANNEL, CONTRACT_CHANNEL];

/**
 * One dedicated connection per process LISTENing on runbox's channels (a pooled client
 * cannot: LISTEN belongs to a session, and the pool hands sessions around). Every
 * NOTIFY is sent inside the transaction that made the change, so it is delivered at
 * COMMIT and only if it commits. Notifications are a wake-up, never the truth: they are
 * lost while this connection is down (a restart, a failover), so it reconnects with
 * backoff, calls `connected` each time, and the queue's users keep a slower poll.
 */
export class PgNotifications {
  private client: pg.Client | null = null;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private delayMs = 100;

  constructor(
    private readonly url: string,
    private readonly handlers: NotificationHandlers,
  ) {}

  /** Resolves once listening (or rejects if the first connection fails). */
  async start(): Promise<void> {
    await this.connect();
  }

  /** True while the LISTEN connection is up. */
  get listening(): boolean {
    return this.client !== null;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'runbox-listen',
      connectionTimeoutMillis: 10_000,
    });
    client.on('notification', (message) => this.dispatch(message.channel, message.payload ?? ''));
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    await client.connect();
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    for (const channel of CHANNELS) await client.query(`LISTEN ${channel}`);
    this.client = client;
    this.delayMs = 100;
    this.handlers.connected?.();
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => {});
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().catch(() => this.scheduleReconnect());
    }, this.delayMs);
    this.retryTimer.unref();
    this.delayMs = Math.min(this.delayMs * 2, 5000);
  }

  private dispatch(channel: string, payload: string): void {
    switch (channel) {
      case JOBS_CHANNEL:
        this.handlers.jobs?.(payload);
        break;
      case FINISHED_CHANNEL: {
        const space = payload.indexOf(' ');
        const ids = payload.slice(space + 1);
        if (ids !== '') this.handlers.finished?.(ids.split(','), payload.slice(0, space));
        break;
      }
      case CANCEL_CHANNEL:
        this.handlers.cancel?.(payload);
        break;
      case CONTRACT_CHANNEL:
        this.handlers.contract?.();
        break;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => {});
  }
}
