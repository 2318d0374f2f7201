import type { CommandModule } from 'yargs';
import type { WebhookDeliveryList } from '../../api/webhookSchemas.js';
import type { CliContext } from '../context.js';
import { withJobId, withJson, withServer } from '../flags.js';
import { table } from '../output.js';
import { command } from './clientCommands.js';

/** `runbox webhooks <id>`: a job's webhook deliveries and every attempt (README "Webhooks"). */
export function webhooksCommand(
  ctx: CliContext,
  setCode: (code: number) => void,
): CommandModule<object, never> {
  return command<{ id: string }>(
    'webhooks <id>',
    "Show a job's webhook deliveries and their attempts",
    (y) => withJobId(withJson(withServer(y))) as never,
    async (args) => {
      const { body } = await ctx
        .client(args)
        .json<WebhookDeliveryList>(
          'GET',
          `/v1/jobs/${encodeURIComponent(args.id)}/webhooks`,
          undefined,
          'deliveries',
        );
      if (args.json) {
        ctx.io.out(JSON.stringify(body, null, 2));
        return 0;
      }
      if (body.deliveries.length === 0) {
        ctx.io.out('no deliveries (the job has no webhook_url, or has not ended)');
        return 0;
      }
      for (const d of body.deliveries) {
        ctx.io.out(
          `${d.event} to ${d.url}: ${d.status} after ${d.attempts} attempt(s)` +
            (d.next_attempt_at ? `, next ${d.next_attempt_at}` : ''),
        );
        if (d.history.length > 0) {
          ctx.io.out(
            table([
              ['ATTEMPT', 'STARTED', 'MS', 'STATUS', 'ERROR'],
              ...d.history.map((a) => [
                String(a.attempt),
                a.started_at,
                String(a.duration_ms),
                a.status_code === null ? '' : String(a.status_code),
                a.error ?? '',
              ]),
            ]),
          );
        }
      }
      return 0;
    },
    setCode,
  ) as unknown as CommandModule<object, never>;
}
