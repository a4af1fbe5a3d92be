/**
 * The contract between the agent loop (`workflows/agent-step.ts`, `activities/agent.ts`) and the
 * agent's tools (`src/agent/tools/`): MCP, custom HTTP, read-only SQL, knowledge, web, plan.
 *
 * - `prepareAgentStep` calls `buildToolset(config, ctx)` once per step: it lists the tools offered to
 *   the model (definitions only, no secrets: they travel in workflow history) and notes to record
 *   on the step ("web tools not offered: no web search provider configured").
 * - `callTool` calls `executeTool(call, config, ctx)` once per tool call the model makes. A tool that
 *   fails answers `{isError: true}` (the model sees the error as the tool result); `executeTool`
 *   throws only for infrastructure failures worth an activity retry.
 * - `prepareAgentStep` calls `knowledgeContext(config, ctx)` before the first model call: the top
 *   chunks of org- and runner-scoped knowledge for the step input, with their sources.
 *
 * `config` is the step's `ResolvedStepConfig` from the run's snapshot: connection definitions with
 * their secrets as ciphertext (`envCiphertext`, `headersCiphertext`, `connectionCiphertext`), which
 * only these functions decrypt, with `ctx.deps.secrets` and `secretContext(orgId, column)`.
 */
import type { Logger } from '../config/logger';
import type { PrismaClient } from '../db/client';
import type { McpConnection, McpConnectionConfig, McpConnectOptions } from '../mcp-client/client';
import type { EgressGuard } from '../net/egress';
import type { KnowledgeHit } from '../knowledge/store';
import type { SecretBox } from '../crypto/secret-box';
import type { AgentStepRecord, AgentToolDef, KnowledgeSource } from '../shared/agent-types';
import type { ResolvedStepConfig } from '../shared/step-config';

export type { ResolvedStepConfig } from '../shared/step-config';
export type { AgentStepRecord, AgentToolDef, PlanItem, ToolSource, ToolSourceKind } from '../shared/agent-types';

/** A web search / research backend. None configured → the web tools are not offered (and a note says so). */
export interface WebSearchProvider {
  readonly name: string;
  search(
    query: string,
    opts: { limit: number; signal?: AbortSignal },
  ): Promise<{ title: string; url: string; snippet: string }[]>;
}

/** What the tools may use. Built once per worker in `createActivities(deps)`. */
export interface ToolsetDeps {
  db: PrismaClient;
  log: Logger;
  /** Opens ciphertext from the snapshot; undefined when the worker has no FLAPJACK_SECRET_KEY. */
  secrets?: SecretBox;
  /** Egress control shared with webhook steps (FLAPJACK_EGRESS_ALLOWLIST). */
  guard: EgressGuard;
  /** Connects to an MCP server (`connectMcp` from src/mcp-client; injectable). */
  connectMcp(config: McpConnectionConfig, opts?: McpConnectOptions): Promise<McpConnection>;
  /** Org- and runner-scoped knowledge retrieval (`retrieveKnowledge` bound to the worker's db). */
  retrieveKnowledge(orgId: string, runnerId: string | null, query: string, k: number): Promise<KnowledgeHit[]>;
  /** Web search backend, or null when none is configured. */
  webSearch?: WebSearchProvider | null;
}

/** Context of one tool-related activity. */
export interface ToolContext {
  runId: string;
  orgId: string;
  runnerId: string;
  stepName: string;
  /** The step input (as given to the model). */
  stepInput: unknown;
  deps: ToolsetDeps;
  /** Aborted when the run is cancelled (the activity heartbeats and forwards cancellation). */
  signal?: AbortSignal;
  /** The tools `buildToolset` returned for this step (for `executeTool`; empty in `buildToolset`). */
  tools: AgentToolDef[];
  /** The step's record so far (read-only; e.g. the current plan). */
  record?: Readonly<Pick<AgentStepRecord, 'plan'>>;
  /** Sent as `Idempotency-Key` by HTTP tools: the same for every attempt of one tool call. */
  idempotencyKey?: string;
}

export interface ToolCall {
  /** The provider's call id. */
  id?: string;
  name: string;
  arguments: Record<string, unknown>;
}

export interface ToolResult {
  /** What the model sees as the tool result (text; JSON stringified when structured). */
  content: string;
  /** True when the tool failed: the model sees the error; the step goes on. */
  isError: boolean;
  /** Structured result, kept for the step's record when useful. */
  data?: unknown;
  /** Changes to the step's record (the plan tool returns the new checklist here). */
  recordPatch?: Partial<Pick<AgentStepRecord, 'plan'>>;
}

export interface Toolset {
  tools: AgentToolDef[];
  /** Human sentences recorded on the step (e.g. why a tool family is not offered). */
  notes: string[];
}

export interface KnowledgeContext {
  /** A text block for the preamble (chunks with their sources), or '' when nothing matched. */
  text: string;
  sources: KnowledgeSource[];
}

export type BuildToolset = (config: ResolvedStepConfig, ctx: ToolContext) => Promise<Toolset>;
export type ExecuteTool = (call: ToolCall, config: ResolvedStepConfig, ctx: ToolContext) => Promise<ToolResult>;
export type BuildKnowledgeContext = (config: ResolvedStepConfig, ctx: ToolContext) => Promise<KnowledgeContext>;
