/**
 * An agent step, driven by the run's workflow: one activity prepares it (tools, knowledge, system
 * prompt), then each model call is one activity and each tool call another, until the model answers
 * without tool calls or the step's iteration limit is reached. A worker that dies resumes after the
 * last finished call; a call is billed once (its ledger row is keyed by `<runId>:<step>:<n>`).
 *
 * Output: with `outputSchema`, the JSON value the model answered (validated, after at most one
 * repair round); without, `{text: <the final answer>}`.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  workflowInfo,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import { failure } from '../src/shared/failure-codes';
import type { RunActivities } from '../activities/types';
import {
  finalOutput,
  type AgentFinalize,
  type AgentMessage,
  type AgentStepRecord,
  type CallModelArgs,
  type CallModelResult,
  type CallToolArgs,
  type CallToolResult,
  type PrepareAgentStepArgs,
  type PreparedAgentStep,
} from '../src/shared/agent-types';
import { worstCaseCostOf } from '../src/shared/pricing';
import type { PersistBatch, RunnerSnapshot, StepSnapshot } from '../src/shared/run-types';
import { resolveStepConfig, type ResolvedStepConfig } from '../src/shared/step-config';
import {
  CANCEL_ANNOUNCED,
  EXCEEDED_LOCAL_BOUND,
  LOCAL_STEP_BOUND_MS,
  MODEL_CALL_SUPERSEDED,
} from '../src/shared/step-placement';

/** Budget enforcement plugs in here (`run-runner.ts` passes it); the default does nothing. */
export interface AgentStepHooks {
  /** Before each model call, with its worst-case cost (null when the model has no known price). May wait or throw. */
  beforeModelCall(info: {
    stepName: string;
    model: string;
    callIndex: number;
    worstCaseUsd: number | null;
  }): Promise<void>;
  /** After each model call, with its actual cost (null when unknown). */
  afterModelCall(info: { stepName: string; costUsd: number | null }): void;
}

export const noopAgentStepHooks: AgentStepHooks = {
  beforeModelCall: async () => undefined,
  afterModelCall: () => undefined,
};

export interface AgentStepArgs {
  runId: string;
  orgId: string;
  runnerId: string;
  stepIndex: number;
  step: StepSnapshot;
  input: unknown;
  snapshot: RunnerSnapshot;
  /** Writes the workflow had pending (the step's start among them); they ride along with the first activity. */
  persist?: PersistBatch;
  /**
   * Run shape ≥ 2: the step's preparation and its tool calls run as bounded local activities (inside the
   * workflow task that follows a model call), continued as regular activities if they reach the bound.
   * Older runs schedule them as regular activities, as they did when they started.
   */
  localBookkeeping?: boolean;
  /**
   * Run shape ≥ 3: each model call is a local activity too, so a step of short calls is one workflow task
   * (a cancel reaches an in-flight call through the cancel announcement, src/db/run-cancel.ts). Older runs
   * call the model as a regular activity, as they did when they started.
   */
  localModelCalls?: boolean;
  /**
   * Shape ≥ 3, the run's last step with nothing else pending: the call whose answer ends the step records
   * the step's output and the run's completion with its ledger row (`CallModelArgs.finalize`), and
   * `runAgentStep` then reports `finalized`.
   */
  finalize?: AgentFinalize;
  /**
   * Shape ≥ 3 and no USD limit (the budget check before the first call then needs nothing from the
   * preparation): a locally prepared step makes its first model call in the same local activity.
   */
  prepareWithFirstCall?: boolean;
}

export interface AgentStepOutcome {
  output: unknown;
  /** The step's output and the run's completion are recorded already (see `AgentStepArgs.finalize`). */
  finalized: boolean;
}

/**
 * Attempts are sized to ride out a database or network outage of about a minute (1+2+4+8+15+15+15 s
 * between attempts): final errors (bad config, unknown model) are non-retryable and end the step at once,
 * so only transient failures use them. `npm run chaos` found 3 attempts too few for a 10 s outage.
 */
const prepareOptions: ActivityOptions = {
  startToCloseTimeout: '3m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '15s', maximumAttempts: 8 },
};
/** Model calls retry 429/5xx/network inside the activity first (honouring Retry-After), then here. */
const modelOptions: ActivityOptions = {
  startToCloseTimeout: '15m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 6 },
};
const toolOptions: ActivityOptions = {
  startToCloseTimeout: '5m',
  heartbeatTimeout: '15s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '15s', maximumAttempts: 8 },
};

/**
 * A model call as a local activity: no bound (cutting a call short would pay for it twice); the worker
 * heartbeats the workflow task while it runs. Same retries as the regular activity.
 */
const localModelOptions: LocalActivityOptions = {
  startToCloseTimeout: modelOptions.startToCloseTimeout,
  retry: modelOptions.retry,
};
/** How long the workflow waits for Temporal's cancel after its announcement stopped a local call. */
const ANNOUNCED_CANCEL_WAIT = '1m';

const acts = proxyActivities<RunActivities>(modelOptions);
/** Preparation and tool calls inside the workflow task: they stop themselves at LOCAL_STEP_BOUND_MS. */
const boundedLocalOptions: LocalActivityOptions = {
  // The attempt stops itself at the bound; this only guards an attempt that cannot stop (e.g. an MCP
  // server process still starting), which then continues as a regular activity too.
  startToCloseTimeout: LOCAL_STEP_BOUND_MS + 5_000,
  // One local attempt: its retry is the regular activity below.
  retry: { maximumAttempts: 1 },
};
const localActs = proxyLocalActivities<RunActivities>(boundedLocalOptions);

/**
 * Runs a bounded local attempt of prepare or a tool call, then, if it reached the bound or failed in a
 * way worth retrying, the same call as a regular activity (heartbeating, so a cancel reaches it within
 * about a second, and retried by its own policy).
 */
async function boundedLocalThenRemote<A extends { localBoundMs?: number }, R>(
  name: 'prepareAgentStep' | 'callTool',
  args: A,
  summary: string,
  remoteOptions: ActivityOptions,
): Promise<R> {
  const run = (opts: ActivityOptions | LocalActivityOptions, a: A, local: boolean) =>
    (local ? localActs : acts)[name].executeWithOptions(opts, [a as never]) as Promise<R>;
  try {
    return await run({ ...boundedLocalOptions, summary }, { ...args, localBoundMs: LOCAL_STEP_BOUND_MS }, true);
  } catch (err) {
    if (isCancellation(err)) throw err;
    const cause = err instanceof ActivityFailure ? err.cause : err;
    // A final failure (bad config, unknown model) ends here; anything else — the bound reached, a timeout
    // on a starved machine, a database blip — goes on as a regular activity, which is also the retry.
    const final = cause instanceof ApplicationFailure && cause.nonRetryable && cause.type !== EXCEEDED_LOCAL_BOUND;
    if (final) throw err;
    return run({ ...remoteOptions, summary: `${summary}, continued as an activity` }, args, false);
  }
}

/**
 * One model call: a local activity (shape ≥ 3) or a regular one. A local call stopped by its run's cancel
 * announcement ends the workflow task here (a timer), which lets the server deliver the cancel request:
 * the timer then rejects as cancelled. Should no cancel come (an announcement without one), the call is
 * made again as a regular activity.
 */
async function callModelActivity(args: CallModelArgs, summary: string, local: boolean): Promise<CallModelResult> {
  if (!local) return acts.callModel.executeWithOptions({ ...modelOptions, summary }, [args]);
  return unlessCancelAnnounced(
    () => localActs.callModel.executeWithOptions({ ...localModelOptions, summary }, [args]),
    () =>
      acts.callModel.executeWithOptions({ ...modelOptions, summary: `${summary}, continued as an activity` }, [args]),
  );
}

/**
 * Runs a local model call; if its run's cancel was announced (the call stopped), ends the workflow task
 * with a timer so that the server delivers the cancel request (the timer then rejects as cancelled). If no
 * cancel comes, `fallback` makes the call as regular activities.
 */
async function unlessCancelAnnounced<T>(local: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
  try {
    return await local();
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (!(cause instanceof ApplicationFailure && cause.type === CANCEL_ANNOUNCED)) throw err;
    await sleep(ANNOUNCED_CANCEL_WAIT);
    return fallback();
  }
}

/** The config the step runs with, from the run's frozen snapshot (the spec's merge table). */
export function stepConfigFromSnapshot(snapshot: RunnerSnapshot, step: StepSnapshot): ResolvedStepConfig {
  const d = snapshot.definitions;
  const agent = step.agentId ? (snapshot.agents?.[step.agentId] ?? null) : null;
  if (step.agentId && !agent) {
    throw failure(
      'step_failed',
      `Step "${step.name}" references agent ${step.agentId}, which this run's snapshot does not hold`,
    );
  }
  return resolveStepConfig(
    {
      learnedInstructions: snapshot.runner.learnedInstructions,
      defaultModel: snapshot.runner.defaultModel,
      mcpServers: d?.mcpServers ?? [],
      integrations: d?.integrations ?? [],
      tools: d?.tools ?? [],
      skills: d?.skills ?? [],
      webConfig: snapshot.connections.webConfig,
      planEnabled: snapshot.connections.planConfig?.enabled ?? false,
    },
    agent,
    { preambleOverride: step.preambleOverride, modelOverride: step.modelOverride },
  );
}

const REPAIR_PROMPT = (errors: string[]) =>
  `Your answer does not match the required JSON Schema:\n- ${errors.join('\n- ')}\n` +
  'Answer again with only the corrected JSON value.';

/** Runs one agent step; returns its output. Failures are made by `failure()` (src/shared/failure-codes.ts). */
export async function runAgentStep(
  args: AgentStepArgs,
  hooks: AgentStepHooks = noopAgentStepHooks,
): Promise<AgentStepOutcome> {
  const { step, runId, orgId, runnerId, stepIndex } = args;
  const config = stepConfigFromSnapshot(args.snapshot, step);
  const base = { runId, orgId, runnerId, stepName: step.name, stepIndex };
  const prepareArgs: PrepareAgentStepArgs = {
    ...base,
    input: args.input,
    config,
    outputSchema: step.outputSchema,
    persist: args.persist,
  };
  const prepareSummary = `${step.name}: prepare`;
  // Starting MCP servers (a process to spawn, a remote to reach) is the one part of preparing that is
  // often slower than the bound: with MCP servers attached, preparation stays a regular activity rather
  // than start them twice.
  const prepareLocally = args.localBookkeeping === true && config.mcpServers.length === 0;
  // The run's first workflow task, first attempt: nothing of it has run before (see CallModelArgs.firstTask).
  const firstTask = (): { firstTask?: true } =>
    args.localModelCalls && workflowInfo().historyLength === 3 ? { firstTask: true } : {};
  const finalize = args.finalize && args.localModelCalls ? { finalize: args.finalize } : {};
  const prepareRemotely = () =>
    acts.prepareAgentStep.executeWithOptions({ ...prepareOptions, summary: prepareSummary }, [prepareArgs]);
  let prepared: PreparedAgentStep;
  /** The first call's answer when it was made together with the preparation. */
  let firstAnswer: CallModelResult | null = null;
  if (prepareLocally && args.prepareWithFirstCall && args.localModelCalls && config.model) {
    const summary = `${step.name}: prepare, ${config.model} call 1`;
    const both = await unlessCancelAnnounced<{ prepared: PreparedAgentStep; result: CallModelResult | null }>(
      () =>
        localActs.prepareAndCallModel.executeWithOptions({ ...localModelOptions, summary }, [
          { prepare: prepareArgs, call: { ...finalize, ...firstTask() } },
        ]),
      async () => ({ prepared: await prepareRemotely(), result: null }),
    );
    prepared = both.prepared;
    firstAnswer = both.result;
  } else {
    prepared = prepareLocally
      ? await boundedLocalThenRemote('prepareAgentStep', prepareArgs, prepareSummary, prepareOptions)
      : await prepareRemotely();
  }
  const { model, tools } = prepared;
  const messages: AgentMessage[] = [{ role: 'user', content: prepared.userMessage }];
  let record: AgentStepRecord = prepared.record;
  let repaired = false;

  for (let callIndex = 1; ; callIndex++) {
    const promptTokens = prepared.promptTokenEstimate + Math.ceil(JSON.stringify(messages.slice(1)).length / 4);
    record = { ...record, modelCalls: callIndex };
    let r: CallModelResult;
    if (callIndex === 1 && firstAnswer) {
      // Made with the preparation (no USD limit, so the check before it had nothing to refuse).
      r = firstAnswer;
    } else {
      await hooks.beforeModelCall({
        stepName: step.name,
        model,
        callIndex,
        worstCaseUsd: worstCaseCostOf(prepared.price, promptTokens, prepared.maxTokens),
      });
      r = await callModelActivity(
        {
          ...base,
          callIndex,
          model,
          system: prepared.system,
          messages,
          tools,
          maxTokens: prepared.maxTokens,
          outputSchema: step.outputSchema,
          record,
          maxIterations: prepared.maxIterations,
          ...finalize,
          ...firstTask(),
        },
        `${step.name}: ${model} call ${callIndex}`,
        args.localModelCalls === true,
      );
    }
    if (r.costUsd === null) record = { ...record, costUnknown: true };
    hooks.afterModelCall({ stepName: step.name, costUsd: r.costUsd });

    if (r.toolCalls.length > 0) {
      if (callIndex >= prepared.maxIterations) {
        // No call is left to read the tools' results: running them would be wasted work.
        throw failure(
          'agent_iteration_limit',
          `Step "${step.name}" made ${prepared.maxIterations} model calls (its limit) without a final answer`,
        );
      }
      messages.push({ role: 'assistant', content: r.text, toolCalls: r.toolCalls });
      const results = await Promise.all(
        r.toolCalls.map((call) => {
          const toolArgs: CallToolArgs = {
            ...base,
            call,
            stepInput: args.input,
            config,
            tools,
            record: { plan: record.plan },
            // The call answered before its ledger row was in: the tool call sees that it is (or writes it).
            ...(r.ledger
              ? {
                  ledger: {
                    ...r.ledger,
                    answer: { text: r.text, toolCalls: r.toolCalls, stopReason: r.stopReason, usage: r.usage },
                  },
                }
              : {}),
          };
          const summary = `${step.name}: tool ${call.name}`;
          return args.localBookkeeping
            ? boundedLocalThenRemote<CallToolArgs, CallToolResult>('callTool', toolArgs, summary, toolOptions)
            : acts.callTool.executeWithOptions({ ...toolOptions, summary }, [toolArgs]);
        }),
      ).catch((err: unknown) => {
        // Another attempt of the model call recorded a different answer first (two workers on one task):
        // a plain error fails this workflow task, and its retry reads the recorded answer.
        const cause = err instanceof ActivityFailure ? err.cause : err;
        if (cause instanceof ApplicationFailure && cause.type === MODEL_CALL_SUPERSEDED) {
          throw new Error(`${cause.message}: retrying the workflow task`);
        }
        throw err;
      });
      r.toolCalls.forEach((call, i) => {
        const res = results[i];
        if (!res) return;
        messages.push({
          role: 'tool',
          toolCallId: call.id,
          name: call.name,
          content: res.content,
          isError: res.isError,
        });
        if (res.recordPatch?.plan) record = { ...record, plan: res.recordPatch.plan };
      });
      record = { ...record, toolCalls: record.toolCalls + r.toolCalls.length };
      continue;
    }

    const done = finalOutput(r, step.outputSchema);
    if (done) return { output: done.value, finalized: r.finalized === true };
    const errors = r.output && !r.output.ok ? r.output.errors : ['the model gave no answer'];
    if (repaired || callIndex >= prepared.maxIterations) {
      const round = repaired ? ' after one repair round' : '';
      throw failure(
        'output_schema_mismatch',
        `Output of step "${step.name}" does not match its outputSchema${round}: ${errors.slice(0, 5).join('; ')}`,
        { details: [errors] },
      );
    }
    repaired = true;
    messages.push({ role: 'assistant', content: r.text }, { role: 'user', content: REPAIR_PROMPT(errors) });
  }
}
