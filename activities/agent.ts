/**
 * The activities of an agent step (the loop itself is `workflows/agent-step.ts`):
 *
 * - `prepareAgentStep`: checks the model's provider, lists the tools (`buildToolset`), fetches the
 *   knowledge context, builds the system prompt (preamble, skills, knowledge, output format) and the
 *   first user message (the step input as JSON); applies the workflow's pending writes and records
 *   the step's initial record.
 * - `callModel`: one model call. Heartbeats every second, so cancelling the run aborts the HTTP
 *   request within about a second. Idempotent by its call key `<runId>:<step>:<n>`: the answer is
 *   stored with the ledger row, and a retried or replayed call returns it instead of asking (and
 *   paying) the provider again. Writes the `model_calls` row and the step's and run's `costUsd` (sums
 *   of the ledger) in one transaction.
 * - `callTool`: one tool call through `executeTool`; a tool error is a result the model sees.
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import { buildToolset, executeTool, knowledgeContext } from '../src/agent/tools';
import type { ToolContext, ToolsetDeps } from '../src/agent/tool-types';
import type { PrismaClient } from '../src/db/client';
import { withSqlClient } from '../src/db/scoped';
import { ensurePrepared, preparedStatement, resultSets, Sql } from '../src/db/sql-batch';
import { routeModel, createLlmClients, type LlmClients } from '../src/llm/router';
import { LlmError, type ChatResponse, type LlmSettings } from '../src/llm/types';
import { validateAgainst } from '../src/validation/json-schema';
import {
  type AgentStepRecord,
  type CallModelArgs,
  type CallModelResult,
  type CallToolArgs,
  type CallToolResult,
  type DeferredLedgerRow,
  finalOutput,
  type LedgerAnswer,
  type PrepareAgentStepArgs,
  type PrepareAndCallModelArgs,
  type PreparedAgentStep,
  type PreparedFirstCall,
} from '../src/shared/agent-types';
import { failure, type FailureCode } from '../src/shared/failure-codes';
import { costOf, PRICE_TABLE_VERSION, priceOf, type PriceOverrides } from '../src/shared/pricing';
import type { PersistBatch } from '../src/shared/run-types';
import type { ResolvedStepConfig } from '../src/shared/step-config';
import { CANCEL_ANNOUNCED, EXCEEDED_LOCAL_BOUND, MODEL_CALL_SUPERSEDED } from '../src/shared/step-placement';
import type { RunCancelWatch } from '../src/db/run-cancel';
import { persistStatements } from './persistence';
import type { RunWrites } from './run-writes';
import { recordToolCall } from './tool-ledger';

export interface AgentLimits {
  /** `max_tokens` of each model call. */
  maxTokens: number;
  /** Model calls allowed per step. */
  maxIterations: number;
}

export const DEFAULT_AGENT_LIMITS: AgentLimits = { maxTokens: 4096, maxIterations: 10 };

export interface AgentActivityDeps {
  db: PrismaClient;
  llm: LlmSettings;
  priceOverrides?: PriceOverrides;
  limits?: Partial<AgentLimits>;
  tools: ToolsetDeps;
  persistRun: (batch: PersistBatch) => Promise<void>;
  /** Cancel announcements (src/db/run-cancel.ts): how a local model call learns of a cancel at once. */
  cancelWatch?: RunCancelWatch;
  /** The writes left in flight per run (tool-call bookings, deferred ledger rows): activities/run-writes.ts. */
  runWrites: RunWrites;
}

/** A model call's ledger row and the step's and run's cost sums, as one transaction writes them. */
interface LedgerWrite extends DeferredLedgerRow {
  runId: string;
  orgId: string;
  stepName: string;
  stepIndex: number;
  answer: LedgerAnswer;
}

const callKeyOf = (runId: string, stepName: string, callIndex: number) => `${runId}:${stepName}:${callIndex}`;

/** Whether the ledger recorded another attempt's answer for the call, not `answer`. */
const superseded = (recorded: { response?: CallModelResult } | undefined, answer: LedgerAnswer): boolean =>
  recorded?.response !== undefined && differs(recorded.response, answer);

const fail = (code: FailureCode, message: string, nonRetryable = true, details?: unknown[]) =>
  failure(code, message, { retryable: !nonRetryable, ...(details ? { details } : {}) });

/** Maps a provider failure to the step's failure (retryable ones go back to the activity's retry policy). */
function toFailure(e: unknown, model: string): Error {
  if (!(e instanceof LlmError)) return e as Error;
  switch (e.kind) {
    case 'not_configured':
      return fail('provider_not_configured', e.message);
    case 'unknown_model':
      return fail('unknown_model', e.message);
    case 'aborted':
      return new CancelledFailure('The model request was cancelled');
    default:
      return fail('provider_error', `Model "${model}": ${e.message}`, !e.retryable);
  }
}

/**
 * Heartbeats every second while `fn` runs, with an AbortSignal that fires when the activity is cancelled.
 * A local attempt cannot heartbeat (cancellation reaches it through the workflow task); with `boundMs`
 * its signal also fires at the bound, and the attempt fails with `EXCEEDED_LOCAL_BOUND` so the workflow
 * continues it as a regular, heartbeating activity (see src/shared/step-placement.ts).
 */
async function heartbeating<T>(fn: (signal: AbortSignal) => Promise<T>, boundMs?: number): Promise<T> {
  const ctx = Context.current();
  if (ctx.info.isLocal) return withinLocalBound(ctx, fn, boundMs);
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), 1_000);
  try {
    return await fn(ctx.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}

async function withinLocalBound<T>(
  ctx: Context,
  fn: (signal: AbortSignal) => Promise<T>,
  boundMs?: number,
): Promise<T> {
  if (boundMs === undefined) return fn(ctx.cancellationSignal);
  const bound = new AbortController();
  const timer = setTimeout(() => bound.abort(new Error('local bound reached')), boundMs);
  const exceeded = () =>
    bound.signal.aborted && !ctx.cancellationSignal.aborted
      ? failure(
          EXCEEDED_LOCAL_BOUND,
          `Took longer than ${boundMs} ms as a local activity; continuing as a regular activity`,
        )
      : null;
  try {
    const result = await fn(AbortSignal.any([ctx.cancellationSignal, bound.signal]));
    // A result produced after the abort may be a tool's "aborted" error result: run it again instead.
    const over = exceeded();
    if (over) throw over;
    return result;
  } catch (e) {
    throw exceeded() ?? e;
  } finally {
    clearTimeout(timer);
  }
}

const estimateTokens = (chars: number): number => Math.ceil(chars / 4);

/** The answer's JSON: the whole text, or the body of a ```json fence. */
export function parseJsonAnswer(text: string | null): { ok: true; value: unknown } | { ok: false; errors: string[] } {
  const t = (text ?? '').trim();
  const fenced = /^```(?:json)?\s*\n?([\s\S]*?)\n?```$/i.exec(t);
  try {
    return { ok: true, value: JSON.parse(fenced ? (fenced[1] ?? '') : t) };
  } catch (e) {
    return { ok: false, errors: [`the answer is not JSON: ${(e as Error).message}`] };
  }
}

export function buildSystemPrompt(
  config: ResolvedStepConfig,
  knowledge: string,
  outputSchema: Record<string, unknown> | null,
): string {
  const parts: string[] = [];
  if (config.preamble.trim()) parts.push(config.preamble.trim());
  const skills = config.skills.filter((s) => s.instructions.trim());
  if (skills.length) {
    parts.push(['# Skills', ...skills.map((s) => `## ${s.name}\n${s.instructions.trim()}`)].join('\n\n'));
  }
  if (knowledge.trim()) parts.push(knowledge.trim());
  parts.push(
    outputSchema
      ? `The user message is this step's input, as JSON. Your final answer must be only a JSON value (no prose, no code fence) matching this JSON Schema:\n${JSON.stringify(outputSchema)}`
      : "The user message is this step's input, as JSON. Your final answer is the step's output.",
  );
  return parts.join('\n\n');
}

/** With `args.finalize` and an answer that ends the step: the writes of the step's and the run's end. */
function finalBatch(args: CallModelArgs, r: CallModelResult): PersistBatch | null {
  const f = args.finalize;
  const out = f ? finalOutput(r, args.outputSchema) : null;
  if (!f || !out) return null;
  return {
    runId: args.runId,
    orgId: args.orgId,
    ops: [
      { op: 'stepFinished', index: f.index, status: 'completed', input: f.input, output: out.value },
      { op: 'runFinished', status: 'completed', output: out.value, error: null },
    ],
    context: {
      ...f.context,
      steps: { ...f.context.steps, [args.stepName]: { output: out.value, status: 'completed' } },
    },
    currentStep: f.index,
    onlyIfActive: true,
  };
}

export function createAgentActivities(deps: AgentActivityDeps) {
  const limits: AgentLimits = { ...DEFAULT_AGENT_LIMITS, ...deps.limits };
  const clients: LlmClients = createLlmClients(deps.llm);
  const price = (model: string, reported?: string) =>
    priceOf(model, deps.priceOverrides) ?? (reported ? priceOf(reported, deps.priceOverrides) : null);

  const writes = deps.runWrites;

  /**
   * Writes a call's ledger row (first answer wins: `ON CONFLICT DO NOTHING`), then the step's record and
   * both cost sums, and with `done` the step's and the run's end (only if this answer is the one recorded);
   * returns the recorded answer.
   */
  async function writeLedger(
    w: LedgerWrite,
    done: PersistBatch | null,
  ): Promise<{ response?: CallModelResult; cost_usd?: string | null } | undefined> {
    const callKey = callKeyOf(w.runId, w.stepName, w.callIndex);
    return withSqlClient(deps.db, async (c) => {
      const q = new Sql(c);
      const run = q.lit(w.runId);
      const step = q.lit(w.stepName);
      // The step's and the run's end ride with the ledger row, if this answer is the one recorded.
      const won = `EXISTS (SELECT 1 FROM model_calls WHERE call_key = ${q.lit(callKey)} AND response = ${q.json(w.answer)})`;
      await ensurePrepared(c, LEDGER_STATEMENTS);
      const sets = resultSets<{ id?: string; response?: CallModelResult; cost_usd?: string | null }>(
        await c.query(
          [
            q.beginOrg(w.orgId),
            q.exec(
              LEDGER.insert,
              step,
              q.lit(callKey),
              q.lit(w.callIndex),
              q.lit(w.provider),
              q.lit(w.model),
              q.lit(w.answer.usage.inputTokens),
              q.lit(w.answer.usage.outputTokens),
              q.lit(w.answer.usage.cachedTokens),
              q.lit(w.latencyMs),
              w.costUsd === null ? 'NULL' : q.lit(w.costUsd),
              q.lit(w.priceVersion),
              q.lit(w.stepIndex),
              q.json(w.answer),
              run,
            ),
            q.exec(LEDGER.read, q.lit(callKey)),
            q.exec(LEDGER.stepCost, run, step, q.lit(w.stepIndex), q.json(w.record)),
            q.exec(LEDGER.runCost, run),
            ...(done ? persistStatements(q, done, won) : []),
            'COMMIT',
          ].join(';\n'),
        ),
      );
      return sets[3]?.rows[0];
    });
  }

  /** The initial record and the pending writes, in one transaction. */
  async function writePrepared(args: PrepareAgentStepArgs, record: AgentStepRecord): Promise<void> {
    await withSqlClient(deps.db, async (c) => {
      const q = new Sql(c);
      const statements = [q.beginOrg(args.orgId)];
      statements.push(
        `UPDATE runner_run_steps SET details = ${q.json(record)} WHERE run_id = ${q.lit(args.runId)} AND order_index = ${q.lit(args.stepIndex)}`,
        'COMMIT',
      );
      await c.query(statements.join(';\n'));
    });
  }

  /** Checks the model, builds the toolset, the knowledge context and the prompt; records the initial record. */
  async function prepare(args: PrepareAgentStepArgs): Promise<PreparedAgentStep> {
    const model = args.config.model;
    if (!model) {
      throw fail(
        'unknown_model',
        `Step "${args.stepName}" has no model: set the step's modelOverride, the agent's model or the runner's defaultModel`,
      );
    }
    let route;
    try {
      route = routeModel(model);
      clients.forModel(model);
    } catch (e) {
      throw toFailure(e, model);
    }
    return heartbeating(async (signal) => {
      const ctx: ToolContext = {
        runId: args.runId,
        orgId: args.orgId,
        runnerId: args.runnerId,
        stepName: args.stepName,
        stepInput: args.input,
        deps: deps.tools,
        signal,
        tools: [],
      };
      const [toolset, knowledge] = await Promise.all([
        buildToolset(args.config, ctx),
        knowledgeContext(args.config, ctx),
      ]);
      const system = buildSystemPrompt(args.config, knowledge.text, args.outputSchema);
      const userMessage = JSON.stringify(args.input ?? null, null, 2);
      const record: AgentStepRecord = {
        model,
        provider: route.provider,
        notes: toolset.notes,
        tools: toolset.tools.map((t) => t.name),
        knowledgeSources: knowledge.sources,
        modelCalls: 0,
        toolCalls: 0,
        costUnknown: false,
      };
      await writePrepared(args, record);
      const toolChars = JSON.stringify(toolset.tools.map((t) => [t.name, t.description, t.inputSchema])).length;
      return {
        model,
        provider: route.provider,
        system,
        userMessage,
        tools: toolset.tools,
        record,
        price: price(model),
        maxTokens: limits.maxTokens,
        maxIterations: limits.maxIterations,
        promptTokenEstimate: estimateTokens(system.length + userMessage.length + toolChars),
      };
    }, args.localBoundMs);
  }

  /**
   * Before a tool call: the ledger row of the model call that asked for it is in. This process wrote it
   * (deferred): wait for it. Another process made the call (a workflow-task heartbeat recorded the call's
   * answer and the run moved on here): write it now, idempotently. A different answer recorded first
   * by another attempt fails the workflow task (`MODEL_CALL_SUPERSEDED`), whose retry reads that answer.
   */
  async function ledgerOfAskingCall(args: CallToolArgs, ledger: NonNullable<CallToolArgs['ledger']>): Promise<void> {
    const key = callKeyOf(args.runId, args.stepName, ledger.callIndex);
    let outcome = writes.state(key);
    if (outcome !== undefined) {
      await writes.settle(args.runId);
      outcome = writes.state(key);
    } else {
      const recorded = await writeLedger(
        { ...ledger, runId: args.runId, orgId: args.orgId, stepName: args.stepName, stepIndex: args.stepIndex },
        null,
      );
      outcome = superseded(recorded, ledger.answer) ? 'superseded' : 'recorded';
    }
    if (outcome === 'superseded') {
      throw fail(
        MODEL_CALL_SUPERSEDED,
        `Model call ${ledger.callIndex} of step "${args.stepName}" has another attempt's answer recorded`,
      );
    }
  }

  const activities = {
    async prepareAgentStep(args: PrepareAgentStepArgs): Promise<PreparedAgentStep> {
      // The workflow's pending writes (the step's start among them) go out first and land while the step
      // is prepared; the preparation answers once they are in, so the order of the run's writes holds.
      const persisted = args.persist ? deps.persistRun({ ...args.persist, onlyIfActive: true }) : Promise.resolve();
      // Awaited below; handled now, or a database outage that fails it while `prepare` runs would be an
      // unhandled rejection (which kills the worker: found by test/chaos.test.ts).
      persisted.catch(() => undefined);
      try {
        const prepared = await prepare(args);
        await persisted;
        return prepared;
      } catch (e) {
        await persisted;
        throw e;
      }
    },

    async callModel(args: CallModelArgs): Promise<CallModelResult> {
      const callKey = callKeyOf(args.runId, args.stepName, args.callIndex);
      const finish = (
        r: Pick<ChatResponse, 'text' | 'toolCalls' | 'stopReason' | 'usage'>,
        costUsd: number | null,
      ): CallModelResult => {
        const out: CallModelResult = {
          text: r.text,
          toolCalls: r.toolCalls,
          stopReason: r.stopReason,
          usage: r.usage,
          costUsd,
        };
        if (args.outputSchema && r.toolCalls.length === 0) {
          const parsed = parseJsonAnswer(r.text);
          if (!parsed.ok) out.output = parsed;
          else {
            const issues = validateAgainst(args.outputSchema, parsed.value, 'output');
            out.output = issues.length ? { ok: false, errors: issues.map((i) => `${i.path} ${i.message}`) } : parsed;
          }
        }
        return out;
      };

      // A call already made (a retried activity, a worker that died after the call): never again. As a
      // regular activity, the ledger row can only exist from an earlier attempt (attempts are dispatched at
      // most once each), so the first attempt skips this read. A local activity is run again from attempt 1
      // when its workflow task is retried on another worker, so it reads unless the workflow saw it
      // scheduled in the run's first task, first attempt (`firstTask`). The ledger insert below resolves any
      // race regardless (ON CONFLICT, the first answer wins).
      const info = Context.current().info;
      // This process answered this call before and its row may still be in flight (a workflow task run
      // again here): let it land, then read it, rather than ask (and pay) again.
      const inFlightHere = writes.state(callKey) !== undefined;
      if (inFlightHere) await writes.settle(args.runId);
      const stored =
        info.attempt <= 1 && (!info.isLocal || args.firstTask === true) && !inFlightHere
          ? undefined
          : await withSqlClient(deps.db, async (c) => {
              const q = new Sql(c);
              await ensurePrepared(c, LEDGER_STATEMENTS);
              const sets = resultSets<{ response: CallModelResult | null; cost_usd: string | null }>(
                await c.query([q.beginOrg(args.orgId), q.exec(LEDGER.read, q.lit(callKey)), 'COMMIT'].join(';\n')),
              );
              return sets[2]?.rows[0];
            });
      if (stored?.response) {
        const out = finish(stored.response, stored.cost_usd === null ? null : Number(stored.cost_usd));
        // The earlier attempt may have died before recording the step's end: record it (idempotent).
        const done = finalBatch(args, out);
        if (done) {
          await writes.settle(args.runId);
          await deps.persistRun(done);
          out.finalized = true;
        }
        return out;
      }

      let response: ChatResponse;
      // A local call cannot heartbeat: a cancel announced for its run aborts it (src/db/run-cancel.ts).
      const announced = info.isLocal && deps.cancelWatch ? await deps.cancelWatch.watch(args.runId) : null;
      try {
        const { provider, route } = clients.forModel(args.model);
        response = await heartbeating((signal) =>
          provider.chat({
            model: route.model,
            system: args.system,
            messages: args.messages,
            tools: args.tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
            maxTokens: args.maxTokens,
            responseSchema: args.outputSchema ? { name: 'step_output', schema: args.outputSchema } : undefined,
            signal: announced ? AbortSignal.any([signal, announced.signal]) : signal,
            idempotencyKey: callKey,
          }),
        );
      } catch (e) {
        if (announced?.signal.aborted && !Context.current().cancellationSignal.aborted) {
          throw fail(CANCEL_ANNOUNCED, `The run's cancel was announced during model call ${args.callIndex}`);
        }
        throw toFailure(e, args.model);
      } finally {
        announced?.stop();
      }
      const p = price(args.model, response.model);
      const costUsd = p ? costOf(p, response.usage) : null;
      const record: AgentStepRecord = { ...args.record, costUnknown: args.record.costUnknown || costUsd === null };
      const answer = {
        text: response.text,
        toolCalls: response.toolCalls,
        stopReason: response.stopReason,
        usage: response.usage,
      };

      const ours = finish(answer, costUsd);
      const done = finalBatch(args, ours);
      // The run's earlier writes first (a tool call's booking, an earlier call's deferred row): in order.
      await writes.settle(args.runId);
      const ledger: DeferredLedgerRow = {
        callIndex: args.callIndex,
        provider: response.provider,
        model: args.model,
        latencyMs: response.latencyMs,
        costUsd,
        priceVersion: p ? PRICE_TABLE_VERSION : null,
        record,
      };
      const row: LedgerWrite = {
        ...ledger,
        runId: args.runId,
        orgId: args.orgId,
        stepName: args.stepName,
        stepIndex: args.stepIndex,
        answer,
      };
      // A local call that asks for tools (and may have a successor) answers now: its row is written while
      // the workflow schedules the tool calls, which wait for it (activities/run-writes.ts).
      if (
        info.isLocal &&
        !done &&
        answer.toolCalls.length > 0 &&
        args.callIndex < (args.maxIterations ?? limits.maxIterations)
      ) {
        writes.defer(args.runId, callKey, async () =>
          superseded(await writeLedger(row, null), answer) ? 'superseded' : 'recorded',
        );
        return { ...ours, ledger };
      }
      const winner = await writeLedger(row, done);
      writes.forget(args.runId);
      // Another attempt of this call recorded first: its answer is the one the run goes on with.
      if (winner?.response && differs(winner.response, answer)) {
        return finish(
          winner.response,
          winner.cost_usd === null || winner.cost_usd === undefined ? null : Number(winner.cost_usd),
        );
      }
      if (done) ours.finalized = true;
      return ours;
    },

    /**
     * The preparation and the first model call in one local activity (shape ≥ 3, no USD limit: the
     * budget check before the first call needs nothing the preparation computes only when there is a
     * limit). One local activity less per step.
     */
    async prepareAndCallModel(args: PrepareAndCallModelArgs): Promise<PreparedFirstCall> {
      const prepared = await activities.prepareAgentStep(args.prepare);
      const result = await activities.callModel({
        runId: args.prepare.runId,
        orgId: args.prepare.orgId,
        runnerId: args.prepare.runnerId,
        stepName: args.prepare.stepName,
        stepIndex: args.prepare.stepIndex,
        callIndex: 1,
        model: prepared.model,
        system: prepared.system,
        messages: [{ role: 'user', content: prepared.userMessage }],
        tools: prepared.tools,
        maxTokens: prepared.maxTokens,
        outputSchema: args.prepare.outputSchema,
        record: { ...prepared.record, modelCalls: 1 },
        maxIterations: prepared.maxIterations,
        ...args.call,
      });
      return { prepared, result };
    },

    async callTool(args: CallToolArgs): Promise<CallToolResult> {
      if (args.ledger) await ledgerOfAskingCall(args, args.ledger);
      if (args.call.argumentsError) return { content: args.call.argumentsError, isError: true };
      const startedAt = Date.now();
      const r = await heartbeating(
        (signal) =>
          executeTool({ id: args.call.id, name: args.call.name, arguments: args.call.arguments }, args.config, {
            runId: args.runId,
            orgId: args.orgId,
            runnerId: args.runnerId,
            stepName: args.stepName,
            stepInput: args.stepInput,
            deps: deps.tools,
            signal,
            tools: args.tools,
            record: args.record,
            // A local attempt cut at its bound is sent again as a regular activity: same key, like a retry.
            idempotencyKey: `${args.runId}:${args.stepName}:${args.call.id ?? args.call.name}`,
          }),
        args.localBoundMs,
      );
      // Booked after the bound check: an attempt cut at the bound books nothing (its continuation does).
      // The booking (analytics, best effort) lands while the workflow goes on; the step's next model call
      // waits for it before its own transaction, so a finished run has all of its tool calls booked.
      writes.book(
        args.runId,
        recordToolCall(deps.db, {
          runId: args.runId,
          orgId: args.orgId,
          stepName: args.stepName,
          toolName: args.call.name,
          isError: r.isError,
          latencyMs: Date.now() - startedAt,
        }),
      );
      return { content: r.content, isError: r.isError, ...(r.recordPatch ? { recordPatch: r.recordPatch } : {}) };
    },
  };
  return activities;
}

/**
 * The ledger's statements, prepared once per connection (see `preparedStatement`): the call's row (with the
 * principal and agent read from the run), the recorded answer, and both cost sums.
 */
const LEDGER = {
  insert: preparedStatement(
    'fj_ledger_insert',
    ['text', 'text', 'int', 'text', 'text', 'int', 'int', 'int', 'int', 'numeric', 'text', 'int', 'jsonb', 'uuid'],
    `INSERT INTO model_calls (id, org_id, runner_id, run_id, step_name, call_key, call_index, provider, model,
        input_tokens, output_tokens, cached_tokens, latency_ms, cost_usd, price_version, api_key_id, trigger_kind,
        trigger_id, agent_id, response)
     SELECT gen_random_uuid(), r.org_id, r.runner_id, r.id, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
        r.api_key_id, r.trigger_kind, r.trigger_id, (r.snapshot->'steps'->$12->>'agentId')::uuid, $13
       FROM runner_runs r WHERE r.id = $14
     ON CONFLICT (call_key) DO NOTHING RETURNING id`,
  ),
  read: preparedStatement(
    'fj_ledger_read',
    ['text'],
    'SELECT response, cost_usd::text FROM model_calls WHERE call_key = $1',
  ),
  stepCost: preparedStatement(
    'fj_ledger_step_cost',
    ['uuid', 'text', 'int', 'jsonb'],
    `UPDATE runner_run_steps SET details = $4,
        cost_usd = (SELECT COALESCE(SUM(cost_usd), 0) FROM model_calls WHERE run_id = $1 AND step_name = $2)
      WHERE run_id = $1 AND order_index = $3`,
  ),
  runCost: preparedStatement(
    'fj_ledger_run_cost',
    ['uuid'],
    'UPDATE runner_runs SET cost_usd = (SELECT COALESCE(SUM(cost_usd), 0) FROM model_calls WHERE run_id = $1) WHERE id = $1',
  ),
};
const LEDGER_STATEMENTS = Object.values(LEDGER);

/** Whether two JSON values differ; key order does not count (jsonb stores keys in its own order). */
export function differs(a: unknown, b: unknown): boolean {
  return canonicalJson(a) !== canonicalJson(b);
}

function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0)),
        )
      : x,
  );
}

export type AgentActivities = ReturnType<typeof createAgentActivities>;
