/**
 * The closed set of error codes the API can answer with. The compiler forces every code to have an
 * HTTP status (see `httpStatusByCode`), so adding a code without deciding its status fails to build.
 */
export const ERROR_CODES = [
  'invalid_json',
  'bad_request',
  'unauthorized',
  'not_found',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'validation_failed',
  'rate_limited',
  'service_unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export const httpStatusByCode: Record<ErrorCode, number> = {
  invalid_json: 400,
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  service_unavailable: 503,
  internal: 500,
};
