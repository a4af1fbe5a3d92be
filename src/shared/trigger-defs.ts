import type { RunWorkflowInput } from './run-types';

/** Names and argument types shared by the trigger workflows, their activities and the schedule code. */
export const CRON_TRIGGER_WORKFLOW_TYPE = 'cronTriggerWorkflow';
export const POLL_TRIGGER_WORKFLOW_TYPE = 'pollTriggerWorkflow';

/** Schedules we own are named `trigger-<triggerId>`; the reconciler touches nothing else. */
export const TRIGGER_SCHEDULE_PREFIX = 'trigger-';
export const scheduleIdForTrigger = (triggerId: string): string => `${TRIGGER_SCHEDULE_PREFIX}${triggerId}`;

/** What a trigger schedule's action passes to its workflow. `configHash` lets the reconciler spot drift. */
export interface TriggerWorkflowInput {
  orgId: string;
  runnerId: string;
  triggerId: string;
  configHash: string;
}

/** How the cron workflow starts the run it recorded (as its child, so the overlap policy spans the run). */
export interface RunStartSpec {
  workflowInput: RunWorkflowInput;
  triggerKind: string;
  runnerName: string;
}

export interface RecordCronRunResult {
  /** Why nothing was recorded (trigger deleted or paused, runner deleted), if so. */
  skipped?: string;
  runId?: string;
  /** Null when the run's workflow was already started (a retry after a crash). */
  start?: RunStartSpec | null;
}

export interface PollItem {
  /** The item's id: the run's idempotency key is `poll:<triggerId>:<id>`. */
  id: string;
  input: unknown;
}

export interface PollFetchResult {
  skipped?: string;
  items: PollItem[];
  /** The stored cursor when the poll read it, and the one to store once the items' runs are recorded. */
  cursorBefore: string | number | null;
  cursorAfter: string | number | null;
}

export interface PollTriggerResult {
  skipped?: string;
  items: number;
  created: number;
  cursor: string | number | null;
}
