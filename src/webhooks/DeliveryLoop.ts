import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import { coerceError } from '../errors/index.js';
import { silentLogger, type Logger } from '../log.js';
import { PollLoop } from '../pollLoop.js';
import { RUNBOX_VERSION } from '../version.js';
import { postWebhook, type PostOutcome } from './post.js';
import { signatureHeader, SIGNATURE_HEADER } from './signature.js';
import { resolveWebhookAddresses, type ResolvedAddress } from './urlPolicy.js';
import type { DeliveryClaim, WebhookStore } from './WebhookStore.js';

export interface DeliveryLoopDeps {
  config: Pick<Config, 'webhooks'>;
  store: WebhookStore;
  /** The job as GET /v1/jobs/:id answers it, or null when it is gone (retention). */
  jobView: (id: string) => Promise<unknown>;
  logger?: Logger;
  /** @defaultValue Date.now */
  now?: () => number;
  /** Resolves a host name; tests point names at loopback. @defaultValue dns.lookup */
  resolve?: (host: string) => Promise<ResolvedAddress[]>;
}

/** Deliveries one turn of the loop takes at most. */
const BATCH = 16;

/** Delay before retry number `attempt` (1 = the first retry): base x 2^(n-1), capped. */
export function backoffMs(attempt: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(30, attempt - 1));
}

/**
 * The delivery loop of `runbox serve`: every pollMs it leases the due deliveries, POSTs
 * each (signed, to the address checked at this moment), and records the attempt with
 * its outcome. Its lease is the POST timeout plus a margin, so a process killed mid-POST
 * leaves the delivery to be claimed again once the lease runs out: at least once, which
 * is why receivers get a Runbox-Delivery id to drop duplicates by.
 */
export class DeliveryLoop {
  readonly owner = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly loop: PollLoop;

  constructor(private readonly deps: DeliveryLoopDeps) {
    this.log = deps.logger ?? silentLogger;
    this.now = deps.now ?? Date.now;
    this.loop = new PollLoop(
      () => this.tick(),
      () => deps.config.webhooks.pollMs,
      this.log,
      'webhook delivery turn failed',
    );
  }

  start(): void {
    this.running = true;
    this.loop.start();
    if (!this.deps.config.webhooks.secret) this.warnUnsent = this.warnIfUnsent();
  }

  /** The start's look for deliveries this process will not send (stop() waits for it). */
  private warnUnsent: Promise<void> | null = null;

  /**
   * Without the secret this loop sends nothing, by design (turn()), which is right beside
   * a server that has it and silent otherwise: a server restarted without
   * RUNBOX_WEBHOOK_SECRET held its deliveries pending for good, with no line anywhere
   * saying why (`runbox webhooks ID`: "pending after 0 attempt(s)", next long past).
   */
  private async warnIfUnsent(): Promise<void> {
    try {
      const pending = await this.deps.store.countPending();
      if (pending === 0) return;
      this.log.warn(
        `${pending} webhook deliveries are pending, and this server has no webhooks.secret to ` +
          'sign them: it sends none. Set RUNBOX_WEBHOOK_SECRET (or webhooks.secret) and ' +
          'restart, or leave them to a server on this database that has it',
        { pending },
      );
    } catch (error) {
      this.log.warn('cannot count pending webhook deliveries', {
        error: coerceError(error).message,
      });
    }
  }

  /** Waits for the POSTs in flight (each bounded by timeoutMs). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop.stop();
    await this.warnUnsent;
    // A claim a finished POST started may still be adding deliveries: wait for both.
    while (this.inFlight.size > 0 || this.refill) {
      const refill = this.refill;
      this.refill = null;
      await Promise.all([...this.inFlight, refill]);
    }
  }

  /**
   * One turn: claim what is due and deliver it. Tests call it directly with a fake clock.
   * Without the secret nothing is claimed: a claim it cannot sign would count an attempt
   * and push the delivery back by the backoff (until retryForMs failed it unsent), while
   * a server on the same database that has the secret could have sent it.
   */
  async turn(): Promise<number> {
    const secret = this.deps.config.webhooks.secret;
    if (!secret) return 0;
    const claims = await this.claim(BATCH);
    await Promise.all(claims.map((claim) => this.deliver(claim, secret)));
    return claims.length;
  }

  /** POSTs started by the running loop and not yet recorded. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Between start() and stop(): a finished POST may then claim the next delivery. */
  private running = false;
  /** One claim at a time, so the POSTs in flight never pass BATCH. */
  private claiming = false;
  /** The last claim took every free place: more may be due than it could take. */
  private backlog = false;
  /** The claim the last finished POST started, if any (stop() waits for it). */
  private refill: Promise<void> | null = null;

  /**
   * The running loop's turn: claims up to the free places and starts their POSTs without
   * waiting for them. Waiting (as turn() does) let one receiver that hangs hold every
   * other due delivery for up to timeoutMs: a receiver answering 500 with a 1 s backoff
   * was retried every 4 s beside one that hung for a 3 s timeout. While a claim leaves a
   * backlog, each finished POST claims again at once: waiting for the next pollMs sent
   * 16 a second to a receiver answering at once, and a busy server fell behind for good.
   */
  private async tick(): Promise<void> {
    const free = BATCH - this.inFlight.size;
    const secret = this.deps.config.webhooks.secret;
    if (free <= 0 || !secret || this.claiming) return;
    this.claiming = true;
    let claims: DeliveryClaim[];
    try {
      claims = await this.claim(free);
    } finally {
      this.claiming = false;
    }
    this.backlog = claims.length === free;
    for (const claim of claims) {
      const delivery: Promise<void> = this.deliver(claim, secret)
        .catch((error: unknown) =>
          this.log.warn('webhook delivery failed', {
            delivery: claim.id,
            error: coerceError(error).message,
          }),
        )
        .finally(() => {
          this.inFlight.delete(delivery);
          if (this.running && this.backlog) {
            this.refill = this.tick().catch((error: unknown) =>
              this.log.warn('webhook delivery turn failed', { error: coerceError(error).message }),
            );
          }
        });
      this.inFlight.add(delivery);
    }
  }

  private claim(limit: number): Promise<DeliveryClaim[]> {
    const leaseMs = this.deps.config.webhooks.timeoutMs + 30_000;
    return this.deps.store.claimDue(this.owner, this.now(), leaseMs, limit);
  }

  private async deliver(claim: DeliveryClaim, secret: string): Promise<void> {
    const { webhooks } = this.deps.config;
    const startedAt = this.now();
    const attempt = claim.attempts + 1;
    let outcome: PostOutcome = { ok: false, statusCode: null, error: 'not attempted' };
    let permanent = false;
    const job = await this.deps.jobView(claim.jobId);
    if (job === null) {
      outcome = { ok: false, statusCode: null, error: 'the job no longer exists' };
      permanent = true;
    } else {
      let addresses: ResolvedAddress[] | null = null;
      try {
        addresses = await resolveWebhookAddresses(claim.url, webhooks, this.deps.resolve);
      } catch (error) {
        outcome = { ok: false, statusCode: null, error: coerceError(error).message };
        // A refused address (allow-list, private, metadata) is the operator's policy, not
        // a passing failure: retrying would only knock on the same door. A name that did
        // not resolve may come back, so that one is retried.
        permanent = !/ENOTFOUND|EAI_AGAIN|resolves to no address/.test(outcome.error);
      }
      if (addresses) {
        const body = JSON.stringify(job);
        const timestamp = Math.floor(Date.now() / 1000);
        outcome = await postWebhook(
          claim.url,
          addresses,
          body,
          {
            'content-type': 'application/json',
            'user-agent': `runbox/${RUNBOX_VERSION}`,
            [SIGNATURE_HEADER]: signatureHeader(secret, timestamp, body),
            'runbox-delivery': String(claim.id),
            'runbox-event': claim.event,
            'runbox-attempt': String(attempt),
          },
          webhooks.timeoutMs,
        );
      }
    }
    const now = this.now();
    const next = now + backoffMs(attempt, webhooks.backoffBaseMs, webhooks.backoffCapMs);
    const kind = outcome.ok
      ? 'delivered'
      : permanent || next > claim.createdAt + webhooks.retryForMs
        ? 'failed'
        : 'retry';
    const recorded = await this.deps.store.recordAttempt({
      deliveryId: claim.id,
      owner: this.owner,
      startedAt,
      durationMs: Math.max(0, now - startedAt),
      statusCode: outcome.statusCode,
      error: outcome.ok ? null : outcome.error,
      outcome: kind,
      nextAttemptAt: kind === 'retry' ? next : null,
      now,
    });
    const fields = { delivery: claim.id, job: claim.jobId, attempt, outcome: kind };
    if (!recorded) this.log.warn('webhook attempt not recorded: lease lost', fields);
    else if (kind === 'delivered') this.log.info('webhook delivered', fields);
    else
      this.log.warn('webhook attempt failed', {
        ...fields,
        error: outcome.ok ? null : outcome.error,
      });
  }
}
