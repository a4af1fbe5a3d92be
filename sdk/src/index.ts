export { FlapjackClient, SETTLED_RUN_STATUSES, type WaitForRunOptions } from './client.js';
export { DEFAULT_BASE_URL, type ClientOptions, type FetchLike, type RequestOptions } from './core.js';
export {
  AbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  ConnectionError,
  FlapjackApiError,
  FlapjackError,
  InternalServerError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  RateLimitError,
  ServiceUnavailableError,
  TimeoutError,
  ValidationError,
  type FieldError,
} from './errors.js';
export { PagePromise, type ListParams, type Page } from './pagination.js';
export type * from './types.js';
export type * as ApiTypes from './generated/api-types.js';
export { API_OPERATIONS } from './generated/api-types.js';
