import { type ErrorCode, httpStatusByCode } from './codes';

/** One entry of a 422's `details`: the path of the offending field and what is wrong with it. */
export interface FieldIssue {
  path: string;
  message: string;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { details?: unknown; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.details = opts.details;
    this.headers = opts.headers ?? {};
  }

  get status(): number {
    return httpStatusByCode[this.code];
  }

  static notFound(what: string): AppError {
    return new AppError('not_found', `${what} not found`);
  }

  static validation(issues: FieldIssue[], message?: string): AppError {
    const first = issues[0];
    const summary = message ?? (first ? `Invalid ${first.path || 'request'}: ${first.message}` : 'Validation failed');
    return new AppError('validation_failed', summary, { details: issues });
  }

  static conflict(message: string): AppError {
    return new AppError('conflict', message);
  }

  static unavailable(dependency: string, cause?: unknown): AppError {
    return new AppError('service_unavailable', `${dependency} is unavailable; try again shortly`, { cause });
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
