import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** The answers of GET /v1/jobs/:id/webhooks (README "Webhooks"). */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = (description: string) => Type.String({ format: 'date-time', description });

export const WebhookAttemptSchema = Type.Object(
  {
    attempt: Type.Integer({ minimum: 1 }),
    started_at: Time('When the attempt started'),
    duration_ms: Type.Integer({ minimum: 0 }),
    status_code: Nullable(Type.Integer({ description: "The receiver's HTTP status" })),
    error: Nullable(Type.String({ description: 'Why it failed; null when delivered' })),
  },
  { additionalProperties: false, $id: 'WebhookAttempt' },
);

export const WebhookDeliverySchema = Type.Object(
  {
    id: Type.Integer({ description: 'Sent as the Runbox-Delivery header' }),
    url: Type.String(),
    event: Type.String({ description: 'job.succeeded, job.failed or job.cancelled' }),
    status: Type.Union([
      Type.Literal('pending'),
      Type.Literal('delivered'),
      Type.Literal('failed'),
    ]),
    attempts: Type.Integer({ minimum: 0 }),
    created_at: Time('When the job ended'),
    next_attempt_at: Nullable(Time('When a pending delivery is tried next')),
    finished_at: Nullable(Time('When it was delivered or given up')),
    last_status_code: Nullable(Type.Integer()),
    last_error: Nullable(Type.String()),
    history: Type.Array(WebhookAttemptSchema),
  },
  { additionalProperties: false, $id: 'WebhookDelivery' },
);

export const WebhookDeliveryListSchema = Type.Object(
  { deliveries: Type.Array(WebhookDeliverySchema) },
  { additionalProperties: false, $id: 'WebhookDeliveryList' },
);
export type WebhookDeliveryList = Static<typeof WebhookDeliveryListSchema>;
