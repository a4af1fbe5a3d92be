import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { RunActivities } from '../activities/types';
import { isFailureCode } from '../src/shared/failure-codes';
import { firstMatch, isTruthyConditionValue, resolveInput } from '../src/shared/jsonpath';
import type {
  ExecuteStepArgs,
  PersistOp,
  RunContext,
  RunWorkflowInput,
  RunWorkflowResult,
  StepError,
  StepSnapshot,
} from '../src/shared/run-types';
import type { RunStatus } from '../src/shared/status';
import { EXCEEDED_LOCAL_BOUND, LOCAL_STEP_BOUND_MS, stepPlacement } from '../src/shared/step-placement';
import { progressQuery, RunStatusKey } from '../src/shared/workflow-defs';
import { reflectAfterFailure } from './reflect-hook';
import { runAgentStep } from './agent-step';
import { createBudgetController } from './budget';

/** Database writes: short, idempotent, retried hard (a DB blip must not fail a run). */
const persistOptions: LocalActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 30 },
};
/** Webhook and agent steps: regular activities with heartbeats, so cancellation reaches them. */
const remoteStepOptions: ActivityOptions = {
  startToCloseTimeout: '5m',
  heartbeatTimeout: '15s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
};
/** Computer steps before LOCAL_SHORT_STEPS: bounded by the sandbox's own limits (≤ 60 s), local. */
const localStepOptions: LocalActivityOptions = {
  startToCloseTimeout: '90s',
  retry: { initialInterval: '500ms', maximumAttempts: 3 },
};
/**
 * Short steps (see src/shared/step-placement.ts): local activities inside the run's workflow task. The
 * activity stops itself at LOCAL_STEP_BOUND_MS; the timeout is only a guard. Same retries as remote.
 */
const boundedLocalOptions: LocalActivityOptions = {
  startToCloseTimeout: LOCAL_STEP_BOUND_MS + 2_000,
  retry: remoteStepOptions.retry,
};

const persist = proxyLocalActivities<RunActivities>(persistOptions);

/** Patch id: runs started before it flush their writes in a separate local activity before each step. */
const PERSIST_WITH_STEP = 'persist-with-step-v1';
/** Patch id: the last step's activity records the run's completion itself (no final write activity). */
const FINALIZE_WITH_LAST_STEP = 'finalize-with-last-step-v1';
/**
 * Patch id: short webhook and computer steps run as bounded local activities (a run of short steps is
 * one workflow task); before it, webhooks were regular activities and computer steps always local.
 */
const LOCAL_SHORT_STEPS = 'local-short-steps-v1';
/** Patch id: agent steps run the durable agent loop (before it they failed with agent_unavailable). */
const AGENT_LOOP = 'agent-loop-v1';
const remote = proxyActivities<RunActivities>(remoteStepOptions);
const local = proxyLocalActivities<RunActivities>(localStepOptions);

/**
 * Runs one executing step where it belongs: a short step as a bounded local activity (continued as a
 * regular activity if it reaches the bound), a long one as a regular activity with heartbeats.
 */
async function executeStepActivity(
  callArgs: ExecuteStepArgs,
  summary: string,
  has: (patchId: string) => boolean,
): Promise<unknown> {
  const { step } = callArgs;
  if (!has(LOCAL_SHORT_STEPS)) {
    return step.kind === 'computer'
      ? local.executeStep.executeWithOptions({ ...localStepOptions, summary }, [callArgs])
      : remote.executeStep.executeWithOptions({ ...remoteStepOptions, summary }, [callArgs]);
  }
  if (stepPlacement(step) !== 'local') {
    return remote.executeStep.executeWithOptions({ ...remoteStepOptions, summary }, [callArgs]);
  }
  try {
    return await local.executeStep.executeWithOptions({ ...boundedLocalOptions, summary }, [
      { ...callArgs, localBoundMs: LOCAL_STEP_BOUND_MS },
    ]);
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (!(cause instanceof ApplicationFailure && cause.type === EXCEEDED_LOCAL_BOUND)) throw err;
    // Slower than a short step: again as a regular activity, whose heartbeats carry a cancellation in.
    return remote.executeStep.executeWithOptions(
      { ...remoteStepOptions, summary: `${summary}, continued as an activity` },
      [callArgs],
    );
  }
}

/**
 * One run of a runner: walks the snapshotted steps in order, resolving each step's input from the run
 * context with JSONPath, executing it (short webhook/computer steps as bounded local activities, long
 * ones and agent steps as regular activities, conditions inline), and merging its output into the
 * context. The run's database writes ride with the next step's activity; the last step's activity
 * records the run's end. A run of short steps is a single workflow task.
 */
export async function runRunnerWorkflow(args: RunWorkflowInput): Promise<RunWorkflowResult> {
  const { runId, orgId, snapshot } = args;
  const steps = snapshot.steps;
  const context: RunContext = { input: args.input ?? null, steps: {} };
  let status: RunStatus = 'running';
  let currentStep: number | null = null;
  let lastOutput: unknown = null;
  let inFlight: { index: number; input: unknown } | null = null;
  const pending: PersistOp[] = [
    args.recordedAfterStart === true ? { op: 'runStarted', recordedAfterStart: true } : { op: 'runStarted' },
  ];

  setHandler(progressQuery, () => ({ status, currentStep, context }));
  // Runs started with a shape have every change up to it; only older runs ask patched() (RUN_SHAPE).
  const has = (patchId: string): boolean => (args.shape ?? 0) >= 1 || patched(patchId);

  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const ops = pending.splice(0, pending.length);
    await persist.persistRun({ runId, orgId, ops, context, currentStep });
  };

  // Budget enforcement: the agent loop calls `budget.beforeModelCall`/`afterModelCall` around each model call.
  const budget = createBudgetController(snapshot.budget, {
    runId,
    orgId,
    runnerId: args.runnerId,
    persist: async (ops) => {
      pending.push(...ops);
      await flush();
    },
    setStatus: (s) => {
      status = s;
    },
  });

  const skipFrom = (from: number): void => {
    for (let j = from; j < steps.length; j++) {
      const s = steps[j];
      if (s) context.steps[s.name] = { output: null, status: 'skipped' };
    }
    if (from < steps.length) pending.push({ op: 'stepsSkipped', fromIndex: from });
  };

  const finish = async (final: 'completed' | 'failed' | 'cancelled', error: StepError | null) => {
    status = final;
    const output = final === 'completed' ? lastOutput : null;
    pending.push({ op: 'runFinished', status: final, output, error });
    if (final !== 'cancelled') await budget.settle();
    await flush();
    upsertSearchAttributes([{ key: RunStatusKey, value: final }]);
    if (final === 'failed' && error)
      await reflectAfterFailure({ runId, orgId, runnerId: args.runnerId, error }, snapshot.runner.reflectOnFailure);
    return { status: final, output, error };
  };

  try {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i] as StepSnapshot;
      currentStep = i;
      let input: unknown;
      try {
        input = resolveInput(step.inputMapping, context);
      } catch (e) {
        const error: StepError = { code: 'input_mapping_error', message: (e as Error).message, step: step.name };
        context.steps[step.name] = { output: null, status: 'failed' };
        pending.push({ op: 'stepFinished', index: i, status: 'failed', input: null, error });
        skipFrom(i + 1);
        return await finish('failed', error);
      }

      if (step.kind === 'condition') {
        const value = firstMatch(step.conditionExpr ?? '$', context);
        const passed = isTruthyConditionValue(value);
        const output = { value: value === undefined ? null : value, passed };
        context.steps[step.name] = { output, status: 'completed' };
        lastOutput = output;
        pending.push({
          op: 'stepFinished',
          index: i,
          status: 'completed',
          input: { conditionExpr: step.conditionExpr },
          output,
        });
        if (!passed) {
          skipFrom(i + 1);
          break;
        }
        continue;
      }

      pending.push({ op: 'stepStarted', index: i, input });
      inFlight = { index: i, input };
      const callArgs: ExecuteStepArgs = { runId, orgId, step, input };
      if (has(PERSIST_WITH_STEP)) {
        // The pending writes ride along with the step's own activity (one activity instead of two).
        callArgs.persist = {
          runId,
          orgId,
          ops: pending.splice(0, pending.length),
          context: { input: context.input, steps: { ...context.steps } },
          currentStep,
        };
      } else {
        await flush();
      }
      const agentLoop = step.kind === 'agent' && has(AGENT_LOOP);
      const lastWithNothingPending = i === steps.length - 1 && pending.length === 0;
      const finalizes = !agentLoop && lastWithNothingPending && has(FINALIZE_WITH_LAST_STEP);
      if (finalizes) callArgs.finalize = { index: i, context: { input: context.input, steps: { ...context.steps } } };
      // An agent step finalizes from its last model call (shape ≥ 3) unless a budget may still owe a warning
      // webhook, which the run's end waits for (budget.settle()).
      const agentFinalizes = agentLoop && lastWithNothingPending && (args.shape ?? 0) >= 3 && !budget.limited();
      let finalized = false;
      const summary = `${step.name} (${step.kind})`;
      let output: unknown;
      try {
        if (agentLoop) {
          const outcome = await runAgentStep(
            {
              runId,
              orgId,
              runnerId: args.runnerId,
              stepIndex: i,
              step,
              input,
              snapshot,
              persist: callArgs.persist,
              localBookkeeping: (args.shape ?? 0) >= 2,
              localModelCalls: (args.shape ?? 0) >= 3,
              prepareWithFirstCall: (args.shape ?? 0) >= 3 && !budget.limited(),
              ...(agentFinalizes
                ? { finalize: { index: i, input, context: { input: context.input, steps: { ...context.steps } } } }
                : {}),
            },
            budget,
          );
          output = outcome.output;
          finalized = outcome.finalized;
        } else {
          output = await executeStepActivity(callArgs, summary, has);
          finalized = finalizes;
        }
      } catch (err) {
        if (isCancellation(err)) throw err;
        const error = toStepError(err, step);
        inFlight = null;
        context.steps[step.name] = { output: null, status: 'failed' };
        pending.push({ op: 'stepFinished', index: i, status: 'failed', input, error });
        skipFrom(i + 1);
        return await finish('failed', error);
      }
      inFlight = null;
      context.steps[step.name] = { output, status: 'completed' };
      lastOutput = output;
      if (finalized) {
        // The activity has recorded the step, the context and the run's completion.
        status = 'completed';
        upsertSearchAttributes([{ key: RunStatusKey, value: 'completed' }]);
        return { status: 'completed', output, error: null };
      }
      pending.push({ op: 'stepFinished', index: i, status: 'completed', input, output });
    }
    return await finish('completed', null);
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(async () => {
      const error: StepError = { code: 'cancelled', message: 'The run was cancelled' };
      let from = currentStep ?? 0;
      if (inFlight) {
        const s = steps[inFlight.index];
        error.step = s?.name;
        if (s) context.steps[s.name] = { output: null, status: 'failed' };
        pending.push({ op: 'stepFinished', index: inFlight.index, status: 'failed', input: inFlight.input, error });
        from = inFlight.index + 1;
      }
      skipFrom(from);
      await finish('cancelled', error.step ? error : { code: 'cancelled', message: 'The run was cancelled' });
    });
    throw err;
  }
}

function toStepError(err: unknown, step: StepSnapshot): StepError {
  let cause: unknown = err;
  if (err instanceof ActivityFailure && err.cause) cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    return { code: isFailureCode(cause.type) ? cause.type : 'step_failed', message: cause.message, step: step.name };
  }
  if (cause instanceof TimeoutFailure) {
    return {
      code: step.kind === 'webhook' ? 'webhook_timeout' : 'step_failed',
      message: `Step "${step.name}" timed out (${cause.timeoutType})`,
      step: step.name,
    };
  }
  return { code: 'step_failed', message: (cause as Error)?.message ?? 'step failed', step: step.name };
}
