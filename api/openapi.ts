import { z } from 'zod';
import { errorResponseSchema } from '../src/shared/schemas';
import type { RouteRegistry } from './route';

function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  delete out.$schema;
  return out;
}

function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] as string);
}

/** The OpenAPI 3.1 document, built from the very zod schemas the routes validate with. */
export function buildOpenApi(registry: RouteRegistry, info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of registry.specs) {
    const oaPath = spec.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const op: Record<string, unknown> = {
      summary: spec.summary,
      tags: [spec.tag],
      operationId: `${spec.method}${oaPath.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      security: spec.public ? [] : [{ bearerAuth: [] }],
    };
    const parameters: unknown[] = pathParams(spec.path).map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    if (spec.query instanceof z.ZodObject) {
      for (const [name, s] of Object.entries(spec.query.shape as Record<string, z.ZodType>)) {
        parameters.push({
          name,
          in: 'query',
          required: !s.safeParse(undefined).success,
          schema: toJsonSchema(s, 'input'),
        });
      }
    }
    if (parameters.length) op.parameters = parameters;
    if (spec.body) {
      op.requestBody = {
        required: true,
        content: { 'application/json': { schema: toJsonSchema(spec.body, 'input') } },
      };
    } else if (spec.rawBody) {
      const schema = toJsonSchema(spec.rawBody.schema, 'input');
      op.requestBody = { required: true, content: { [spec.rawBody.contentType]: { schema } } };
    }
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      responses[status] = r.schema
        ? {
            description: r.description,
            content: { [r.contentType ?? 'application/json']: { schema: toJsonSchema(r.schema, 'output') } },
          }
        : { description: r.description };
    }
    const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
    // Every body is read as JSON first (api/middleware/json-body.ts), multipart uploads aside.
    const jsonBody = spec.body || (spec.rawBody && spec.rawBody.contentType === 'application/json');
    if (jsonBody) {
      responses['400'] ??= { description: 'The body is not valid JSON (invalid_json)', content: errorContent };
      responses['413'] ??= {
        description: 'The body is over the size limit (payload_too_large)',
        content: errorContent,
      };
    }
    if (!spec.public) responses['401'] = { description: 'Missing or invalid API key', content: errorContent };
    if (spec.body || spec.query)
      responses['422'] = { description: 'Validation failed; details name each bad field', content: errorContent };
    responses['429'] = { description: 'Rate limited (see Retry-After)', content: errorContent };
    responses['503'] ??= { description: 'A dependency (database or Temporal) is unavailable', content: errorContent };
    // A bug anywhere answers this, in the error shape and without internals (api/middleware/errors).
    responses['500'] ??= { description: 'Internal error (internal), without details', content: errorContent };
    op.responses = responses;
    (paths[oaPath] ??= {})[spec.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Flapjack Runners API', version: info.version },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'fj_live_… API key' } },
      schemas: { Error: toJsonSchema(errorResponseSchema, 'output') },
    },
    paths,
  };
}
