import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { AppError } from '../errors/app-error';
import { resumeUpdate } from '../shared/workflow-defs';
import type { ServiceDeps } from './deps';
import { getRun } from './runs';

/**
 * Resumes a run paused on its budget, raising the budget by `additionalBudgetUsd`: a Temporal Update
 * whose validator refuses it unless the run is paused (nothing is written to history then). The Update
 * answers once the workflow has resumed, or paused again because the raised budget still does not cover
 * the next call; the run returned says which (`status`, and `error` with the reason when paused again).
 */
export async function resumeRun(
  deps: ServiceDeps,
  orgId: string,
  runnerId: string,
  runId: string,
  body: { additionalBudgetUsd?: number },
) {
  const run = await getRun(deps, orgId, runnerId, runId);
  if (run.status !== 'paused_budget') throw AppError.conflict(`Run is ${run.status}, not paused on its budget`);
  const handle = deps.temporal.client.workflow.getHandle(runId);
  try {
    await handle.executeUpdate(resumeUpdate, {
      args: [body.additionalBudgetUsd === undefined ? {} : { additionalBudgetUsd: body.additionalBudgetUsd }],
    });
  } catch (e) {
    // The validator refused (no longer paused), or the workflow has ended meanwhile: a conflict. A run
    // that is still paused was refused for another reason (or no worker answered in time): retry later.
    if (e instanceof WorkflowUpdateFailedError || e instanceof WorkflowNotFoundError) {
      const now = await getRun(deps, orgId, runnerId, runId);
      if (now.status !== 'paused_budget') throw AppError.conflict(`Run is ${now.status}, not paused on its budget`);
      deps.log.warn({ err: e, runId }, 'resume refused by the workflow of a paused run');
      throw AppError.unavailable('The run worker', e);
    }
    if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) throw AppError.unavailable('The run worker', e);
    throw e;
  }
  return getRun(deps, orgId, runnerId, runId);
}
