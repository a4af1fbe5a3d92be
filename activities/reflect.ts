/**
 * `reflectOnFailure` (opt-in per runner): after a run failed, ask the model for one short lesson and
 * append it to the runner's `learnedInstructions` (see src/agent/reflect.ts for the format and caps).
 *
 * - The model is the failed step's (`modelOverride`, else its agent's, else the runner's `defaultModel`),
 *   or the runner's `defaultModel` when the failure was not in an agent step; none → nothing to do.
 * - The setting is checked again on the live runner: switching it off stops reflections of runs that
 *   are still finishing.
 * - Exactly once per run: the call is booked in the cost ledger under `<runId>:reflect`, in the same
 *   transaction as the append (the runner row locked), so a retried activity never appends twice and a
 *   call already booked is never made again.
 * - Best effort: a provider that is not configured or a model that fails is logged and reported, never
 *   turning the run's outcome into anything else (the run is already recorded as failed).
 */
import { failure } from '../src/shared/failure-codes';
import type { Logger } from '../src/config/logger';
import type { PrismaClient } from '../src/db/client';
import { withOrg } from '../src/db/scoped';
import { appendLesson, cleanLesson, reflectionPrompt, splitLessons } from '../src/agent/reflect';
import type { LlmProvider } from '../src/llm/types';
import { costOf, priceOf, PRICE_TABLE_VERSION, type PriceOverrides } from '../src/shared/pricing';
import type { RunnerSnapshot, StepError } from '../src/shared/run-types';

export interface ReflectArgs {
  runId: string;
  orgId: string;
  runnerId: string;
  error: StepError;
}

export interface ReflectResult {
  appended: boolean;
  lesson?: string;
  /** Why nothing was appended. */
  reason?: 'disabled' | 'no_model' | 'already_done' | 'no_lesson' | 'duplicate' | 'model_failed';
}

export interface ReflectDeps {
  db: PrismaClient;
  log: Logger;
  /** The provider a model name picks, and the provider's own model name; throws when not configured. */
  routeModel(model: string): { provider: LlmProvider; model: string };
  priceOverrides?: PriceOverrides;
}

export const REFLECT_STEP_NAME = '(reflect on failure)';
const callKeyOf = (runId: string): string => `${runId}:reflect`;

interface RunFacts {
  runnerName: string;
  reflect: boolean;
  learned: string | null;
  defaultModel: string | null;
  snapshot: RunnerSnapshot | null;
  stepInput: unknown;
  stepKind: string | null;
  apiKeyId: string | null;
  triggerKind: string | null;
  triggerId: string | null;
  booked: boolean;
}

const nonEmpty = (s: string | null | undefined): s is string => typeof s === 'string' && s.trim() !== '';

/** The model a reflection uses: the failed agent step's, else the runner's default. */
export function reflectionModel(
  snapshot: RunnerSnapshot | null,
  stepName: string | undefined,
  liveDefault: string | null,
): string | null {
  const step = stepName ? snapshot?.steps.find((s) => s.name === stepName) : undefined;
  if (step?.kind === 'agent') {
    if (nonEmpty(step.modelOverride)) return step.modelOverride;
    const agentModel = step.agentId ? snapshot?.agents?.[step.agentId]?.model : null;
    if (nonEmpty(agentModel)) return agentModel;
  }
  if (nonEmpty(snapshot?.runner.defaultModel)) return snapshot.runner.defaultModel;
  return nonEmpty(liveDefault) ? liveDefault : null;
}

export function createReflectActivities(deps: ReflectDeps) {
  async function loadFacts(args: ReflectArgs): Promise<RunFacts | null> {
    return withOrg(deps.db, args.orgId, async (tx) => {
      const rows = await tx.$queryRaw<
        {
          name: string;
          reflect_on_failure: boolean;
          learned_instructions: string | null;
          default_model: string | null;
          snapshot: unknown;
          api_key_id: string | null;
          trigger_kind: string | null;
          trigger_id: string | null;
          step_input: unknown;
          step_kind: string | null;
          booked: boolean;
        }[]
      >`
        SELECT r.name, r.reflect_on_failure, r.learned_instructions, r.default_model, run.snapshot,
               run.api_key_id::text AS api_key_id, run.trigger_kind, run.trigger_id::text AS trigger_id,
               s.input AS step_input, s.kind AS step_kind,
               EXISTS (SELECT 1 FROM model_calls m WHERE m.call_key = ${callKeyOf(args.runId)}) AS booked
          FROM runner_runs run
          JOIN runners r ON r.id = run.runner_id
          LEFT JOIN runner_run_steps s ON s.run_id = run.id AND s.name = ${args.error.step ?? null}
         WHERE run.id = ${args.runId}::uuid`;
      const row = rows[0];
      if (!row) return null;
      return {
        runnerName: row.name,
        reflect: row.reflect_on_failure,
        learned: row.learned_instructions,
        defaultModel: row.default_model,
        snapshot: (row.snapshot ?? null) as RunnerSnapshot | null,
        stepInput: row.step_input ?? undefined,
        stepKind: row.step_kind,
        apiKeyId: row.api_key_id,
        triggerKind: row.trigger_kind,
        triggerId: row.trigger_id,
        booked: row.booked,
      };
    });
  }

  async function reflectOnFailure(args: ReflectArgs): Promise<ReflectResult> {
    const facts = await loadFacts(args);
    if (!facts || !facts.reflect) return { appended: false, reason: 'disabled' };
    if (facts.booked) return { appended: false, reason: 'already_done' };
    const model = reflectionModel(facts.snapshot, args.error.step, facts.defaultModel);
    if (!model) return { appended: false, reason: 'no_model' };

    let route: { provider: LlmProvider; model: string };
    try {
      route = deps.routeModel(model);
    } catch (e) {
      deps.log.warn({ runId: args.runId, model, err: (e as Error).message }, 'reflectOnFailure: model not available');
      return { appended: false, reason: 'model_failed' };
    }
    const { system, user } = reflectionPrompt(
      {
        runnerName: facts.runnerName,
        stepName: args.error.step ?? null,
        stepKind: facts.stepKind,
        errorCode: args.error.code,
        errorMessage: args.error.message,
        stepInput: facts.stepInput,
      },
      splitLessons(facts.learned).lessons,
    );
    let response: Awaited<ReturnType<LlmProvider['chat']>>;
    try {
      response = await route.provider.chat({
        model: route.model,
        system,
        messages: [{ role: 'user', content: user }],
        maxTokens: 200,
        temperature: 0,
        idempotencyKey: callKeyOf(args.runId),
      });
    } catch (e) {
      const err = e as { retryable?: boolean; message?: string };
      if (err.retryable) throw e; // 429/5xx/network: let the activity's retry policy try again
      deps.log.warn({ runId: args.runId, model, err: err.message }, 'reflectOnFailure: the model call failed');
      throw failure('reflection_failed', `Reflection failed: ${err.message ?? 'model error'}`);
    }

    const lesson = cleanLesson(response.text);
    const price = priceOf(model, deps.priceOverrides);
    const cost = price ? costOf(price, response.usage) : null;

    return withOrg(deps.db, args.orgId, async (tx) => {
      const booked = await tx.$queryRaw<{ id: string }[]>`
        INSERT INTO model_calls (id, org_id, runner_id, run_id, step_name, call_key, provider, model, call_index,
                                 input_tokens, output_tokens, cached_tokens, latency_ms, cost_usd, price_version,
                                 api_key_id, trigger_kind, trigger_id, response)
        VALUES (gen_random_uuid(), ${args.orgId}::uuid, ${args.runnerId}::uuid, ${args.runId}::uuid, ${REFLECT_STEP_NAME},
                ${callKeyOf(args.runId)}, ${response.provider}, ${model}, 0,
                ${response.usage.inputTokens}, ${response.usage.outputTokens}, ${response.usage.cachedTokens},
                ${Math.round(response.latencyMs)}, ${cost}::numeric, ${price ? PRICE_TABLE_VERSION : null},
                ${facts.apiKeyId}::uuid, ${facts.triggerKind}, ${facts.triggerId}::uuid,
                ${JSON.stringify({ text: response.text ?? null, lesson })}::jsonb)
        ON CONFLICT (call_key) DO NOTHING
        RETURNING id::text AS id`;
      if (booked.length === 0) return { appended: false, reason: 'already_done' as const };
      // The reflection is part of what the run cost: its cost_usd stays the sum of its ledger rows.
      await tx.$executeRaw`UPDATE runner_runs SET cost_usd = (SELECT COALESCE(SUM(cost_usd), 0) FROM model_calls
                             WHERE run_id = ${args.runId}::uuid) WHERE id = ${args.runId}::uuid`;
      if (!lesson) return { appended: false, reason: 'no_lesson' as const };
      const current = await tx.$queryRaw<{ learned_instructions: string | null }[]>`
        SELECT learned_instructions FROM runners WHERE id = ${args.runnerId}::uuid AND deleted_at IS NULL FOR UPDATE`;
      if (!current[0]) return { appended: false, reason: 'disabled' as const };
      const next = appendLesson(current[0].learned_instructions, lesson);
      if (!next.added) return { appended: false, lesson, reason: 'duplicate' as const };
      await tx.$executeRaw`UPDATE runners SET learned_instructions = ${next.text}, updated_at = now() WHERE id = ${args.runnerId}::uuid`;
      deps.log.info({ runId: args.runId, runnerId: args.runnerId }, 'reflectOnFailure: lesson appended');
      return { appended: true, lesson };
    });
  }

  return { reflectOnFailure };
}
