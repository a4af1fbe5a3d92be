/**
 * The closed set of `ApplicationFailure.type`s a step or run can fail with. Workflows, activities and
 * the API share it, so a run's `error.code` is always one of these.
 */
export const FAILURE_TYPES = [
  'webhook_http_error',
  'webhook_invalid_response',
  'webhook_timeout',
  'egress_refused',
  'sandbox_timeout',
  'sandbox_memory_limit',
  'sandbox_error',
  'sandbox_invalid_output',
  'output_schema_mismatch',
  'input_mapping_error',
  'agent_unavailable',
  'provider_not_configured',
  'unknown_model',
  'provider_error',
  'agent_iteration_limit',
  'budget_exceeded',
  'unpriced_model',
  'step_failed',
  'internal',
] as const;

export type FailureType = (typeof FAILURE_TYPES)[number];

export function isFailureType(v: unknown): v is FailureType {
  return typeof v === 'string' && (FAILURE_TYPES as readonly string[]).includes(v);
}
