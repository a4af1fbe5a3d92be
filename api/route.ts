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

export class RouteRegistry {
  readonly specs: RouteSpec<z.ZodType | undefined, z.ZodType | undefined>[] = [];

  constructor(private readonly router: Router) {}

  add<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
    spec: RouteSpec<B, Q>,
    handler: (ctx: HandlerContext<Infer<B>, Infer<Q>>) => Promise<HandlerResult>,
  ): void {
    this.specs.push(spec as RouteSpec<z.ZodType | undefined, z.ZodType | undefined>);
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
