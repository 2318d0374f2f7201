import { Type } from '@sinclair/typebox';
import { Text } from '../../spec/textSchema.js';
import { RunboxError } from '../../errors/index.js';
import { tokenMatches } from '../auth.js';
import { ErrorBodySchema, NoBody } from '../schemas.js';
import { cookieName, readCookie, sessionCookie, type Sessions } from '../session.js';
import type { Api } from '../typeProvider.js';
import { LoginLimiter } from '../loginLimiter.js';

const LoginSchema = Type.Object(
  { token: Text({ minLength: 1, maxLength: 4096, description: "The server's token" }) },
  { additionalProperties: false, $id: 'Login' },
);

const LOGIN_BODY_BYTES = 32 * 1024;

const COOKIE_HEADER = {
  'set-cookie': {
    description:
      'runbox_session_<port>: HttpOnly; SameSite=Strict; Path=/; Max-Age=86400 (Secure over TLS)',
    schema: { type: 'string' },
  },
};

const RETRY_AFTER_HEADER = {
  'retry-after': {
    description: 'Seconds until this address may try to log in again',
    schema: { type: 'integer' },
  },
};

/**
 * The dashboard's login and logout. Open routes: the login checks the token it is
 * given. A server without a token needs no login and sets no cookie. Wrong tokens are
 * limited per remote address (LoginLimiter), so the login cannot be used to guess the
 * token at the speed of the network.
 */
export function registerSessionRoutes(
  app: Api,
  token: string | null,
  sessions: Sessions | null,
  limiter: LoginLimiter = new LoginLimiter(),
): void {
  app.post(
    '/v1/session',
    {
      // Open to anyone: a body is read no further than the longest token the schema
      // takes could need, 4,096 characters each written as a six-byte \u escape.
      bodyLimit: LOGIN_BODY_BYTES,
      schema: {
        operationId: 'createSession',
        summary: 'Log a browser in: trade the token for a session cookie',
        description:
          'The dashboard sends the token once; the API then accepts the cookie instead of the ' +
          'bearer header. Requests from other origins are refused before this runs (403).',
        tags: ['system'],
        security: false,
        body: LoginSchema,
        response: { 204: NoBody('Logged in'), 401: ErrorBodySchema, 429: ErrorBodySchema },
        responseHeaders: {
          204: {
            ...COOKIE_HEADER,
            'cache-control': {
              description: 'no-store: the answer that sets a session is never cached',
              schema: { type: 'string' },
            },
          },
          429: RETRY_AFTER_HEADER,
        },
      },
    },
    async (request, reply) => {
      if (token === null || sessions === null) return reply.status(204).send();
      const refused = limiter.refusal(request.ip, 'token');
      if (refused) {
        void reply.header('retry-after', String(refused.retryAfter));
        throw refused.error;
      }
      if (!tokenMatches(request.body.token, token)) {
        limiter.failed(request.ip);
        throw new RunboxError('Unauthorized', 'wrong token', { field: 'token' });
      }
      void reply
        .header('set-cookie', sessionCookie(request, sessions.issue(Date.now())))
        .header('cache-control', 'no-store');
      return reply.status(204).send();
    },
  );

  app.delete(
    '/v1/session',
    {
      bodyLimit: LOGIN_BODY_BYTES,
      schema: {
        operationId: 'deleteSession',
        summary: 'Log a browser out: end its session and clear the cookie',
        tags: ['system'],
        security: false,
        response: { 204: NoBody('Logged out') },
        responseHeaders: { 204: COOKIE_HEADER },
      },
    },
    async (request, reply) => {
      const cookie = readCookie(request, cookieName(request));
      if (sessions !== null && cookie !== null) sessions.revoke(cookie, Date.now());
      void reply.header('set-cookie', sessionCookie(request, null));
      return reply.status(204).send();
    },
  );
}
