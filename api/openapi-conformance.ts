import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { OpenApiDocument, OpenApiOperation } from './openapi-document';

/**
 * Checks that an HTTP answer is one the OpenAPI document promises: the route (path + method) is
 * documented, the status is one of its documented responses, the content type is the documented one
 * and a JSON body matches the response schema (which refuses undocumented fields: zod's output schemas
 * say `additionalProperties: false`). The integration tests run every answer they get through it
 * (test/harness.ts), so the document cannot drift from what the API returns.
 */

/** A route the document does not describe on purpose, and why. */
export interface ConformanceExemption {
  method: string | '*';
  path: RegExp;
  reason: string;
}

/** Served by the app but not REST resources: the OpenAPI document leaves them out on purpose. */
export const UNDOCUMENTED_ROUTES: readonly ConformanceExemption[] = [
  {
    method: '*',
    path: /^\/mcp$/,
    reason: 'the MCP Streamable HTTP endpoint speaks JSON-RPC, specified by the Model Context Protocol, not REST',
  },
  {
    method: 'get',
    path: /^\/docs(\/.*)?$/,
    reason: 'the interactive reference page and its bundled static assets (HTML, JS, CSS), built from this document',
  },
  { method: 'get', path: /^\/api\/openapi\.json$/, reason: 'the document itself' },
  {
    method: 'options',
    path: /.*/,
    reason: "CORS preflights (answered by the button routes' middleware); OpenAPI does not describe preflights",
  },
];

export interface HttpAnswer {
  method: string;
  /** The request path; a query string is ignored. */
  path: string;
  status: number;
  /** The `Content-Type` header, if any. */
  contentType?: string;
  /** The raw body as text ('' when none). */
  text: string;
  /** The parsed JSON body, when the answer is JSON. */
  body?: unknown;
}

interface CompiledRoute {
  template: string;
  method: string;
  re: RegExp;
  literalSegments: number;
  op: OpenApiOperation;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compileRoutes(doc: OpenApiDocument): CompiledRoute[] {
  const routes: CompiledRoute[] = [];
  for (const [template, methods] of Object.entries(doc.paths)) {
    const segments = template.split('/');
    const re = new RegExp(`^${segments.map((s) => (/^\{[^}]+\}$/.test(s) ? '[^/]+' : escapeRe(s))).join('/')}/?$`);
    const literalSegments = segments.filter((s) => !s.startsWith('{')).length;
    for (const [method, op] of Object.entries(methods)) routes.push({ template, method, re, literalSegments, op });
  }
  // The most specific template wins (`/api/runners/webhooks/{token}` over `/api/runners/{id}/…`).
  return routes.sort((a, b) => b.literalSegments - a.literalSegments);
}

/** Inlines the document's `#/components/...` references so each response schema compiles on its own. */
function inlineRefs(schema: unknown, doc: OpenApiDocument, depth = 0): unknown {
  if (depth > 50) throw new Error('OpenAPI schema references nest too deep');
  if (Array.isArray(schema)) return schema.map((s) => inlineRefs(s, doc, depth + 1));
  if (!schema || typeof schema !== 'object') return schema;
  const obj = schema as Record<string, unknown>;
  if (typeof obj.$ref === 'string' && obj.$ref.startsWith('#/components/')) {
    let target: unknown = doc;
    for (const part of obj.$ref.slice(2).split('/')) target = (target as Record<string, unknown> | undefined)?.[part];
    if (target === undefined) throw new Error(`unresolved reference ${obj.$ref}`);
    return inlineRefs(target, doc, depth + 1);
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, inlineRefs(v, doc, depth + 1)]));
}

const mediaType = (contentType: string | undefined) => (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

export interface ResponseChecker {
  /** Why the answer breaks the document, or null when it conforms (or its route is exempt). */
  check(answer: HttpAnswer): string | null;
}

export function createResponseChecker(
  doc: OpenApiDocument,
  exemptions: readonly ConformanceExemption[] = UNDOCUMENTED_ROUTES,
): ResponseChecker {
  const routes = compileRoutes(doc);
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const validators = new Map<unknown, ValidateFunction>();
  const validatorOf = (schema: unknown): ValidateFunction => {
    let fn = validators.get(schema);
    if (!fn) {
      fn = ajv.compile(inlineRefs(schema, doc) as object);
      validators.set(schema, fn);
    }
    return fn;
  };

  return {
    check(answer) {
      const method = answer.method.toLowerCase();
      const path = answer.path.split('?')[0] ?? '';
      const where = `${method.toUpperCase()} ${path} → ${answer.status}`;
      if (exemptions.some((e) => (e.method === '*' || e.method === method) && e.path.test(path))) return null;
      const route = routes.find((r) => r.method === method && r.re.test(path));
      if (!route) {
        // The contract's answer to an unknown route: 404 in the error shape (the `Error` component).
        const errorSchema = doc.components?.schemas?.Error;
        if (answer.status === 404 && errorSchema !== undefined && validatorOf(errorSchema)(answer.body)) return null;
        return `${where}: no route of the OpenAPI document matches ${method.toUpperCase()} ${path}`;
      }
      const documented = route.op.responses[String(answer.status)];
      const label = `${method.toUpperCase()} ${route.template} → ${answer.status}`;
      if (!documented) {
        const listed = Object.keys(route.op.responses).join(', ');
        return `${label}: status ${answer.status} is not documented (documented: ${listed}); body: ${answer.text.slice(0, 500)}`;
      }
      if (!documented.content) {
        return answer.text === ''
          ? null
          : `${label}: documented without a body, but answered ${answer.text.slice(0, 200)}`;
      }
      const type = mediaType(answer.contentType);
      const media = documented.content[type];
      if (!media) {
        const listed = Object.keys(documented.content).join(', ');
        return `${label}: answered with content type "${type || 'none'}", documented: ${listed}`;
      }
      if (type !== 'application/json' || media.schema === undefined) return null;
      const validate = validatorOf(media.schema);
      if (validate(answer.body)) return null;
      const errors = (validate.errors ?? [])
        .slice(0, 10)
        .map(
          (e) =>
            `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
        )
        .join('; ');
      return `${label}: the body does not match the OpenAPI response schema: ${errors}; body: ${JSON.stringify(answer.body).slice(0, 1000)}`;
    },
  };
}
