import { ApplicationFailure } from '@temporalio/common';

/**
 * The one closed set of failure codes. Every step and run failure (a run's and a step's `error.code`)
 * and every failure of the trigger and reflection workflows is one of these: an `ApplicationFailure`'s
 * `type` is made only by `failure()` below, and a grep test (failure-codes.test.ts) refuses any other
 * way of making one. The OpenAPI document lists the set as the enum of `error.code`; docs/failure-codes.md
 * is the table of meanings.
 */
export const FAILURE_CODES = [
  // steps
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
  'step_failed',
  // runs
  'budget_exceeded',
  'unpriced_model',
  'cancelled',
  'internal',
  // inside the engine: never a run's error (the workflow continues the step as a regular activity, or
  // retries its task)
  'exceeded_local_bound',
  'model_call_superseded',
  // trigger and reflection workflows
  'trigger_rejected',
  'poll_failed',
  'mcp_invalid_config',
  'mcp_egress_refused',
  'mcp_connect',
  'mcp_timeout',
  'mcp_protocol',
  'mcp_closed',
  'worker_misconfigured',
  'reflection_failed',
] as const;

export type FailureCode = (typeof FAILURE_CODES)[number];

export function isFailureCode(v: unknown): v is FailureCode {
  return typeof v === 'string' && (FAILURE_CODES as readonly string[]).includes(v);
}

/** Where a code shows up, whether Temporal retries it, and what it means (docs/failure-codes.md). */
export interface FailureCodeInfo {
  scope: 'step' | 'run' | 'engine' | 'trigger' | 'reflection';
  /** `maybe`: the activity decides per failure (e.g. HTTP 5xx is retried, 4xx is not). */
  retryable: 'yes' | 'no' | 'maybe';
  meaning: string;
}

/** A `Record` over the union: adding a code without documenting it fails to compile. */
export const FAILURE_CODE_INFO: Record<FailureCode, FailureCodeInfo> = {
  webhook_http_error: {
    scope: 'step',
    retryable: 'maybe',
    meaning: 'The webhook answered non-2xx, or could not be reached. 5xx and network errors are retried; 4xx are not',
  },
  webhook_invalid_response: {
    scope: 'step',
    retryable: 'no',
    meaning: 'The webhook answered 2xx with a body that is not JSON, or a body over the size limit',
  },
  webhook_timeout: { scope: 'step', retryable: 'yes', meaning: 'The webhook did not answer in time (after retries)' },
  egress_refused: {
    scope: 'step',
    retryable: 'no',
    meaning: 'The target address is private, loopback or link-local and not in FLAPJACK_EGRESS_ALLOWLIST',
  },
  sandbox_timeout: { scope: 'step', retryable: 'no', meaning: "The computer step's code ran past its timeoutMs" },
  sandbox_memory_limit: { scope: 'step', retryable: 'no', meaning: "The computer step's code went over memoryLimitMb" },
  sandbox_error: { scope: 'step', retryable: 'no', meaning: "The computer step's code threw, or did not compile" },
  sandbox_invalid_output: {
    scope: 'step',
    retryable: 'no',
    meaning: "The computer step's code returned something that is not JSON",
  },
  output_schema_mismatch: {
    scope: 'step',
    retryable: 'no',
    meaning: "The step's output does not match its outputSchema (agent steps: after one repair round)",
  },
  input_mapping_error: { scope: 'step', retryable: 'no', meaning: "The step's inputMapping could not be evaluated" },
  agent_unavailable: { scope: 'step', retryable: 'no', meaning: 'This worker cannot run agent steps' },
  provider_not_configured: {
    scope: 'step',
    retryable: 'no',
    meaning: "The model's provider has no API key on the worker (OPENAI_API_KEY, ANTHROPIC_API_KEY)",
  },
  unknown_model: { scope: 'step', retryable: 'no', meaning: 'No provider serves the model the step resolves to' },
  provider_error: {
    scope: 'step',
    retryable: 'maybe',
    meaning: 'The model provider failed. 429, 5xx and network errors are retried; other answers are not',
  },
  agent_iteration_limit: {
    scope: 'step',
    retryable: 'no',
    meaning: 'The agent used all its model calls and still asked for tools instead of answering',
  },
  step_failed: {
    scope: 'step',
    retryable: 'no',
    meaning:
      'Any other step failure (a missing agent, headers this worker cannot decrypt, an unexpected error); the message says which',
  },
  budget_exceeded: {
    scope: 'run',
    retryable: 'no',
    meaning:
      "The next model call could go over the run's budget (onExceed fail; with pause the run pauses with this code)",
  },
  unpriced_model: {
    scope: 'run',
    retryable: 'no',
    meaning: 'A model with no known price cannot run under a budget',
  },
  cancelled: { scope: 'run', retryable: 'no', meaning: 'The run was cancelled; the step in flight carries it too' },
  internal: { scope: 'run', retryable: 'no', meaning: 'A bug in the engine; the message says where' },
  exceeded_local_bound: {
    scope: 'engine',
    retryable: 'no',
    meaning:
      'A webhook run as a local activity took longer than its bound; the workflow continues it as a regular activity. Never a run error',
  },
  model_call_superseded: {
    scope: 'engine',
    retryable: 'no',
    meaning:
      "A model call's ledger row, written after the call answered, found another attempt's different answer recorded first; the workflow retries its task, which reads that answer. Never a run error",
  },
  trigger_rejected: {
    scope: 'trigger',
    retryable: 'no',
    meaning: 'A trigger could not record its run (the runner is gone, or the input does not match its inputSchema)',
  },
  poll_failed: {
    scope: 'trigger',
    retryable: 'maybe',
    meaning: "A poll trigger's source answered with something it cannot use; transient failures are retried",
  },
  mcp_invalid_config: { scope: 'trigger', retryable: 'no', meaning: "The poll trigger's MCP server is misconfigured" },
  mcp_egress_refused: {
    scope: 'trigger',
    retryable: 'no',
    meaning: "The poll trigger's MCP server address is refused by the egress rules",
  },
  mcp_connect: { scope: 'trigger', retryable: 'yes', meaning: "The poll trigger's MCP server could not be reached" },
  mcp_timeout: { scope: 'trigger', retryable: 'yes', meaning: "The poll trigger's MCP server did not answer in time" },
  mcp_protocol: { scope: 'trigger', retryable: 'yes', meaning: "The poll trigger's MCP server broke the protocol" },
  mcp_closed: { scope: 'trigger', retryable: 'yes', meaning: "The poll trigger's MCP server closed the connection" },
  worker_misconfigured: {
    scope: 'trigger',
    retryable: 'no',
    meaning: 'The worker running trigger workflows has no Temporal client to start runs with',
  },
  reflection_failed: {
    scope: 'reflection',
    retryable: 'no',
    meaning: 'The model call of reflectOnFailure failed for a reason no retry fixes; the failed run is unchanged',
  },
};

/**
 * The only way this code base makes an `ApplicationFailure`: its `type` is a `FailureCode`. Without
 * `retryable: true` the failure is permanent (`nonRetryable`), so a retry is always a decision.
 */
export function failure(
  code: FailureCode,
  message: string,
  opts: { retryable?: boolean; details?: unknown[]; cause?: Error } = {},
): ApplicationFailure {
  return ApplicationFailure.create({
    type: code,
    message,
    nonRetryable: opts.retryable !== true,
    ...(opts.details ? { details: opts.details } : {}),
    ...(opts.cause ? { cause: opts.cause } : {}),
  });
}

/** A run's or step's `error`: the code, a sentence, and the step it happened in. */
export interface FailureError {
  code: FailureCode;
  message: string;
  step?: string;
}
