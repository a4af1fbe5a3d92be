/**
 * Pure data shapes of an agent step shared by the workflow (`workflows/agent-step.ts`), its
 * activities (`activities/agent.ts`) and the tools (`src/agent/tools`). No I/O, safe in workflows.
 */
import type { ModelPrice } from './pricing';
import type { PersistBatch, RunContext } from './run-types';
import type { ResolvedStepConfig } from './step-config';

export type ToolSourceKind = 'mcp' | 'http' | 'sql' | 'knowledge' | 'web' | 'plan';

/** Where a tool comes from, so `executeTool` can route a call back (no secrets here). */
export interface ToolSource {
  kind: ToolSourceKind;
  /** The connection's id (MCP server, HTTP tool, integration), when there is one. */
  id?: string;
  /** The name at the source when it differs from the model-facing name (an MCP server's own tool name). */
  remoteName?: string;
}

/**
 * A tool as offered to the model. `name` must match `[a-zA-Z0-9_-]{1,64}` (OpenAI's and Anthropic's
 * rule) and be unique within the step's toolset.
 */
export interface AgentToolDef {
  name: string;
  description: string;
  /** JSON Schema (an object schema) of the arguments. */
  inputSchema: Record<string, unknown>;
  source: ToolSource;
}

/** One item of the plan tool's checklist. */
export interface PlanItem {
  text: string;
  status: 'todo' | 'doing' | 'done';
}

export interface KnowledgeSource {
  docId: string;
  chunkId: string;
  title: string;
}

/**
 * The step's record (the run's step result shows it as `details`): model and provider, the tools
 * offered and notes about those that are not, knowledge sources put in the context, the plan
 * checklist, how many calls were made, and whether a call had no known price (cost null, never 0).
 */
export interface AgentStepRecord {
  model: string;
  provider: string;
  notes: string[];
  tools: string[];
  knowledgeSources: KnowledgeSource[];
  plan?: PlanItem[];
  modelCalls: number;
  toolCalls: number;
  /** True when a call of this step had no known price: the step's and run's `costUsd` leave it out. */
  costUnknown: boolean;
}

/** A tool call the model asked for (arguments parsed). */
export interface AgentToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  argumentsError?: string;
}

/** The conversation kept by the workflow (the provider-neutral message shape of `src/llm`). */
export type AgentMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; toolCalls?: AgentToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string; isError?: boolean };

/** What `prepareAgentStep` hands the loop. */
export interface PreparedAgentStep {
  /** The model as configured (ledger and price key) and its provider. */
  model: string;
  provider: 'openai' | 'anthropic';
  /** The system prompt: preamble, skills, knowledge, output format. */
  system: string;
  /** The first user message: the step input as JSON. */
  userMessage: string;
  tools: AgentToolDef[];
  record: AgentStepRecord;
  /** The model's price (overrides applied), or null when unknown. */
  price: ModelPrice | null;
  /** `max_tokens` of each call. */
  maxTokens: number;
  /** Model calls allowed in this step (repair round included). */
  maxIterations: number;
  /** Rough token count of system + user message + tool definitions (for worst-case cost). */
  promptTokenEstimate: number;
}

export interface AgentStepBase {
  runId: string;
  orgId: string;
  runnerId: string;
  stepName: string;
  /** The step's position in the run (its row in runner_run_steps). */
  stepIndex: number;
}

export interface PrepareAgentStepArgs extends AgentStepBase {
  input: unknown;
  config: ResolvedStepConfig;
  outputSchema: Record<string, unknown> | null;
  /** Writes the workflow had pending (the step's start among them), applied first. */
  persist?: PersistBatch;
  /** Set for a local-activity attempt: reaching it aborts the attempt (`EXCEEDED_LOCAL_BOUND`). */
  localBoundMs?: number;
}

export interface CallModelArgs extends AgentStepBase {
  /** 1-based; part of the call key `<runId>:<step>:<n>` that makes the ledger idempotent. */
  callIndex: number;
  model: string;
  system: string;
  messages: AgentMessage[];
  tools: AgentToolDef[];
  maxTokens: number;
  /** The step's outputSchema: asked for through structured output and validated here. */
  outputSchema: Record<string, unknown> | null;
  /** The step's record as it will stand after this call (written with the ledger row). */
  record: AgentStepRecord;
  /**
   * Run shape ≥ 3, the run's last step: if this call's answer ends the step (no tool calls, and a valid
   * output when there is an outputSchema), the same transaction as the ledger row records the step's
   * output and the run's completion (the workflow then writes nothing more). See `AgentFinalize`.
   */
  finalize?: AgentFinalize;
  /**
   * Set by the workflow when the call is scheduled in the run's first workflow task, first attempt
   * (`historyLength` 3): no earlier attempt of this call can have been made, so a local first attempt
   * skips the ledger read. Any retried, timed-out or later task reads it.
   */
  firstTask?: boolean;
  /**
   * The step's limit of model calls: a local call that asks for tools and is not the last one allowed
   * answers before its ledger row is written (the tool calls wait for it). Unset: the worker's default.
   */
  maxIterations?: number;
}

/** `prepareAndCallModel`: a step's preparation and its first model call in one local activity. */
export interface PrepareAndCallModelArgs {
  prepare: PrepareAgentStepArgs;
  call: Pick<CallModelArgs, 'finalize' | 'firstTask'>;
}

export interface PreparedFirstCall {
  prepared: PreparedAgentStep;
  result: CallModelResult;
}

/** What the last step's final model call needs to record the run's end itself. */
export interface AgentFinalize {
  /** The step's index and input, as its `stepFinished` write carries them. */
  index: number;
  input: unknown;
  /** The run's context before this step's output is added. */
  context: RunContext;
}

export interface CallModelResult {
  text: string | null;
  toolCalls: AgentToolCall[];
  stopReason: 'end' | 'tool_use' | 'max_tokens' | 'other';
  usage: { inputTokens: number; outputTokens: number; cachedTokens: number };
  /** USD, or null when the model has no known price. */
  costUsd: number | null;
  /** With an outputSchema and a final answer: the parsed answer, or why it does not match. */
  output?: { ok: true; value: unknown } | { ok: false; errors: string[] };
  /** Set when the call recorded the step's output and the run's completion (`CallModelArgs.finalize`). */
  finalized?: boolean;
  /**
   * Set when the call's ledger row was still being written as the activity answered (a local call that
   * asks for tools, see activities/run-writes.ts): the workflow hands it to the tool calls that follow.
   */
  ledger?: DeferredLedgerRow;
}

/** A model call's `model_calls` row as written after its activity answered: enough for any process to write it. */
export interface DeferredLedgerRow {
  callIndex: number;
  provider: string;
  model: string;
  latencyMs: number;
  costUsd: number | null;
  priceVersion: string | null;
  /** The step's record as it stood after the call. */
  record: AgentStepRecord;
}

/** What a ledger row stores as the call's answer (the part of `CallModelResult` a retry gets back). */
export type LedgerAnswer = Pick<CallModelResult, 'text' | 'toolCalls' | 'stopReason' | 'usage'>;

/**
 * The step's output when `r` ends the step: `{text}` without an outputSchema, the valid JSON answer with
 * one; null while the model asks for tools or its answer does not match. The workflow's loop and the call
 * that records the run's end (`CallModelArgs.finalize`) both decide with this.
 */
export function finalOutput(
  r: CallModelResult,
  outputSchema: Record<string, unknown> | null,
): { value: unknown } | null {
  if (r.toolCalls.length > 0) return null;
  if (!outputSchema) return { value: { text: r.text ?? '' } };
  return r.output?.ok ? { value: r.output.value } : null;
}

export interface CallToolArgs extends AgentStepBase {
  call: AgentToolCall;
  stepInput: unknown;
  config: ResolvedStepConfig;
  tools: AgentToolDef[];
  record: Pick<AgentStepRecord, 'plan'>;
  /** Set for a local-activity attempt: reaching it aborts the attempt (`EXCEEDED_LOCAL_BOUND`). */
  localBoundMs?: number;
  /**
   * The ledger row of the model call that asked for this tool, when that call answered before writing it
   * (`CallModelResult.ledger`): the tool call waits for it, or writes it if this process never had it.
   */
  ledger?: DeferredLedgerRow & { answer: LedgerAnswer };
}

export interface CallToolResult {
  content: string;
  isError: boolean;
  recordPatch?: Partial<Pick<AgentStepRecord, 'plan'>>;
}
