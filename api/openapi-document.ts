import { createApp } from './app';

/** The OpenAPI document as served by `GET /api/openapi.json`, read off `createApp`'s `app.locals`. */
export type OpenApiDocument = {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, unknown> };
};

export interface OpenApiOperation {
  summary?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: unknown }> }>;
}

/** The document an app built by `createApp` serves (`app.locals.openapi`), or null for anything else. */
export function openApiOf(app: unknown): OpenApiDocument | null {
  const locals = (app as { locals?: { openapi?: unknown } } | null)?.locals;
  return locals?.openapi ? (locals.openapi as OpenApiDocument) : null;
}

let current: OpenApiDocument | null = null;

/** The document of the routes this checkout serves (no database or Temporal needed: nothing is called). */
export function currentOpenApiDocument(): OpenApiDocument {
  if (current) return current;
  const app = createApp({
    services: {
      db: {} as never,
      log: { info: () => undefined, warn: () => undefined, error: () => undefined } as never,
      temporal: { client: {} as never, taskQueue: 'docs', namespace: 'docs' },
    },
    resolveApiKey: async () => null,
  });
  const doc = openApiOf(app);
  if (!doc) throw new Error('createApp did not expose its OpenAPI document in app.locals.openapi');
  current = doc;
  return doc;
}
