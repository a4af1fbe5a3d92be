/**
 * Custom HTTP tools (the `tools` resource): the model's arguments go to the tool's URL through the same
 * egress control as webhook steps. GET and DELETE send the arguments as query parameters, the other
 * methods as a JSON body. The tool's headers are decrypted only by the activity that calls this.
 *
 * Every outcome is a tool result for the model: a non-2xx answer or a network failure is `isError`, never
 * a failed step. Messages name the host only (URLs may carry secrets in their path or query).
 */
import type { EgressGuard } from '../../net/egress';
import { HttpError, postJson } from '../../net/http-client';

export interface HttpToolTarget {
  name: string;
  url: string;
  method: string;
  headers?: Record<string, string>;
}

export interface HttpToolOutcome {
  isError: boolean;
  /** What the model sees: the response body (JSON pretty-printed when it parses), or what went wrong. */
  text: string;
  status?: number;
}

export const HTTP_TOOL_DEFAULTS = { timeoutMs: 30_000, maxResponseBytes: 1024 * 1024, maxTextChars: 20_000 } as const;

/** Headers the engine sets; a tool's configured headers cannot override them. */
const PROTECTED = new Set(['content-type', 'content-length', 'host', 'transfer-encoding', 'connection']);

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

/** Query-string form of the arguments for GET/DELETE: scalars as is, objects and arrays as JSON. */
export function withQuery(url: string, args: Record<string, unknown>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(args)) {
    if (v === undefined || v === null) continue;
    u.searchParams.append(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  return u.toString();
}

export function clip(text: string, max: number = HTTP_TOOL_DEFAULTS.maxTextChars): string {
  return text.length > max ? `${text.slice(0, max)}\n… (truncated: ${text.length - max} more characters)` : text;
}

export async function callHttpTool(
  target: HttpToolTarget,
  args: Record<string, unknown>,
  opts: { guard: EgressGuard; signal?: AbortSignal; timeoutMs?: number; idempotencyKey?: string },
): Promise<HttpToolOutcome> {
  const method = (target.method || 'POST').toUpperCase() as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  const host = hostOf(target.url);
  const headers: Record<string, string> = { 'User-Agent': 'flapjack-runners-tool', Accept: 'application/json' };
  for (const [k, v] of Object.entries(target.headers ?? {})) if (!PROTECTED.has(k.toLowerCase())) headers[k] = v;
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
  const bodiless = method === 'GET' || method === 'DELETE';
  let url = target.url;
  try {
    if (bodiless) url = withQuery(target.url, args);
  } catch {
    return { isError: true, text: `Tool "${target.name}" has an invalid URL` };
  }
  try {
    const res = await postJson({
      url,
      method,
      body: bodiless ? undefined : args,
      headers,
      timeoutMs: opts.timeoutMs ?? HTTP_TOOL_DEFAULTS.timeoutMs,
      maxResponseBytes: HTTP_TOOL_DEFAULTS.maxResponseBytes,
      ...(opts.signal ? { signal: opts.signal } : {}),
      guard: opts.guard,
    });
    let body = res.bodyText;
    try {
      if (body.trim() !== '') body = JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      // not JSON: the text as it came
    }
    if (res.status >= 200 && res.status < 300)
      return { isError: false, status: res.status, text: clip(body || '(empty response)') };
    return {
      isError: true,
      status: res.status,
      text: clip(`${method} ${host} answered HTTP ${res.status}${body ? `:\n${body}` : ''}`),
    };
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    const msg = e instanceof HttpError ? e.message : `The request to ${host} failed: ${(e as Error).message}`;
    return { isError: true, text: msg };
  }
}
