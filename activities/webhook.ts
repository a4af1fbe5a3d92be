/**
 * The `webhook` step: POST the step input as JSON, return the JSON answer as the step output.
 *
 * Failure mapping (Temporal's retry policy does the retrying, with backoff):
 * - 5xx, timeouts, network errors → retryable (`webhook_http_error` / `webhook_timeout`);
 * - 3xx (redirects are not followed), 4xx, a non-JSON or too large body, a bad URL/header → non-retryable;
 * - a private/loopback/link-local target that is not allowlisted → non-retryable `egress_refused`.
 *
 * Header values are never logged or put in error messages: they often carry secrets. For the same reason
 * messages name only the target's host, never its path or query (e.g. Slack hook URLs are secrets).
 */
import { type ApplicationFailure, Context } from '@temporalio/activity';
import { failure } from '../src/shared/failure-codes';
import { HttpError, postJson } from '../src/net/http-client';
import type { EgressGuard } from '../src/net/egress';
import { EXCEEDED_LOCAL_BOUND } from '../src/shared/step-placement';

export interface WebhookActivityDeps {
  guard: EgressGuard;
  /** Total time for one attempt. Default 30 s. */
  timeoutMs?: number;
  /** Response body cap. Default 1 MiB. */
  maxResponseBytes?: number;
  /** How often the activity heartbeats while the request is in flight (cancellation arrives with a heartbeat). */
  heartbeatIntervalMs?: number;
}

export interface ExecuteWebhookStepArgs {
  runId: string;
  stepName: string;
  url: string;
  headers?: Record<string, string>;
  input: unknown;
  /**
   * Set for a local-activity attempt: when the request reaches this bound (and the bound is shorter
   * than the webhook timeout) it is aborted with `EXCEEDED_LOCAL_BOUND`, and the workflow continues
   * the step as a regular activity.
   */
  boundMs?: number;
}

export const WEBHOOK_DEFAULTS = {
  timeoutMs: 30_000,
  maxResponseBytes: 1024 * 1024,
  heartbeatIntervalMs: 1_000,
} as const;

/** Headers a step's `webhookHeaders` cannot set (compared case-insensitively). */
const PROTECTED_HEADERS = new Set([
  'idempotency-key',
  'content-type',
  'content-length',
  'host',
  'transfer-encoding',
  'connection',
]);

const BODY_SNIPPET_CHARS = 500;

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

export function createWebhookActivities(deps: WebhookActivityDeps) {
  const timeoutMs = deps.timeoutMs ?? WEBHOOK_DEFAULTS.timeoutMs;
  const maxResponseBytes = deps.maxResponseBytes ?? WEBHOOK_DEFAULTS.maxResponseBytes;
  const heartbeatIntervalMs = deps.heartbeatIntervalMs ?? WEBHOOK_DEFAULTS.heartbeatIntervalMs;

  async function executeWebhookStep(args: ExecuteWebhookStepArgs): Promise<unknown> {
    const ctx = Context.current();
    const host = hostOf(args.url);

    const headers: Record<string, string> = { 'User-Agent': 'flapjack-runners-webhook' };
    const dropped: string[] = [];
    for (const [name, value] of Object.entries(args.headers ?? {})) {
      if (PROTECTED_HEADERS.has(name.toLowerCase())) dropped.push(name);
      else headers[name] = value;
    }
    if (dropped.length > 0) {
      ctx.log.warn('webhook step headers ignored: they are set by the engine', {
        runId: args.runId,
        stepName: args.stepName,
        headerNames: dropped,
      });
    }
    headers['Idempotency-Key'] = `${args.runId}:${args.stepName}`;

    const cancellation = ctx.cancellationSignal;
    const attemptTimeoutMs = args.boundMs !== undefined && args.boundMs < timeoutMs ? args.boundMs : timeoutMs;
    const bounded = attemptTimeoutMs < timeoutMs;
    // Heartbeats exist to carry cancellation to a request in flight. The first one goes out after one
    // interval: a webhook that answers sooner costs no heartbeat RPC at all. A local activity cannot
    // heartbeat: its bound keeps it short instead.
    const heartbeat = ctx.info.isLocal ? undefined : setInterval(() => ctx.heartbeat(), heartbeatIntervalMs);

    let response: Awaited<ReturnType<typeof postJson>>;
    try {
      response = await postJson({
        url: args.url,
        body: args.input,
        headers,
        timeoutMs: attemptTimeoutMs,
        maxResponseBytes,
        signal: cancellation,
        guard: deps.guard,
      });
    } catch (err) {
      // Cancelled: let Temporal's CancelledFailure propagate.
      if (cancellation.aborted) throw cancellation.reason;
      if (bounded && err instanceof HttpError && err.kind === 'timeout') {
        throw failure(
          EXCEEDED_LOCAL_BOUND,
          `Webhook POST to ${host} took longer than ${attemptTimeoutMs} ms; continuing as a regular activity`,
        );
      }
      throw toFailure(err, host);
    } finally {
      if (heartbeat) clearInterval(heartbeat);
    }

    const { status, bodyText } = response;
    if (status >= 200 && status < 300) {
      if (bodyText.trim() === '') return null;
      try {
        return JSON.parse(bodyText) as unknown;
      } catch {
        throw failure(
          'webhook_invalid_response',
          `Webhook POST to ${host} returned HTTP ${status} with a body that is not JSON`,
          {
            details: [{ status, contentType: response.headers['content-type'] ?? null, body: snippet(bodyText) }],
          },
        );
      }
    }
    const retryable = status >= 500;
    const what =
      status >= 300 && status < 400 ? 'a redirect, which is not followed' : retryable ? 'a server error' : 'an error';
    throw failure('webhook_http_error', `Webhook POST to ${host} returned HTTP ${status} (${what})`, {
      retryable,
      details: [{ status, body: snippet(bodyText) }],
    });
  }

  return { executeWebhookStep };
}

function snippet(text: string): string {
  return text.length > BODY_SNIPPET_CHARS ? `${text.slice(0, BODY_SNIPPET_CHARS)}…` : text;
}

function toFailure(err: unknown, host: string): ApplicationFailure {
  if (!(err instanceof HttpError)) {
    return failure(
      'webhook_http_error',
      `Webhook POST to ${host} failed: ${err instanceof Error ? err.message : String(err)}`,
      {
        retryable: true,
        ...(err instanceof Error ? { cause: err } : {}),
      },
    );
  }
  switch (err.kind) {
    case 'egress_refused':
      return failure('egress_refused', err.message);
    case 'timeout':
      return failure('webhook_timeout', err.message, { retryable: true });
    case 'too_large':
      return failure('webhook_invalid_response', err.message);
    case 'invalid_url':
    case 'invalid_request':
      return failure('webhook_http_error', `Webhook POST to ${host} could not be sent: ${err.message}`);
    case 'aborted':
    case 'network':
      return failure('webhook_http_error', err.message, { retryable: true });
  }
}
