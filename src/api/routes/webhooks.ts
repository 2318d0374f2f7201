import type { JobService } from '../jobService.js';
import { ErrorBodySchema, IdParams, described } from '../schemas.js';
import type { Api } from '../typeProvider.js';
import { WebhookDeliveryListSchema, type WebhookDeliveryList } from '../webhookSchemas.js';
import type { WebhookStore } from '../../webhooks/WebhookStore.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function registerWebhookRoutes(app: Api, jobs: JobService, store: WebhookStore): void {
  app.get(
    '/v1/jobs/:id/webhooks',
    {
      schema: {
        operationId: 'listJobWebhooks',
        summary: "A job's webhook deliveries and every attempt made",
        description:
          'Empty until the job reaches a final state (and always for a job without webhook_url).',
        tags: ['jobs'],
        params: IdParams,
        response: {
          200: described(WebhookDeliveryListSchema, 'Deliveries, oldest first'),
          404: ErrorBodySchema,
        },
      },
    },
    async (request): Promise<WebhookDeliveryList> => {
      const job = await jobs.record(request.params.id);
      const deliveries = await store.listForJob(job.id);
      return {
        deliveries: deliveries.map((d) => ({
          id: d.id,
          url: d.url,
          event: d.event,
          status: d.status,
          attempts: d.attempts,
          created_at: iso(d.createdAt)!,
          next_attempt_at: iso(d.nextAttemptAt),
          finished_at: iso(d.finishedAt),
          last_status_code: d.lastStatusCode,
          last_error: d.lastError,
          history: d.history.map((a) => ({
            attempt: a.attempt,
            started_at: iso(a.startedAt)!,
            duration_ms: a.durationMs,
            status_code: a.statusCode,
            error: a.error,
          })),
        })),
      };
    },
  );
}
