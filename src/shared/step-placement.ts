/**
 * Where a step runs: inside the run's workflow task as a local activity, or as a regular activity.
 * Pure, shared by the workflow (which decides) and the activities (which honour the bound).
 * The reasoning and the measurements are in docs/run-shape.md.
 */
import type { FailureCode } from './failure-codes';
import type { StepSnapshot } from './run-types';

/**
 * The longest a step may take as a local activity. A local activity holds the run's workflow task
 * open, and a cancellation only reaches the workflow when that task completes, so this is also the
 * longest a cancel waits for a short step. Longer steps run as regular activities with heartbeats.
 */
export const LOCAL_STEP_BOUND_MS = 5_000;

/** The sandbox's time limit when a computer step sets none (the sandbox reads it from here). */
export const COMPUTER_DEFAULT_TIMEOUT_MS = 5_000;

/**
 * `ApplicationFailure.type` of a local step attempt that reached `LOCAL_STEP_BOUND_MS`: the workflow
 * continues the step as a regular activity. Internal to the workflow, never a run's error code.
 */
export const EXCEEDED_LOCAL_BOUND = 'exceeded_local_bound';

/**
 * `ApplicationFailure.type` of a local model call stopped because its run's cancel was announced
 * (src/db/run-cancel.ts): the run's own failure code `cancelled`. `callModel` fails with it for no other
 * reason (a cancel delivered by Temporal is a `CancelledFailure`), and the workflow answers it by ending
 * its task so that Temporal's cancel request reaches it.
 */
export const CANCEL_ANNOUNCED = 'cancelled' satisfies FailureCode;

export type StepPlacement = 'inline' | 'local' | 'remote';

/**
 * - `condition`: evaluated in the workflow (no activity at all);
 * - `computer`: local when its time limit fits the bound (the sandbox stops it at that limit), else a
 *   regular activity that heartbeats, so cancellation reaches it;
 * - `webhook`: local, bounded: an attempt that reaches the bound is aborted and the step continues as
 *   a regular activity (the same POST with the same Idempotency-Key, like any retry);
 * - `agent` (model calls: long, heartbeating) and anything else: a regular activity.
 */
export function stepPlacement(step: Pick<StepSnapshot, 'kind' | 'computer'>): StepPlacement {
  switch (step.kind) {
    case 'condition':
      return 'inline';
    case 'computer':
      return (step.computer?.timeoutMs ?? COMPUTER_DEFAULT_TIMEOUT_MS) <= LOCAL_STEP_BOUND_MS ? 'local' : 'remote';
    case 'webhook':
      return 'local';
    default:
      return 'remote';
  }
}

/**
 * `ApplicationFailure.type` of a tool call whose model call's ledger row, written after that call
 * answered (activities/run-writes.ts), found another attempt's different answer recorded first: the
 * workflow fails its task (a plain error), and the retried task reads the recorded answer. Internal to the
 * workflow, never a run's error code.
 */
export const MODEL_CALL_SUPERSEDED = 'model_call_superseded' satisfies FailureCode;
