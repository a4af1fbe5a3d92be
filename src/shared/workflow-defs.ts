import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';
import type { RunContext, RunWorkflowInput, RunWorkflowResult } from './run-types';
import type { RunStatus } from './status';

/** Names and message definitions shared by the workflows and the API's Temporal client. */
export const RUN_WORKFLOW_TYPE = 'runRunnerWorkflow';
/**
 * The run workflow's signature: the API starts it as `client.workflow.start<RunWorkflow>(…)`, so its
 * arguments are type-checked; workflows/index.ts fails to compile if the workflow drifts from it.
 */
export type RunWorkflow = (input: RunWorkflowInput) => Promise<RunWorkflowResult>;

export const RunnerIdKey = defineSearchAttributeKey('RunnerId', SearchAttributeType.KEYWORD);
export const OrgIdKey = defineSearchAttributeKey('OrgId', SearchAttributeType.KEYWORD);
export const RunStatusKey = defineSearchAttributeKey('RunStatus', SearchAttributeType.KEYWORD);
export const TriggerKindKey = defineSearchAttributeKey('TriggerKind', SearchAttributeType.KEYWORD);

export interface RunProgress {
  status: RunStatus;
  currentStep: number | null;
  context: RunContext;
}

export const progressQuery = defineQuery<RunProgress>('progress');

/** Set by Temporal on workflows a schedule starts: the fire's nominal time. */
export const TemporalScheduledStartTimeKey = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
