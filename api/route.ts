import type { NextFunction, Request, Response, Router } from 'express';
import type { z } from 'zod';
import { AppError } from '../src/errors/app-error';
import type { Principal } from '../src/services/deps';
import { parseOrThrow } from './validation';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A route as documented in OpenAPI: the same zod schemas validate the request. */
export interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined> {
  method: HttpMethod;
  path: string;
  summary: string;
  tag: string;
  public?: boolean;
  /**
   * Public routes that authenticate the caller themselves (a secret token in the URL, a signature):
   * an `Authorization` header there belongs to the sender's own scheme (a bearer token some webhook
   * senders add) and is never read as an API key, so it can neither fail nor authenticate the request.
   */
  ignoresAuthorization?: boolean;
  body?: B;
  query?: Q;
  /** A non-JSON request body for OpenAPI only (the handler parses it), e.g. multipart/form-data. */
  rawBody?: { contentType: string; schema: z.ZodType };
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
}

export interface HandlerContext<B, Q> {
  req: Request;
  res: Response;
  principal: Principal;
  params: Record<string, string>;
  body: B;
  query: Q;
}

export interface HandlerResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw payload with its content type (HTML pages, scripts). */
  raw?: { contentType: string; payload: string };
}

type Infer<T> = T extends z.ZodType ? z.infer<T> : undefined;

/** A matcher for an Express path made of literal segments and `:name` parameters (one segment each). */
function pathMatcher(path: string): RegExp {
  if (/[*?(){}]/.test(path)) throw new Error(`ignoresAuthorization supports plain ":param" paths only: ${path}`);
  const body = path
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.+^$|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}/?$`, 'i');
}

export class RouteRegistry {
  readonly specs: RouteSpec<z.ZodType | undefined, z.ZodType | undefined>[] = [];
  private readonly noAuthorization: { method: string; re: RegExp }[] = [];

  constructor(private readonly router: Router) {}

  /** Whether this request goes to a route that never reads `Authorization` (see `ignoresAuthorization`). */
  ignoresAuthorization(method: string, path: string): boolean {
    const m = method.toLowerCase();
    return this.noAuthorization.some((r) => r.method === m && r.re.test(path));
  }

  add<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
    spec: RouteSpec<B, Q>,
    handler: (ctx: HandlerContext<Infer<B>, Infer<Q>>) => Promise<HandlerResult>,
  ): void {
    this.specs.push(spec as RouteSpec<z.ZodType | undefined, z.ZodType | undefined>);
    if (spec.ignoresAuthorization) {
      if (!spec.public) throw new Error(`${spec.path}: only a public route may ignore Authorization`);
      this.noAuthorization.push({ method: spec.method, re: pathMatcher(spec.path) });
    }
    this.router[spec.method](spec.path, (req: Request, res: Response, next: NextFunction) => {
      void (async () => {
        const principal = res.locals.principal as Principal | undefined;
        if (!spec.public && !principal) throw new AppError('unauthorized', 'Missing or invalid API key');
        const body = spec.body ? parseOrThrow(spec.body, req.body ?? {}) : undefined;
        const query = spec.query ? parseOrThrow(spec.query, req.query, 'query') : undefined;
        const params = req.params as Record<string, string>;
        const result = await handler({
          req,
          res,
          principal: principal as Principal,
          params,
          body: body as Infer<B>,
          query: query as Infer<Q>,
        });
        for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
        if (result.raw) {
          res.status(result.status).type(result.raw.contentType).send(result.raw.payload);
        } else if (result.body === undefined) {
          res.status(result.status).end();
        } else {
          res.status(result.status).json(result.body);
        }
      })().catch(next);
    });
  }
}
