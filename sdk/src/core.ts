import {
  AbortError,
  ConnectionError,
  FlapjackError,
  type FlapjackApiError,
  parseRetryAfter,
  TimeoutError,
} from './errors.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** `fj_live_…`; else `FLAPJACK_API_KEY`. */
  apiKey?: string | undefined;
  /** Where the API is; else `FLAPJACK_BASE_URL`; else `http://localhost:3000`. */
  baseUrl?: string | undefined;
  /** Retries after the first attempt on 429, 5xx and network errors (default 2). */
  maxRetries?: number | undefined;
  /** Per-attempt timeout in milliseconds (default 60 000). */
  timeout?: number | undefined;
  /** A `fetch` implementation (tests, proxies, instrumentation); default the global one. */
  fetch?: FetchLike | undefined;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string> | undefined;
  /** First backoff delay in ms (default 500); doubles per retry up to `maxRetryDelay` (default 8000). */
  initialRetryDelay?: number | undefined;
  maxRetryDelay?: number | undefined;
}

/** Options every method accepts as its last argument. */
export interface RequestOptions {
  /** Milliseconds for each attempt of this request (overrides the client's `timeout`). */
  timeout?: number | undefined;
  /** Aborts the request (and any backoff wait) when it fires. */
  signal?: AbortSignal | undefined;
  /** Overrides the client's `maxRetries` for this request. */
  maxRetries?: number | undefined;
  /** Extra headers for this request. */
  headers?: Record<string, string> | undefined;
  /**
   * For run-creating requests: the `Idempotency-Key` header. The client makes one up when you give
   * none, and sends the same one on every retry, so a retry never starts a second run.
   */
  idempotencyKey?: string | undefined;
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined | null> | undefined;
  body?: unknown;
  form?: FormData | undefined;
  /** A body sent byte for byte (e.g. a webhook payload whose signature covers the exact bytes). */
  rawBody?: string | Uint8Array | undefined;
  /** `text`: answer the response body as a string (HTML pages, scripts) instead of parsing JSON. */
  responseType?: 'json' | 'text' | undefined;
  /**
   * POSTs are not retried after a network error or a 5xx (the server may have acted) unless they are
   * safe to repeat: `idempotent` (attach, which answers the existing attachment) or `idempotencyKey`
   * (runs: an `Idempotency-Key` header is sent, the same on every attempt).
   */
  retry?: 'idempotent' | 'idempotencyKey' | undefined;
}

interface ProcessLike {
  env?: Record<string, string | undefined>;
}

function env(name: string): string | undefined {
  const p = (globalThis as { process?: ProcessLike }).process;
  const v = p?.env?.[name];
  return v === undefined || v === '' ? undefined : v;
}

export const DEFAULT_BASE_URL = 'http://localhost:3000';
const MAX_RETRY_AFTER_MS = 60_000;

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

/** The HTTP layer: auth, JSON, typed errors, retries with backoff and jitter, timeouts and aborts. */
export class HttpClient {
  readonly baseUrl: string;
  readonly maxRetries: number;
  readonly timeout: number;
  private readonly apiKey: string | undefined;
  private readonly fetchImpl: FetchLike;
  private readonly defaultHeaders: Record<string, string>;
  private readonly initialRetryDelay: number;
  private readonly maxRetryDelay: number;

  constructor(opts: ClientOptions = {}) {
    this.apiKey = opts.apiKey ?? env('FLAPJACK_API_KEY');
    this.baseUrl = (opts.baseUrl ?? env('FLAPJACK_BASE_URL') ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.maxRetries = opts.maxRetries ?? 2;
    this.timeout = opts.timeout ?? 60_000;
    this.initialRetryDelay = opts.initialRetryDelay ?? 500;
    this.maxRetryDelay = opts.maxRetryDelay ?? 8_000;
    this.defaultHeaders = opts.defaultHeaders ?? {};
    const f = opts.fetch ?? (globalThis.fetch as FetchLike | undefined);
    if (!f)
      throw new FlapjackError(
        'No fetch implementation: pass `fetch` in the client options (Node 18+ has one built in).',
      );
    this.fetchImpl = opts.fetch ? f : (input, init) => globalThis.fetch(input, init);
  }

  url(path: string, query?: ApiRequest['query']): string {
    const u = `${this.baseUrl}${path}`;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) params.set(k, String(v));
    const qs = params.toString();
    return qs ? `${u}?${qs}` : u;
  }

  /** Delay before retry number `retry` (0-based): `Retry-After` when the API sent one, else backoff with jitter. */
  retryDelay(retry: number, headers?: Headers): number {
    const ms = headers?.get('retry-after-ms');
    if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.min(Number(ms), MAX_RETRY_AFTER_MS);
    const after = parseRetryAfter(headers?.get('retry-after') ?? null);
    if (after !== undefined && after <= MAX_RETRY_AFTER_MS) return after;
    const base = Math.min(this.initialRetryDelay * 2 ** retry, this.maxRetryDelay);
    return base * (1 - Math.random() * 0.25);
  }

  async request<T>(req: ApiRequest, opts: RequestOptions = {}): Promise<T> {
    const maxRetries = opts.maxRetries ?? this.maxRetries;
    const timeout = opts.timeout ?? this.timeout;
    const headers: Record<string, string> = { Accept: 'application/json', ...this.defaultHeaders };
    if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`;
    let body: string | FormData | Uint8Array | undefined;
    if (req.form) body = req.form;
    else if (req.rawBody !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = req.rawBody;
    } else if (req.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(req.body);
    }
    if (req.retry === 'idempotencyKey') headers['Idempotency-Key'] = opts.idempotencyKey ?? randomId();
    Object.assign(headers, opts.headers ?? {});
    const mayRetryUnsafe = req.method !== 'POST' || req.retry !== undefined;
    const url = this.url(req.path, req.query);

    for (let attempt = 0; ; attempt++) {
      const canRetry = attempt < maxRetries;
      if (opts.signal?.aborted) throw abortError(opts.signal);
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeout);
      const onAbort = () => controller.abort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      let res: Response;
      try {
        res = await this.fetchImpl(url, {
          method: req.method,
          headers: attempt > 0 ? { ...headers, 'X-Flapjack-Retry-Count': String(attempt) } : headers,
          body: body as RequestInit['body'],
          signal: controller.signal,
        });
      } catch (e) {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (opts.signal?.aborted) throw abortError(opts.signal, e);
        const err = timedOut
          ? new TimeoutError(`${req.method} ${req.path} timed out after ${timeout} ms`, { code: 'timeout', cause: e })
          : new ConnectionError(`${req.method} ${req.path} failed: ${(e as Error)?.message ?? String(e)}`, {
              code: 'connection_error',
              cause: e,
            });
        if (canRetry && mayRetryUnsafe) {
          await sleep(this.retryDelay(attempt), opts.signal);
          continue;
        }
        throw err;
      }
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        if (opts.signal?.aborted) throw abortError(opts.signal, e);
        const err = timedOut
          ? new TimeoutError(`${req.method} ${req.path} timed out after ${timeout} ms`, { code: 'timeout', cause: e })
          : new ConnectionError(`${req.method} ${req.path}: the response was cut off`, {
              code: 'connection_error',
              cause: e,
            });
        if (canRetry && mayRetryUnsafe) {
          await sleep(this.retryDelay(attempt), opts.signal);
          continue;
        }
        throw err;
      } finally {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      }
      if (res.ok) {
        if (req.responseType === 'text') return text as T;
        if (!text) return undefined as T;
        try {
          return JSON.parse(text) as T;
        } catch (e) {
          throw new FlapjackError(
            `${req.method} ${req.path}: the API answered ${res.status} with a body that is not JSON`,
            {
              status: res.status,
              code: 'invalid_response',
              requestId: res.headers.get('x-request-id') ?? undefined,
              cause: e,
            },
          );
        }
      }
      const retryable = res.status === 429 || (res.status >= 500 && mayRetryUnsafe) || res.status === 408;
      if (canRetry && retryable) {
        await sleep(this.retryDelay(attempt, res.headers), opts.signal);
        continue;
      }
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      throw FlapjackError.generate(
        res.status,
        parsed,
        res.headers,
        `${req.method} ${req.path} failed with HTTP ${res.status}`,
      ) as FlapjackApiError;
    }
  }
}

function abortError(signal: AbortSignal, cause?: unknown): AbortError {
  const reason: unknown = signal.reason;
  return new AbortError('The request was aborted', { code: 'aborted', cause: cause ?? reason });
}

/** Waits `ms`; rejects with an `AbortError` as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal as AbortSignal));
    };
    const t = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
