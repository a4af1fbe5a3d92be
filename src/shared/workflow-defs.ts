import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
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
export const TemporalScheduledStartTimeKey = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);

/** What `POST .../resume` sends to a run paused on its budget (`additionalBudgetUsd` raises the budget). */
export interface ResumeRequest {
  additionalBudgetUsd?: number;
}

/** The run's state once the workflow has acted on a resume: `running` again, or `paused_budget` with why. */
export interface ResumeResult {
  status: RunStatus;
  budgetUsd: number | null;
  /** Set when the raised budget still does not cover the next call (the run paused again). */
  reason?: string;
}

/**
 * Resumes a run paused on its budget. The validator rejects it (without touching history) unless the run
 * is paused; the handler answers once the workflow has resumed or paused again.
 */
export const resumeUpdate = defineUpdate<ResumeResult, [ResumeRequest]>('resume');
