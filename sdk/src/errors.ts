/** One bad field of a 422: its dotted path in the request and what is wrong with it. */
export interface FieldError {
  path: string;
  message: string;
}

export interface FlapjackErrorInit {
  status?: number | undefined;
  code?: string | undefined;
  details?: unknown;
  requestId?: string | undefined;
  headers?: Headers | undefined;
  cause?: unknown;
}

/**
 * Every failure of the client is a `FlapjackError`. Errors answered by the API carry its `status`,
 * `code` (the contract's snake_case code), `message`, `details` and the `requestId` of the
 * `X-Request-Id` header (quote it when reporting a problem).
 */
export class FlapjackError extends Error {
  override readonly name: string = 'FlapjackError';
  readonly status: number | undefined;
  readonly code: string;
  readonly details: unknown;
  readonly requestId: string | undefined;
  readonly headers: Headers | undefined;

  constructor(message: string, init: FlapjackErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code ?? 'unknown';
    this.details = init.details;
    this.requestId = init.requestId;
    this.headers = init.headers;
  }

  /** The subclass for an API answer with this status. */
  static generate(
    status: number,
    body: unknown,
    headers: Headers | undefined,
    fallbackMessage: string,
  ): FlapjackApiError {
    const err = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
    const code = typeof err?.code === 'string' ? err.code : codeForStatus(status);
    const message = typeof err?.message === 'string' ? err.message : fallbackMessage;
    const init: FlapjackErrorInit = {
      status,
      code,
      details: err?.details,
      requestId: headers?.get('x-request-id') ?? undefined,
      headers,
    };
    switch (status) {
      case 400:
        return new BadRequestError(message, init);
      case 401:
        return new AuthenticationError(message, init);
      case 403:
        return new PermissionDeniedError(message, init);
      case 404:
        return new NotFoundError(message, init);
      case 409:
        return new ConflictError(message, init);
      case 413:
        return new PayloadTooLargeError(message, init);
      case 422:
        return new ValidationError(message, init);
      case 429:
        return new RateLimitError(message, init);
      case 503:
        return new ServiceUnavailableError(message, init);
      default:
        return status >= 500 ? new InternalServerError(message, init) : new FlapjackApiError(message, init);
    }
  }
}

/** An error answered by the API (it has a `status`). */
export class FlapjackApiError extends FlapjackError {
  override readonly name: string = 'FlapjackApiError';
  declare readonly status: number;
}

/** 400: the body was not valid JSON or the request was malformed. */
export class BadRequestError extends FlapjackApiError {
  override readonly name: string = 'BadRequestError';
}
/** 401: no API key, or one the API does not know. */
export class AuthenticationError extends FlapjackApiError {
  override readonly name: string = 'AuthenticationError';
}
/** 403 (the API answers 404 for other orgs' objects; kept for proxies in front of it). */
export class PermissionDeniedError extends FlapjackApiError {
  override readonly name: string = 'PermissionDeniedError';
}
/** 404: no such object in your org (other orgs' ids are 404 too). */
export class NotFoundError extends FlapjackApiError {
  override readonly name: string = 'NotFoundError';
}
/** 409: the request conflicts with the object's state (e.g. cancelling a finished run, a name taken). */
export class ConflictError extends FlapjackApiError {
  override readonly name: string = 'ConflictError';
}
/** 413: an upload is larger than the API accepts. */
export class PayloadTooLargeError extends FlapjackApiError {
  override readonly name: string = 'PayloadTooLargeError';
}
/** 422: validation failed; `fields` lists each bad field with its path. */
export class ValidationError extends FlapjackApiError {
  override readonly name: string = 'ValidationError';
  get fields(): FieldError[] {
    return Array.isArray(this.details)
      ? (this.details as unknown[]).filter(
          (d): d is FieldError =>
            !!d && typeof (d as FieldError).path === 'string' && typeof (d as FieldError).message === 'string',
        )
      : [];
  }
}
/** 429: rate limited; `retryAfterMs` is what the API asked to wait (the client already retried). */
export class RateLimitError extends FlapjackApiError {
  override readonly name: string = 'RateLimitError';
  get retryAfterMs(): number | undefined {
    return parseRetryAfter(this.headers?.get('retry-after') ?? null);
  }
}
/** 503: a dependency of the API (database, Temporal) is down; retried automatically. */
export class ServiceUnavailableError extends FlapjackApiError {
  override readonly name: string = 'ServiceUnavailableError';
}
/** Any other 5xx. */
export class InternalServerError extends FlapjackApiError {
  override readonly name: string = 'InternalServerError';
}

/** The request never got an answer (DNS, refused connection, reset) after all retries. */
export class ConnectionError extends FlapjackError {
  override readonly name: string = 'ConnectionError';
}
/** The per-request `timeout` (or `waitForRun`'s `timeoutMs`) elapsed. */
export class TimeoutError extends FlapjackError {
  override readonly name: string = 'TimeoutError';
}
/** The caller's `signal` aborted the request. */
export class AbortError extends FlapjackError {
  override readonly name: string = 'AbortError';
}

function codeForStatus(status: number): string {
  const codes: Record<number, string> = {
    400: 'bad_request',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not_found',
    409: 'conflict',
    413: 'payload_too_large',
    422: 'validation_failed',
    429: 'rate_limited',
    503: 'service_unavailable',
  };
  return codes[status] ?? (status >= 500 ? 'internal' : 'http_error');
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
