/**
 * The HTTP client for requests made on behalf of users: a JSON POST that connects only where the egress guard
 * allows (see `egress.ts`), follows no redirects, caps the response size and bounds the whole exchange in time.
 */
import http from 'node:http';
import https from 'node:https';
import type { EgressGuard } from './egress';

// ---------------------------------------------------------------------------------------------------------------
// postJson
// ---------------------------------------------------------------------------------------------------------------

export type HttpErrorKind =
  'invalid_url' | 'invalid_request' | 'egress_refused' | 'timeout' | 'aborted' | 'too_large' | 'network';

/** Every failure of `postJson`; `kind` tells the caller what happened. Messages never include header values. */
export class HttpError extends Error {
  readonly kind: HttpErrorKind;

  constructor(kind: HttpErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HttpError';
    this.kind = kind;
  }
}

export interface PostJsonOptions {
  url: string;
  /** Default `POST`. A GET/HEAD/DELETE with `body` undefined sends no body at all. */
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body: unknown;
  headers?: Record<string, string>;
  timeoutMs: number;
  maxResponseBytes: number;
  signal?: AbortSignal;
  guard: EgressGuard;
}

export interface PostJsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bodyText: string;
}

/** Headers the caller may not set: they are computed here. */
const RESERVED_HEADERS = new Set(['host', 'content-type', 'content-length', 'transfer-encoding', 'connection']);

/**
 * POST `body` as JSON (or another method, see `method`). No redirects are followed (a 3xx is returned as is), the response body is capped at
 * `maxResponseBytes`, and `timeoutMs` bounds the whole exchange (connect, send, receive).
 */
export function postJson(opts: PostJsonOptions): Promise<PostJsonResponse> {
  return new Promise<PostJsonResponse>((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch (err) {
      reject(new HttpError('invalid_url', 'The URL is not a valid absolute URL', { cause: err }));
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      reject(new HttpError('invalid_url', `Unsupported URL scheme "${url.protocol}": only http and https are allowed`));
      return;
    }
    const host = url.hostname;
    try {
      opts.guard.assertLiteralHost(host);
    } catch (err) {
      reject(new HttpError('egress_refused', err instanceof Error ? err.message : String(err), { cause: err }));
      return;
    }
    if (opts.signal?.aborted) {
      reject(new HttpError('aborted', `The request to ${host} was aborted`, { cause: opts.signal.reason }));
      return;
    }

    const method = opts.method ?? 'POST';
    const bodiless = opts.body === undefined && (method === 'GET' || method === 'HEAD' || method === 'DELETE');
    const payload = bodiless ? null : Buffer.from(JSON.stringify(opts.body ?? null) ?? 'null', 'utf8');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(opts.headers ?? {})) {
      if (!RESERVED_HEADERS.has(name.toLowerCase())) headers[name] = value;
    }
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }

    let settled = false;
    let req: http.ClientRequest | undefined;
    const cleanup = (): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: HttpError): void => {
      if (settled) return;
      settled = true;
      cleanup();
      req?.destroy();
      reject(err);
    };
    const onAbort = (): void =>
      fail(new HttpError('aborted', `The request to ${host} was aborted`, { cause: opts.signal?.reason }));
    const timer = setTimeout(
      () => fail(new HttpError('timeout', `The request to ${host} timed out after ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const tooLarge = (): HttpError =>
      new HttpError('too_large', `The response from ${host} exceeded the limit of ${opts.maxResponseBytes} bytes`);

    try {
      const requestFn = url.protocol === 'https:' ? https.request : http.request;
      req = requestFn(url, {
        method,
        headers,
        lookup: opts.guard.lookup,
        // A fresh connection per request: a pooled socket could have been opened under another guard.
        agent: false,
      });
    } catch (err) {
      // Invalid header names/values throw synchronously; Node's message names the header, not its value.
      fail(
        new HttpError('invalid_request', err instanceof Error ? err.message : 'The request could not be built', {
          cause: err,
        }),
      );
      return;
    }

    req.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      // The guard's lookup fails with an EgressRefusedError (code EGRESS_REFUSED).
      if (err.code === 'EGRESS_REFUSED') {
        fail(new HttpError('egress_refused', err.message, { cause: err }));
      } else {
        fail(new HttpError('network', `The request to ${host} failed: ${err.code ?? err.message}`, { cause: err }));
      }
    });

    req.on('response', (res) => {
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxResponseBytes) {
        fail(tooLarge());
        res.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > opts.maxResponseBytes) {
          fail(tooLarge());
          res.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err: NodeJS.ErrnoException) => {
        fail(
          new HttpError('network', `Reading the response from ${host} failed: ${err.code ?? err.message}`, {
            cause: err,
          }),
        );
      });
      res.on('aborted', () => {
        fail(new HttpError('network', `The connection to ${host} closed before the response was complete`));
      });
      res.on('end', () => {
        if (settled) return;
        if (!res.complete) {
          fail(new HttpError('network', `The connection to ${host} closed before the response was complete`));
          return;
        }
        settled = true;
        cleanup();
        resolve({
          status: res.statusCode ?? 0,
          headers: { ...res.headers },
          bodyText: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });

    if (payload) req.end(payload);
    else req.end();
  });
}
