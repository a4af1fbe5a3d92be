import path from 'node:path';
import express, { type Router } from 'express';
import { z } from 'zod';
import type { ServiceDeps } from '../../src/services/deps';
import type { RouteRegistry } from '../route';

/** Where swagger-ui-dist's files are (resolved from its package, so no CDN is ever involved). */
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const SWAGGER_UI_FILES = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png']);

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Flapjack Runners API reference</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

// Its own file rather than an inline script, so the page works under a strict Content-Security-Policy.
const DOCS_INIT_JS = `window.ui = SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: false,
  tryItOutEnabled: true,
});
`;

/** Only local resources: the page, its script, swagger-ui's bundle, and the API itself for "Try it out". */
const DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'";

const rootSchema = z.object({
  name: z.string(),
  version: z.string(),
  docs: z.string().describe('Interactive API reference (HTML)'),
  openapi: z.string().describe('The OpenAPI 3.1 document'),
  health: z.string().describe('Liveness and dependency health'),
  temporalUi: z.string().nullable().describe('The Temporal Web UI, where every run is a workflow; null when unknown'),
});

/**
 * `GET /` (a short JSON map of the API) and `GET /docs` (the interactive reference, swagger-ui from the
 * bundled `swagger-ui-dist`, reading `/api/openapi.json`). Both public.
 */
export function registerDocsRoutes(reg: RouteRegistry, router: Router, deps: ServiceDeps, version: string): void {
  reg.add(
    {
      method: 'get',
      path: '/',
      summary: 'Where things are: the API reference, the OpenAPI document, health and the Temporal UI',
      tag: 'operations',
      public: true,
      responses: { 200: { description: 'Links', schema: rootSchema } },
    },
    async () => ({
      status: 200,
      body: {
        name: 'Flapjack Runners API',
        version,
        docs: '/docs',
        openapi: '/api/openapi.json',
        health: '/healthz',
        temporalUi: deps.temporal.uiUrl ?? null,
      } satisfies z.infer<typeof rootSchema>,
    }),
  );
  router.get('/docs', (_req, res) => {
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    res.type('html').send(DOCS_HTML);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(DOCS_INIT_JS);
  });
  const assets = express.static(SWAGGER_UI_DIR, { index: false, fallthrough: true, maxAge: '1h' });
  router.use('/docs/assets', (req, res, next) => {
    if (!SWAGGER_UI_FILES.has(req.path.replace(/^\//, ''))) {
      next();
      return;
    }
    assets(req, res, next);
  });
}
