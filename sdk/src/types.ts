import type * as Api from './generated/api-types.js';

/*
 * Friendly names for the wire types. Everything here is an alias of `generated/api-types.ts`, which is
 * generated from the server's zod schemas (so the SDK cannot drift from the API), except the few
 * marked "contract" below whose routes are still being built: those follow CONTRACT.md and are
 * replaced by generated aliases when the routes land.
 */

/* ---------- runners and steps ---------- */
export type Runner = Api.GetApiRunnersIdResponse;
export type RunnerCreateParams = Api.PostApiRunnersBody;
export type RunnerUpdateParams = Api.PatchApiRunnersIdBody;
export type Step = Api.PostApiRunnersIdStepsResponse;
export type StepKind = Step['kind'];
export type StepCreateParams = Api.PostApiRunnersIdStepsBody;
export type StepUpdateParams = Api.PatchApiRunnersIdStepsStepIdBody;

/* ---------- runs ---------- */
export type Run = Api.GetApiRunnersIdRunsRunIdResponse;
export type RunStatus = Run['status'];
export type RunStep = Run['steps'][number];
export type RunCreateParams = Api.PostApiRunnersIdRunsBody;
export type RunListParams = Api.GetApiRunnersIdRunsQuery;

/** contract: `POST /api/runners/:id/runs/:runId/resume`. */
export interface RunResumeParams {
  /** Raise the run's budget by this many USD before resuming. */
  additionalBudgetUsd?: number;
}

/** contract: `POST /api/runners/:id/runs/bulk` (up to 10 000 items). */
export interface RunBulkParams {
  items: RunCreateParams[];
}
export interface RunBulkResult {
  data: { id: string; status: RunStatus; idempotencyKey: string | null }[];
  /** How many runs were started now. */
  created: number;
  /** How many items named an idempotencyKey already used (their existing run is returned). */
  existing: number;
}

/* ---------- triggers (contract) ---------- */
export type TriggerKind = 'cron' | 'webhook' | 'poll' | 'button' | 'manual' | 'api';
export interface PollConfig {
  provider: string;
  mcpServerId: string;
  template: string;
  params?: Record<string, unknown>;
  intervalMinutes: number;
}
export type TriggerCreateParams =
  | { kind: 'cron'; cronExpression: string; cronTimezone?: string; enabled?: boolean }
  | { kind: 'webhook'; enabled?: boolean }
  | { kind: 'poll'; pollConfig: PollConfig; enabled?: boolean }
  | { kind: 'button'; enabled?: boolean; [key: string]: unknown }
  | { kind: 'manual' | 'api'; enabled?: boolean };
export interface TriggerUpdateParams {
  enabled?: boolean;
  cronExpression?: string;
  cronTimezone?: string;
  pollConfig?: Partial<PollConfig>;
  [key: string]: unknown;
}
/** A trigger as the runner shows it; webhook triggers also carry `token` (when created) and `url`. */
export type Trigger = NonNullable<Runner['triggers']>[number] & {
  cronExpression?: string;
  cronTimezone?: string;
  pollConfig?: PollConfig;
  token?: string;
  url?: string;
  updatedAt?: string;
};

/* ---------- connections and 1:1 configs ---------- */
export type RunnerMcpAttachment = Api.PostApiRunnersIdMcpsResponse;
export type RunnerIntegrationAttachment = Api.PostApiRunnersIdIntegrationsResponse;
export type RunnerToolAttachment = Api.PostApiRunnersIdToolsResponse;
export type RunnerSkillAttachment = Api.PostApiRunnersIdSkillsResponse;
export type WebConfig = Api.GetApiRunnersIdWebConfigResponse;
export type WebConfigParams = Api.PutApiRunnersIdWebConfigBody;
export type PlanConfig = Api.GetApiRunnersIdPlanConfigResponse;
export type PlanConfigParams = Api.PutApiRunnersIdPlanConfigBody;
export type BudgetConfig = Api.GetApiRunnersIdBudgetResponse;
export type BudgetConfigParams = Api.PutApiRunnersIdBudgetBody;

/* ---------- org resources ---------- */
export type Agent = Api.GetApiAgentsIdResponse;
export type AgentCreateParams = Api.PostApiAgentsBody;
export type AgentUpdateParams = Api.PatchApiAgentsIdBody;
export type McpServer = Api.GetApiMcpServersIdResponse;
export type McpServerCreateParams = Api.PostApiMcpServersBody;
export type McpServerUpdateParams = Api.PatchApiMcpServersIdBody;
export type Integration = Api.GetApiIntegrationsIdResponse;
export type IntegrationCreateParams = Api.PostApiIntegrationsBody;
export type IntegrationUpdateParams = Api.PatchApiIntegrationsIdBody;
export type Tool = Api.GetApiToolsIdResponse;
export type ToolCreateParams = Api.PostApiToolsBody;
export type ToolUpdateParams = Api.PatchApiToolsIdBody;
export type Skill = Api.GetApiSkillsIdResponse;
export type SkillCreateParams = Api.PostApiSkillsBody;
export type SkillUpdateParams = Api.PatchApiSkillsIdBody;

/* ---------- knowledge ---------- */
export type KnowledgeDoc = Api.GetApiKnowledgeIdResponse;
export type KnowledgeListParams = Api.GetApiKnowledgeQuery;
export type KnowledgeSearchParams = Api.GetApiKnowledgeSearchQuery;
export type KnowledgeHit = Api.GetApiKnowledgeSearchResponse['data'][number];
type UploadFields = Omit<Api.PostApiKnowledgeUploadBody, 'file'>;
/** A document to index: its bytes (or text) and file name, plus the multipart fields. */
export interface KnowledgeUploadParams extends UploadFields {
  file: Blob | ArrayBuffer | Uint8Array | string;
  /** The file name sent with the bytes; its extension picks the parser (`.txt`, `.md`, `.json`, `.csv`, `.pdf`). */
  filename?: string;
  /** The file's MIME type (default from a Blob's own type, else guessed by the API from the name). */
  contentType?: string;
}

/* ---------- analytics (contract: the spec's snake_case shapes) ---------- */
export interface AnalyticsParams {
  /** `7d`, `30d`, `90d`, … (default `30d`). */
  period?: string;
}
export interface RunnerAnalytics {
  runner: { id: string; name: string; [key: string]: unknown };
  period: string | Record<string, unknown>;
  summary: Record<string, unknown>;
  /** Models sorted by cost, descending. */
  cost_by_model: { model: string; cost_usd: number; [key: string]: unknown }[];
  daily: { day: string; total_runs: number; completed: number; failed: number; cost_usd: number; [key: string]: unknown }[];
  [key: string]: unknown;
}
export interface OrgAnalytics {
  period: string | Record<string, unknown>;
  summary: Record<string, unknown>;
  daily: Record<string, unknown>[];
  by_model: { model: string; unique_users: number; total_turns: number; estimated_cost_usd: number; [key: string]: unknown }[];
  by_agent: Record<string, unknown>[];
  top_tools: Record<string, unknown>[];
  [key: string]: unknown;
}

/* ---------- operations ---------- */
export type Health = Api.GetHealthzResponse;
export type ApiInfo = Api.GetResponse;
