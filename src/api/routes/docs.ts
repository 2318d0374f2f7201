import { docsAssets, type DocsAssets } from '../docsAssets.js';
import { Body, documentedHeaders } from '../schemas.js';
import type { Api } from '../typeProvider.js';

// Relative URLs, so the page also works behind a proxy that mounts runbox under a prefix.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>runbox API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="api"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
`;

// A file, not an inline script, so the page's CSP can allow this server's scripts only.
const INIT = `window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#api', deepLinking: true });
`;

/**
 * The page shares the dashboard's origin, and its "Try it out" sends requests with the
 * dashboard's session cookie, so it gets the dashboard page's rules: no framing and no
 * script but this server's. The Sec-Fetch-Site check already refuses a frame that a
 * browser loads for another page; these hold where that header is not sent. Swagger UI
 * sets style attributes as it renders, hence 'unsafe-inline' for styles alone.
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
    "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; " +
    "form-action 'self'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** /docs: the API reference (Swagger UI), served from this process, no CDN. */
export function registerDocsRoutes(app: Api): void {
  let assets: DocsAssets | null = null;
  // Read on first use: 1.9 MB that most servers never serve.
  const load = () => (assets ??= docsAssets());
  app.get(
    '/docs',
    {
      schema: {
        operationId: 'getDocs',
        summary: 'This API as a browsable reference page (Swagger UI, served offline)',
        tags: ['system'],
        security: false,
        response: { 200: Body('text/html; charset=utf-8', 'The page') },
        responseHeaders: { 200: documentedHeaders(PAGE_HEADERS) },
      },
    },
    async (_req, reply) => reply.type('text/html; charset=utf-8').headers(PAGE_HEADERS).send(PAGE),
  );
  app.get('/docs/init.js', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(INIT),
  );
  app.get('/docs/swagger-ui.css', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=86400')
      .send(load().css),
  );
  app.get('/docs/swagger-ui-bundle.js', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=86400')
      .send(load().js),
  );
}
