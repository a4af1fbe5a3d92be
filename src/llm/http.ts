import http from 'node:http';
import https from 'node:https';
import { keepAliveAgents, STALE_SOCKET_CODES } from '../net/http-client';
import { LlmError } from './types';

/**
 * Keep-alive agents for provider requests, with the settings of the webhook pools (`keepAliveAgents`): a
 * model call reuses its connection instead of opening one (and a TLS session) per call. Provider URLs are
 * the operator's configuration, so there is no egress guard here and one pair of agents serves them all.
 * (`fetch` was about 1 ms of CPU per request slower on this path: docs/BENCHMARKS.md, agent steps.)
 */
const agents = keepAliveAgents();

interface RawResponse {
  ok: boolean;
  status: number;
  text: string;
  retryAfter: string | null;
}

/**
 * One JSON POST. A request that fails on a reused keep-alive socket before any response byte (the server
 * closed the idle connection as we wrote to it) is sent once more on a new connection; anything else is
 * the caller's to retry. Aborting `signal` destroys the request (the server sees the connection close).
 */
async function post(url: string, headers: Record<string, string>, payload: string, signal: AbortSignal) {
  try {
    return await postOnce(url, headers, payload, signal, false);
  } catch (e) {
    if (!(e instanceof StaleSocket)) throw e;
    return postOnce(url, headers, payload, signal, true);
  }
}

class StaleSocket extends Error {}

function postOnce(
  url: string,
  headers: Record<string, string>,
  payload: string,
  signal: AbortSignal,
  fresh: boolean,
): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    const u = new URL(url);
    const client = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : null;
    if (!client) {
      reject(new Error(`unsupported URL scheme ${u.protocol}`));
      return;
    }
    let responded = false;
    const req = client.request(u, {
      method: 'POST',
      agent: fresh ? false : u.protocol === 'https:' ? agents.https : agents.http,
      headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    });
    const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    const done = () => signal.removeEventListener('abort', onAbort);
    req.on('response', (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      let ended = false;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('close', () => {
        if (ended) return;
        done();
        reject(new Error('the connection closed before the whole answer arrived'));
      });
      res.on('end', () => {
        ended = true;
        done();
        const status = res.statusCode ?? 0;
        const ra = res.headers['retry-after'];
        resolve({
          ok: status >= 200 && status < 300,
          status,
          text: Buffer.concat(chunks).toString('utf8'),
          retryAfter: Array.isArray(ra) ? (ra[0] ?? null) : (ra ?? null),
        });
      });
      res.on('error', (e) => {
        done();
        reject(e);
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      done();
      const stale = !fresh && !responded && req.reusedSocket && !signal.aborted && STALE_SOCKET_CODES.has(e.code ?? '');
      reject(stale ? new StaleSocket(e.message, { cause: e }) : Object.assign(new Error(e.message), { cause: e }));
    });
    req.end(payload);
  });
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

/** `Retry-After` as seconds (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(signal?: AbortSignal): LlmError {
  return new LlmError('aborted', 'The model request was cancelled', { cause: signal?.reason });
}

/** A short, safe excerpt of a provider's error body (its `message` when it has one). */
function errorMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: { message?: string } | string; message?: string };
    const m = typeof j.error === 'string' ? j.error : (j.error?.message ?? j.message);
    if (m) return String(m).slice(0, 500);
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}

/** Maps a non-2xx answer to an LlmError: 408/409/429/5xx are retryable, other 4xx are not. */
export function httpError(provider: string, status: number, body: string, retryAfter: string | null): LlmError {
  const retryAfterSec = parseRetryAfter(retryAfter);
  const msg = `${provider} answered ${status}: ${errorMessage(body)}`;
  if (status === 429) return new LlmError('rate_limited', msg, { status, retryable: true, retryAfterSec });
  if (status >= 500 || status === 408 || status === 409)
    return new LlmError('server', msg, { status, retryable: true, retryAfterSec });
  if (status === 401 || status === 403) return new LlmError('auth', msg, { status });
  return new LlmError('bad_request', msg, { status });
}

export interface PostOptions {
  provider: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  signal?: AbortSignal;
  timeoutMs: number;
  retry: RetryPolicy;
  /** Called before each retry wait (e.g. to heartbeat). */
  onRetry?: (err: LlmError, attempt: number, waitMs: number) => void;
}

/**
 * POSTs JSON and returns the parsed JSON answer, retrying 429/5xx/network errors with exponential
 * backoff and full jitter (honouring `Retry-After`, capped at `maxDelayMs`); 4xx other than
 * 408/409/429 fail at once. Abort via `signal` at any point, waits included.
 */
export async function postJsonWithRetry(
  opts: PostOptions,
): Promise<{ json: unknown; latencyMs: number; attempts: number }> {
  const payload = JSON.stringify(opts.body);
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const started = Date.now();
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let err: LlmError;
    try {
      const res = await post(opts.url, { ...opts.headers, accept: 'application/json' }, payload, signal);
      const text = res.text;
      if (res.ok) {
        try {
          return { json: JSON.parse(text) as unknown, latencyMs: Date.now() - started, attempts: attempt };
        } catch {
          throw new LlmError(
            'invalid_response',
            `${opts.provider} answered ${res.status} with a body that is not JSON`,
          );
        }
      }
      err = httpError(opts.provider, res.status, text, res.retryAfter);
    } catch (e) {
      if (e instanceof LlmError) throw e;
      if (opts.signal?.aborted) throw abortError(opts.signal);
      if (timeout.aborted) {
        err = new LlmError('timeout', `${opts.provider} did not answer within ${opts.timeoutMs} ms`, {
          retryable: true,
          cause: e,
        });
      } else {
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        err = new LlmError(
          'network',
          `${opts.provider} is unreachable: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
          {
            retryable: true,
            cause: e,
          },
        );
      }
    }
    if (!err.retryable || attempt >= opts.retry.maxAttempts) throw err;
    const backoff = Math.min(opts.retry.maxDelayMs, opts.retry.baseDelayMs * 2 ** (attempt - 1));
    const wait =
      err.retryAfterSec !== undefined
        ? Math.min(opts.retry.maxDelayMs, err.retryAfterSec * 1000)
        : Math.round(backoff * (0.5 + Math.random() / 2));
    opts.onRetry?.(err, attempt, wait);
    await sleep(wait, opts.signal);
  }
}
