/**
 * The HTTP client for requests made on behalf of users: a JSON POST that connects only where the egress guard
 * allows (see `egress.ts`), follows no redirects, caps the response size and bounds the whole exchange in time.
 */
import http from 'node:http';
import https from 'node:https';
import type { EgressGuard } from './egress';

// ---------------------------------------------------------------------------------------------------------------
// Keep-alive pools, one per egress guard
// ---------------------------------------------------------------------------------------------------------------

/**
 * How long an idle pooled socket is kept. Below the 5 s keep-alive timeout of Node's HTTP server (and of most
 * others), so we usually close an idle connection before the server does: a request written to a socket the
 * server is closing at that moment fails with a reset (see `postJson`, which retries such a request once).
 */
export const KEEP_ALIVE_IDLE_MS = 4_000;

interface GuardAgents {
  http: http.Agent;
  https: https.Agent;
}
const agentsByGuard = new WeakMap<EgressGuard, GuardAgents>();

/**
 * The keep-alive agents of one egress guard. A socket is only ever reused by requests made through the guard
 * whose `lookup` checked its address when it connected: pools are per guard object, never shared, so a
 * connection opened under one allowlist cannot carry a request made under another (a pooled socket to an
 * allowlisted private address is invisible to a guard that would refuse it).
 */
export function agentsFor(guard: EgressGuard): GuardAgents {
  let agents = agentsByGuard.get(guard);
  if (!agents) {
    agents = keepAliveAgents();
    agentsByGuard.set(guard, agents);
  }
  return agents;
}

/** A pair of keep-alive agents: idle sockets close after KEEP_ALIVE_IDLE_MS, the most recent is reused first. */
export function keepAliveAgents(): GuardAgents {
  const options = { keepAlive: true, timeout: KEEP_ALIVE_IDLE_MS, scheduling: 'lifo' as const };
  return { http: new http.Agent(options), https: new https.Agent(options) };
}

/** Errors of a request written to a pooled socket the server had already closed. */
export const STALE_SOCKET_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

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
 *
 * Connections are kept alive and reused, per egress guard (`agentsFor`). The price of reuse: a server may
 * close an idle connection just as a request is written to it. A request that fails that way (a reset or a
 * broken pipe on a reused socket, before any response byte) is sent once more, on a new connection, within
 * the same time bound. It may then reach the server twice, which is what any retry does: webhook steps and
 * HTTP tools send an `Idempotency-Key` for it.
 */
export async function postJson(opts: PostJsonOptions): Promise<PostJsonResponse> {
  const started = Date.now();
  try {
    return await attempt(opts, false);
  } catch (err) {
    if (!(err instanceof StaleSocketError)) throw err;
    const timeoutMs = opts.timeoutMs - (Date.now() - started);
    if (timeoutMs <= 0) {
      throw new HttpError('timeout', `The request to ${err.host} timed out after ${opts.timeoutMs} ms`);
    }
    return attempt({ ...opts, timeoutMs }, true);
  }
}

/** A request that failed on a reused keep-alive socket before any response: `postJson` sends it again. */
class StaleSocketError extends Error {
  constructor(
    readonly host: string,
    readonly original: HttpError,
  ) {
    super(original.message, { cause: original });
    this.name = 'StaleSocketError';
  }
}

function attempt(opts: PostJsonOptions, freshSocket: boolean): Promise<PostJsonResponse> {
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
      const secure = url.protocol === 'https:';
      const requestFn = secure ? https.request : http.request;
      const agents = agentsFor(opts.guard);
      req = requestFn(url, {
        method,
        headers,
        lookup: opts.guard.lookup,
        // This guard's own pool (see agentsFor); a retry after a stale socket takes a new connection.
        agent: freshSocket ? false : secure ? agents.https : agents.http,
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

    let responded = false;
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      // The guard's lookup fails with an EgressRefusedError (code EGRESS_REFUSED).
      if (err.code === 'EGRESS_REFUSED') {
        fail(new HttpError('egress_refused', err.message, { cause: err }));
        return;
      }
      const error = new HttpError('network', `The request to ${host} failed: ${err.code ?? err.message}`, {
        cause: err,
      });
      if (req?.reusedSocket && !responded && STALE_SOCKET_CODES.has(err.code ?? '')) {
        // Settle as a plain failure, but let postJson send it again on a new connection.
        if (settled) return;
        settled = true;
        cleanup();
        req.destroy();
        reject(new StaleSocketError(host, error));
        return;
      }
      fail(error);
    });

    req.on('response', (res) => {
      responded = true;
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
