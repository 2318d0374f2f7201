import { dashboardAssets, type DashboardAssets } from '../dashboardAssets.js';
import { Body, documentedHeaders } from '../schemas.js';
import type { Api } from '../typeProvider.js';

/**
 * Relative URLs, so the page also works behind a proxy that mounts runbox under a prefix.
 * "Log out" only where there is a session to end: a server without a token showed it,
 * and the button did nothing a user could see.
 */
const page = (loginNeeded: boolean) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>runbox</title>
<link rel="stylesheet" href="dashboard/app.css">
</head>
<body>
<header>
<span class="brand">runbox</span>
<nav id="nav"><a href="#/jobs">Jobs</a><a href="#/system">Workers &amp; system</a><a href="docs">API</a></nav>
${loginNeeded ? '<button type="button" id="logout">Log out</button>\n' : ''}</header>
<main id="main"></main>
<script src="dashboard/app.js"></script>
</body>
</html>
`;

/**
 * Only this server's own files, no inline script or style, no framing: a page that
 * holds a session must not run anything injected into it or be clickjacked.
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** `/`: the dashboard, a page of this process that reads the /v1 API; no CDN. */
export function registerDashboardRoutes(app: Api, loginNeeded: boolean): void {
  const PAGE = page(loginNeeded);
  let assets: DashboardAssets | null = null;
  const load = () => (assets ??= dashboardAssets());
  app.get(
    '/',
    {
      schema: {
        operationId: 'getDashboard',
        summary: 'The web dashboard: jobs, logs, outputs, workers (served offline)',
        description:
          'Reads the /v1 API. With a token configured it asks for it once and keeps an ' +
          'HttpOnly, SameSite=Strict session cookie (POST /v1/session); ?token= works once.',
        tags: ['system'],
        security: false,
        response: { 200: Body('text/html; charset=utf-8', 'The page') },
        responseHeaders: { 200: documentedHeaders(PAGE_HEADERS) },
      },
    },
    async (_req, reply) => reply.type('text/html; charset=utf-8').headers(PAGE_HEADERS).send(PAGE),
  );
  // The files carry no version in their names, so browsers revalidate them (no-cache)
  // rather than keep an old dashboard after an upgrade.
  app.get('/dashboard/app.css', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/css; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(load().css),
  );
  app.get('/dashboard/app.js', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(load().js),
  );
}
