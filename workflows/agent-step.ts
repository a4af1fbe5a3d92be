/**
 * An agent step, driven by the run's workflow: one activity prepares it (tools, knowledge, system
 * prompt), then each model call is one activity and each tool call another, until the model answers
 * without tool calls or the step's iteration limit is reached. A worker that dies resumes after the
 * last finished call; a call is billed once (its ledger row is keyed by `<runId>:<step>:<n>`).
 *
 * Output: with `outputSchema`, the JSON value the model answered (validated, after at most one
 * repair round); without, `{text: <the final answer>}`.
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import { failure } from '../src/shared/failure-codes';
import type { RunActivities } from '../activities/types';
import type { AgentMessage, AgentStepRecord, CallModelResult } from '../src/shared/agent-types';
import { worstCaseCostOf } from '../src/shared/pricing';
import type { PersistBatch, RunnerSnapshot, StepSnapshot } from '../src/shared/run-types';
import { resolveStepConfig, type ResolvedStepConfig } from '../src/shared/step-config';

/** Budget enforcement plugs in here (`run-runner.ts` passes it); the default does nothing. */
export interface AgentStepHooks {
  /** Before each model call, with its worst-case cost (null when the model has no known price). May wait or throw. */
  beforeModelCall(info: { stepName: string; model: string; callIndex: number; worstCaseUsd: number | null }): Promise<void>;
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
}

const prepareOptions: ActivityOptions = {
  startToCloseTimeout: '3m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 3 },
};
/** Model calls retry 429/5xx/network inside the activity first (honouring Retry-After), then here. */
const modelOptions: ActivityOptions = {
  startToCloseTimeout: '15m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 4 },
};
const toolOptions: ActivityOptions = {
  startToCloseTimeout: '5m',
  heartbeatTimeout: '15s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 3 },
};

const acts = proxyActivities<RunActivities>(modelOptions);

/** The config the step runs with, from the run's frozen snapshot (the spec's merge table). */
export function stepConfigFromSnapshot(snapshot: RunnerSnapshot, step: StepSnapshot): ResolvedStepConfig {
  const d = snapshot.definitions;
  const agent = step.agentId ? (snapshot.agents?.[step.agentId] ?? null) : null;
  if (step.agentId && !agent) {
    throw failure('step_failed', `Step "${step.name}" references agent ${step.agentId}, which this run's snapshot does not hold`);
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
export async function runAgentStep(args: AgentStepArgs, hooks: AgentStepHooks = noopAgentStepHooks): Promise<unknown> {
  const { step, runId, orgId, runnerId, stepIndex } = args;
  const config = stepConfigFromSnapshot(args.snapshot, step);
  const base = { runId, orgId, runnerId, stepName: step.name, stepIndex };
  const prepared = await acts.prepareAgentStep.executeWithOptions({ ...prepareOptions, summary: `${step.name}: prepare` }, [
    { ...base, input: args.input, config, outputSchema: step.outputSchema, persist: args.persist },
  ]);
  const { model, tools } = prepared;
  const messages: AgentMessage[] = [{ role: 'user', content: prepared.userMessage }];
  let record: AgentStepRecord = prepared.record;
  let repaired = false;

  for (let callIndex = 1; ; callIndex++) {
    const promptTokens = prepared.promptTokenEstimate + Math.ceil(JSON.stringify(messages.slice(1)).length / 4);
    await hooks.beforeModelCall({
      stepName: step.name,
      model,
      callIndex,
      worstCaseUsd: worstCaseCostOf(prepared.price, promptTokens, prepared.maxTokens),
    });
    record = { ...record, modelCalls: callIndex };
    const r: CallModelResult = await acts.callModel.executeWithOptions(
      { ...modelOptions, summary: `${step.name}: ${model} call ${callIndex}` },
      [{ ...base, callIndex, model, system: prepared.system, messages, tools, maxTokens: prepared.maxTokens, outputSchema: step.outputSchema, record }],
    );
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
        r.toolCalls.map((call) =>
          acts.callTool.executeWithOptions({ ...toolOptions, summary: `${step.name}: tool ${call.name}` }, [
            { ...base, call, stepInput: args.input, config, tools, record: { plan: record.plan } },
          ]),
        ),
      );
      r.toolCalls.forEach((call, i) => {
        const res = results[i];
        if (!res) return;
        messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: res.content, isError: res.isError });
        if (res.recordPatch?.plan) record = { ...record, plan: res.recordPatch.plan };
      });
      record = { ...record, toolCalls: record.toolCalls + r.toolCalls.length };
      continue;
    }

    if (!step.outputSchema) return { text: r.text ?? '' };
    if (r.output?.ok) return r.output.value;
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
