import type * as Api from './generated/api-types.js';

/*
 * Friendly names for the wire types. Everything here is an alias of `generated/api-types.ts`, which is
 * generated from the server's zod schemas (so the SDK cannot drift from the API).
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

export type RunResumeParams = Api.PostApiRunnersIdRunsRunIdResumeBody;

/** `POST /api/runners/:id/runs/bulk` (up to 10 000 items). */
export type RunBulkParams = { items: RunCreateParams[] };
export type RunBulkResult = Api.PostApiRunnersIdRunsBulkResponse;
/** `POST /api/runners/:id/runs/bulk/status`: the status of up to 1 000 runs by id. */
export type RunBulkStatusParams = Api.PostApiRunnersIdRunsBulkStatusBody;
export type RunBulkStatus = Api.PostApiRunnersIdRunsBulkStatusResponse;

/* ---------- triggers ---------- */
export type Trigger = Api.GetApiRunnersIdTriggersTriggerIdResponse;
export type TriggerKind = Trigger['kind'];
/** A trigger of one kind (a trigger's fields depend on its kind: narrow on `kind`). */
export type TriggerOf<K extends TriggerKind> = Extract<Trigger, { kind: K }>;
export type TriggerCreateParams = Api.PostApiRunnersIdTriggersBody;
export type TriggerUpdateParams = Api.PatchApiRunnersIdTriggersTriggerIdBody;
/** A trigger just created: webhook triggers also carry `token` and `url` (shown once). */
export type TriggerCreated = Api.PostApiRunnersIdTriggersResponse;
export type TriggerListParams = Api.GetApiRunnersIdTriggersQuery;
/** The answer of a public webhook delivery (`POST /api/runners/webhooks/:token`). */
export type WebhookDelivery = Api.PostApiRunnersWebhooksTokenResponse;

/* ---------- buttons (public) ---------- */
export type ButtonRunParams = Api.PostApiRunnersIdButtonRunsBody;
export type ButtonRun = Api.PostApiRunnersIdButtonRunsResponse;
export type ButtonRunStatus = Api.GetApiRunnersIdButtonRunsRunIdResponse;

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

/* ---------- analytics (the spec's snake_case shapes) ---------- */
export type AnalyticsParams = Api.GetApiRunnersIdAnalyticsQuery;
export type RunnerAnalytics = Api.GetApiRunnersIdAnalyticsResponse;
export type OrgAnalytics = Api.GetApiAnalyticsResponse;

/* ---------- operations ---------- */
export type Health = Api.GetHealthzResponse;
export type ApiInfo = Api.GetResponse;
