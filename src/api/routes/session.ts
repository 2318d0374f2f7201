import { Type } from '@sinclair/typebox';
import { RunboxError } from '../../errors/index.js';
import { tokenMatches } from '../auth.js';
import { ErrorBodySchema, NoBody } from '../schemas.js';
import { sessionCookie, sessionValue } from '../session.js';
import type { Api } from '../typeProvider.js';

const LoginSchema = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 4096, description: "The server's token" }) },
  { additionalProperties: false, $id: 'Login' },
);

const COOKIE_HEADER = {
  'set-cookie': {
    description:
      'runbox_session_<port>: HttpOnly; SameSite=Strict; Path=/; Max-Age=86400 (Secure over TLS)',
    schema: { type: 'string' },
  },
};

/**
 * The dashboard's login and logout. Open routes: the login checks the token it is
 * given. A server without a token needs no login and sets no cookie.
 */
export function registerSessionRoutes(app: Api, token: string | null): void {
  app.post(
    '/v1/session',
    {
      schema: {
        operationId: 'createSession',
        summary: 'Log a browser in: trade the token for a session cookie',
        description:
          'The dashboard sends the token once; the API then accepts the cookie instead of the ' +
          'bearer header. Requests from other origins are refused before this runs (403).',
        tags: ['system'],
        security: false,
        body: LoginSchema,
        response: { 204: NoBody('Logged in'), 401: ErrorBodySchema },
        responseHeaders: { 204: COOKIE_HEADER },
      },
    },
    async (request, reply) => {
      if (token === null) return reply.status(204).send();
      if (!tokenMatches(request.body.token, token)) {
        throw new RunboxError('Unauthorized', 'wrong token', { field: 'token' });
      }
      void reply
        .header('set-cookie', sessionCookie(request, sessionValue(token)))
        .header('cache-control', 'no-store');
      return reply.status(204).send();
    },
  );

  app.delete(
    '/v1/session',
    {
      schema: {
        operationId: 'deleteSession',
        summary: 'Log a browser out: clear the session cookie',
        tags: ['system'],
        security: false,
        response: { 204: NoBody('Logged out') },
        responseHeaders: { 204: COOKIE_HEADER },
      },
    },
    async (request, reply) => {
      void reply.header('set-cookie', sessionCookie(request, null));
      return reply.status(204).send();
    },
  );
}
