import { ParentClosePolicy, proxyLocalActivities, startChild, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { TriggerActivities } from '../activities/triggers';
import type { TriggerWorkflowInput } from '../src/shared/trigger-defs';
import {
  OrgIdKey,
  RUN_WORKFLOW_TYPE,
  RunnerIdKey,
  RunStatusKey,
  TemporalScheduledStartTimeKey,
  TriggerKindKey,
} from '../src/shared/workflow-defs';

/** Recording the run is a database write: short, idempotent (keyed by the fire time), retried hard. */
const { recordCronRun } = proxyLocalActivities<TriggerActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 30 },
});

/** The fire's nominal time: set by the schedule on the workflows it starts; the start time otherwise. */
function scheduledTime(): Date {
  const info = workflowInfo();
  const at = info.typedSearchAttributes.get(TemporalScheduledStartTimeKey);
  return at instanceof Date ? at : new Date(info.startTime);
}

/**
 * The action of a cron trigger's schedule: records the run in PostgreSQL through `createRun` (idempotency
 * key `cron:<triggerId>:<scheduled time>`), then starts it as a child workflow (id = run id) and waits
 * for it, so the schedule's overlap policy ("skip while the previous run is going") spans the run.
 * Cancelling or terminating this workflow (cancel_other / terminate_other) cancels the run.
 */
export async function cronTriggerWorkflow(input: TriggerWorkflowInput): Promise<{ runId?: string; skipped?: string }> {
  const r = await recordCronRun({
    orgId: input.orgId,
    runnerId: input.runnerId,
    triggerId: input.triggerId,
    scheduledAt: scheduledTime().toISOString(),
  });
  if (!r.runId) return { skipped: r.skipped ?? 'nothing recorded' };
  if (!r.start) return { runId: r.runId };
  const start = r.start;
  try {
    const child = await startChild(RUN_WORKFLOW_TYPE, {
      workflowId: r.runId,
      args: [start.workflowInput],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      typedSearchAttributes: [
        { key: RunnerIdKey, value: start.workflowInput.runnerId },
        { key: OrgIdKey, value: start.workflowInput.orgId },
        { key: RunStatusKey, value: 'running' },
        { key: TriggerKindKey, value: start.triggerKind },
      ],
      memo: { runnerName: start.runnerName, runnerId: start.workflowInput.runnerId },
      staticSummary: `Run of runner "${start.runnerName}" (cron)`,
    });
    await child.result();
  } catch (e) {
    // Started meanwhile by the pending-run reconciler: the run goes on without us.
    if (e instanceof WorkflowExecutionAlreadyStartedError) return { runId: r.runId };
    throw e;
  }
  return { runId: r.runId };
}
