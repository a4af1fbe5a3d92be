import express, { type Express } from 'express';
import type { Embedder } from '../src/knowledge/embed';
import type { Principal, ServiceDeps } from '../src/services/deps';
import { accessLog } from './middleware/access-log';
import { authenticate } from './middleware/auth';
import { errorHandler, notFoundHandler } from './middleware/errors';
import { jsonBody } from './middleware/json-body';
import { rateLimit, type RateLimitOptions } from './middleware/rate-limit';
import { requestId } from './middleware/request-id';
import { registerMcpHttpRoutes } from './mcp-http';
import { buildOpenApi } from './openapi';
import { RouteRegistry } from './route';
import { registerAgentRoutes } from './routes/agents';
import { registerBudgetRoutes } from './routes/budget';
import { registerBulkRunRoutes } from './routes/bulk-runs';
import { buttonPreflight, registerButtonRoutes } from './routes/button';
import { registerConnectionRoutes } from './routes/connections';
import { registerDocsRoutes } from './routes/docs';
import { registerHealthRoutes } from './routes/health';
import { registerIntegrationRoutes } from './routes/integrations';
import { registerKnowledgeRoutes } from './routes/knowledge';
import { registerMcpServerRoutes } from './routes/mcp-servers';
import { registerRunRoutes } from './routes/runs';
import { registerRunnerRoutes } from './routes/runners';
import { registerSkillRoutes } from './routes/skills';
import { registerStepRoutes } from './routes/steps';
import { registerToolRoutes } from './routes/tools';
import { registerTriggerRoutes } from './routes/triggers';

export interface AppDeps {
  services: ServiceDeps;
  resolveApiKey: (key: string) => Promise<Principal | null>;
  rateLimit?: RateLimitOptions;
  bodyLimit?: string;
  version?: string;
  /** Embedding provider for knowledge (vector search where pgvector exists); full-text search without it. */
  embedder?: Embedder;
  /** Extra route modules (other capabilities register themselves here). */
  extraRoutes?: ((reg: RouteRegistry, deps: ServiceDeps) => void)[];
}

/** Builds the Express app without listening (src/bin/api.ts listens; tests use supertest). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.set('etag', false);
  app.use(requestId);
  app.use(accessLog(deps.services.log));
  app.use(jsonBody(deps.bodyLimit ?? '5mb'));
  const router = express.Router();
  const reg = new RouteRegistry(router);
  // Asked per request, so it sees the routes registered below.
  app.use(authenticate(deps.resolveApiKey, (req) => reg.ignoresAuthorization(req.method, req.path)));
  app.use(rateLimit(deps.rateLimit ?? { ratePerSec: 200, burst: 1000 }));
  registerHealthRoutes(reg, deps.services);
  registerDocsRoutes(reg, router, deps.services, deps.version ?? '0.1.0');
  registerRunnerRoutes(reg, deps.services);
  registerStepRoutes(reg, deps.services);
  registerRunRoutes(reg, deps.services);
  registerBulkRunRoutes(reg, deps.services);
  registerButtonRoutes(reg, deps.services);
  registerTriggerRoutes(reg, deps.services);
  registerBudgetRoutes(reg, deps.services);
  registerAgentRoutes(reg, deps.services);
  registerMcpServerRoutes(reg, deps.services);
  registerIntegrationRoutes(reg, deps.services);
  registerToolRoutes(reg, deps.services);
  registerSkillRoutes(reg, deps.services);
  registerConnectionRoutes(reg, deps.services);
  registerKnowledgeRoutes(reg, deps.services, { embedder: deps.embedder });
  for (const extra of deps.extraRoutes ?? []) extra(reg, deps.services);

  const openapi = buildOpenApi(reg, { version: deps.version ?? '0.1.0' });
  app.locals.openapi = openapi;
  router.get('/api/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  registerMcpHttpRoutes(router, {
    services: deps.services,
    knowledge: { embedder: deps.embedder },
    version: deps.version,
  });

  app.use(buttonPreflight(deps.services));
  app.use(router);
  app.use(notFoundHandler);
  app.use(errorHandler(deps.services.log));
  return app;
}
