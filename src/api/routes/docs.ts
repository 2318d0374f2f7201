import { docsAssets, type DocsAssets } from '../docsAssets.js';
import { Body } from '../schemas.js';
import type { Api } from '../typeProvider.js';

// Relative URLs, so the page also works behind a proxy that mounts runbox under a prefix.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>runbox API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="api"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#api', deepLinking: true });
</script>
</body>
</html>
`;

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
      },
    },
    async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE),
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
