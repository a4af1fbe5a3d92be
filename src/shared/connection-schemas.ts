import { z } from 'zod';

/**
 * Wire schemas of agents, runner connections (MCP servers, integrations, tools, skills, web / plan /
 * budget config) and knowledge. camelCase, `.strict()`: an unknown field is a 422 naming it.
 * Messages never quote the offending value (it may be a secret).
 */

const jsonObject = z.record(z.string(), z.unknown());
const idList = (what: string) =>
  z
    .array(z.uuid({ message: `must be a ${what} id (UUID)` }))
    .max(100)
    .refine((ids) => new Set(ids.map((i) => i.toLowerCase())).size === ids.length, 'must not contain duplicates');

export const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const SLUG_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Tool names are what a model calls: letters, digits, `_` and `-` (the common function-name rules). */
export const TOOL_NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const PG_IDENT_RE = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2048);
const headerMap = z
  .record(z.string().regex(HEADER_NAME_RE, 'must be a valid HTTP header name'), z.string().max(8192))
  .refine((h) => Object.keys(h).length <= 50, 'at most 50 headers');
const envMap = z
  .record(z.string().regex(ENV_NAME_RE, 'must be a valid environment variable name').max(128), z.string().max(32_768))
  .refine((e) => Object.keys(e).length <= 100, 'at most 100 variables');

export const webConfigSchema = z
  .object({
    enabled: z.boolean(),
    searchEnabled: z.boolean().optional(),
    researchEnabled: z.boolean().optional(),
  })
  .strict();
export type WebConfigInput = z.infer<typeof webConfigSchema>;

/* ---------- agents ---------- */

const agentFields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(5000).nullish(),
  preamble: z.string().max(100_000).optional(),
  model: z.string().min(1).max(200).nullish(),
  mcpServerIds: idList('MCP server').optional(),
  integrationIds: idList('integration').optional(),
  toolIds: idList('tool').optional(),
  webConfig: webConfigSchema.nullish(),
};
export const agentCreateSchema = z.object(agentFields).strict();
export const agentUpdateSchema = z.object(agentFields).partial().strict();
export type AgentCreate = z.infer<typeof agentCreateSchema>;
export type AgentUpdate = z.infer<typeof agentUpdateSchema>;

/* ---------- MCP servers ---------- */

export const MCP_TRANSPORTS = ['stdio', 'http'] as const;
const mcpFields = {
  slug: z.string().regex(SLUG_RE, 'must be 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit'),
  name: z.string().trim().min(1).max(200).optional(),
  transport: z.enum(MCP_TRANSPORTS),
  command: z.string().min(1).max(1000).nullish(),
  args: z.array(z.string().max(4096)).max(100).nullish(),
  env: envMap.nullish(),
  url: httpUrl.nullish(),
  headers: headerMap.nullish(),
};

type McpShape = {
  transport?: 'stdio' | 'http' | undefined;
  command?: string | null | undefined;
  args?: string[] | null | undefined;
  env?: Record<string, string> | null | undefined;
  url?: string | null | undefined;
  headers?: Record<string, string> | null | undefined;
};

/** Transport-specific rules, applied on create and on the merged result of an update. */
export function mcpTransportIssues(s: McpShape): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  if (s.transport === 'stdio') {
    if (!s.command) issues.push({ path: 'command', message: 'is required for the stdio transport' });
    if (s.url) issues.push({ path: 'url', message: 'is only for the http transport' });
    if (s.headers && Object.keys(s.headers).length)
      issues.push({ path: 'headers', message: 'are only for the http transport' });
  } else if (s.transport === 'http') {
    if (!s.url) issues.push({ path: 'url', message: 'is required for the http transport' });
    if (s.command) issues.push({ path: 'command', message: 'is only for the stdio transport' });
    if (s.args && s.args.length) issues.push({ path: 'args', message: 'are only for the stdio transport' });
    if (s.env && Object.keys(s.env).length) issues.push({ path: 'env', message: 'is only for the stdio transport' });
  }
  return issues;
}

export const mcpServerCreateSchema = z
  .object(mcpFields)
  .strict()
  .superRefine((v, ctx) => {
    for (const i of mcpTransportIssues(v)) ctx.addIssue({ code: 'custom', path: [i.path], message: i.message });
  });
export const mcpServerUpdateSchema = z.object(mcpFields).partial().strict();
export type McpServerCreate = z.infer<typeof mcpServerCreateSchema>;
export type McpServerUpdate = z.infer<typeof mcpServerUpdateSchema>;

/* ---------- integrations ---------- */

export const INTEGRATION_KINDS = ['postgres'] as const;

/** A postgres:// URL with a host; the message never repeats the value. */
const connectionString = z
  .string()
  .max(4096)
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'postgres:' || u.protocol === 'postgresql:') && u.host !== '';
    } catch {
      return false;
    }
  }, 'must be a postgres:// or postgresql:// URL with a host');

const integrationFields = {
  name: z.string().trim().min(1).max(200),
  kind: z.enum(INTEGRATION_KINDS),
  connectionString,
  readOnly: z.boolean().optional(),
  allowedSchemas: z.array(z.string().regex(PG_IDENT_RE, 'must be a plain PostgreSQL schema name')).max(100).optional(),
};
export const integrationCreateSchema = z.object(integrationFields).strict();
export const integrationUpdateSchema = z.object(integrationFields).partial().strict();
export type IntegrationCreate = z.infer<typeof integrationCreateSchema>;
export type IntegrationUpdate = z.infer<typeof integrationUpdateSchema>;

/* ---------- custom tools ---------- */

export const TOOL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const toolFields = {
  name: z
    .string()
    .regex(TOOL_NAME_RE, 'must start with a letter or _ and contain only letters, digits, _ and - (max 64)'),
  description: z.string().max(4000).optional(),
  parameters: jsonObject.optional().describe('JSON Schema of the arguments (an object schema)'),
  url: httpUrl,
  method: z.enum(TOOL_METHODS).optional(),
  headers: headerMap.nullish(),
};
export const toolCreateSchema = z.object(toolFields).strict();
export const toolUpdateSchema = z.object(toolFields).partial().strict();
export type ToolCreate = z.infer<typeof toolCreateSchema>;
export type ToolUpdate = z.infer<typeof toolUpdateSchema>;

/* ---------- skills ---------- */

export const skillFileSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[^/\\\0][^\0]*$/, 'must be a relative file name')
      .refine((n) => !n.split('/').includes('..'), 'must not contain ..'),
    content: z.string().max(200_000),
    mimeType: z.string().max(255).optional(),
  })
  .strict();
const skillFields = {
  name: z.string().trim().min(1).max(200),
  instructions: z.string().min(1).max(100_000),
  files: z
    .array(skillFileSchema)
    .max(20)
    .refine((fs) => new Set(fs.map((f) => f.name)).size === fs.length, 'file names must be unique')
    .optional(),
};
export const skillCreateSchema = z.object(skillFields).strict();
export const skillUpdateSchema = z.object(skillFields).partial().strict();
export type SkillCreate = z.infer<typeof skillCreateSchema>;
export type SkillUpdate = z.infer<typeof skillUpdateSchema>;

/* ---------- runner attachments and config ---------- */

export const attachMcpSchema = z.object({ mcpServerId: z.uuid() }).strict();
export const attachIntegrationSchema = z.object({ integrationId: z.uuid() }).strict();
export const attachToolSchema = z.object({ toolId: z.uuid() }).strict();
export const attachSkillSchema = z.object({ skillId: z.uuid() }).strict();

export const planConfigSchema = z.object({ enabled: z.boolean() }).strict();
export type PlanConfigInput = z.infer<typeof planConfigSchema>;

const threshold = z.number().gt(0, 'must be greater than 0').lte(1, 'must be at most 1');
export const BUDGET_DEFAULTS = { warningThreshold1: 0.8, warningThreshold2: 0.95 } as const;
export const budgetConfigSchema = z
  .object({
    enabled: z.boolean(),
    budgetUsd: z
      .number()
      .positive('must be greater than 0 (or null for unlimited)')
      .max(1_000_000)
      .nullable()
      .optional(),
    onExceed: z.enum(['pause', 'fail']).optional(),
    warningThreshold1: threshold.optional(),
    warningThreshold2: threshold.optional(),
    budgetWarningWebhookUrl: z
      .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
      .max(2048)
      .nullable()
      .optional()
      .describe('Receives a JSON POST when a run crosses a warning threshold (null = none)'),
  })
  .strict();
export type BudgetConfigInput = z.infer<typeof budgetConfigSchema>;

/* ---------- knowledge ---------- */

export const KNOWLEDGE_SCOPES = ['org', 'runner'] as const;
export const knowledgeUploadFieldsSchema = z
  .object({
    scopeType: z.enum(KNOWLEDGE_SCOPES),
    scopeId: z.string().optional(),
    title: z.string().trim().min(1).max(500).optional(),
    language: z
      .string()
      .regex(/^[a-z_]{1,63}$/, 'must be a PostgreSQL text search configuration name such as english or simple')
      .optional(),
  })
  .strict();

export const knowledgeListQuerySchema = z.object({
  scopeType: z.enum(KNOWLEDGE_SCOPES).optional(),
  scopeId: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

export const knowledgeSearchQuerySchema = z.object({
  q: z
    .string()
    .trim()
    .min(1)
    .max(1000)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters'),
  runnerId: z.uuid().optional(),
  k: z.coerce.number().int().min(1).max(50).default(5),
});

/* ---------- responses (OpenAPI) ---------- */

const ts = z.string();
const webConfigResponse = z.object({ enabled: z.boolean(), searchEnabled: z.boolean(), researchEnabled: z.boolean() });

export const agentResponseSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string().nullable(),
  preamble: z.string(),
  model: z.string().nullable(),
  webConfig: webConfigResponse.nullable(),
  mcpServerIds: z.array(z.uuid()),
  integrationIds: z.array(z.uuid()),
  toolIds: z.array(z.uuid()),
  createdAt: ts,
  updatedAt: ts,
});

export const mcpServerResponseSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  transport: z.enum(MCP_TRANSPORTS),
  command: z.string().nullable(),
  args: z.array(z.string()).nullable(),
  env: z.record(z.string(), z.string()).nullable().describe('values are masked'),
  url: z.string().nullable(),
  headers: z.record(z.string(), z.string()).nullable().describe('values are masked'),
  createdAt: ts,
  updatedAt: ts,
});

export const integrationResponseSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  kind: z.enum(INTEGRATION_KINDS),
  connectionString: z.string().describe('masked: the password and parameter values are ****'),
  readOnly: z.boolean(),
  allowedSchemas: z.array(z.string()),
  createdAt: ts,
  updatedAt: ts,
});

export const toolResponseSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  parameters: jsonObject,
  url: z.string(),
  method: z.enum(TOOL_METHODS),
  headers: z.record(z.string(), z.string()).nullable().describe('values are masked'),
  createdAt: ts,
  updatedAt: ts,
});

export const skillResponseSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  instructions: z.string(),
  files: z.array(z.object({ name: z.string(), content: z.string(), mimeType: z.string().optional() })),
  createdAt: ts,
  updatedAt: ts,
});

export const attachmentResponseSchema = (idField: string, resourceField: string, resource: z.ZodType) =>
  z.object({ runnerId: z.uuid(), [idField]: z.uuid(), attachedAt: ts, [resourceField]: resource });

export const webConfigResponseSchema = webConfigResponse.extend({ runnerId: z.uuid(), updatedAt: ts.nullable() });
export const planConfigResponseSchema = z.object({
  runnerId: z.uuid(),
  enabled: z.boolean(),
  updatedAt: ts.nullable(),
});
export const budgetConfigResponseSchema = z.object({
  runnerId: z.uuid(),
  enabled: z.boolean(),
  budgetUsd: z.number().nullable(),
  onExceed: z.enum(['pause', 'fail']),
  warningThreshold1: z.number(),
  warningThreshold2: z.number(),
  budgetWarningWebhookUrl: z.string().nullable(),
  updatedAt: ts.nullable(),
});

export const knowledgeDocResponseSchema = z.object({
  id: z.uuid(),
  title: z.string(),
  scopeType: z.enum(KNOWLEDGE_SCOPES),
  scopeId: z.uuid().nullable(),
  filename: z.string(),
  mimeType: z.string(),
  sizeBytes: z.number().int(),
  language: z.string(),
  chunks: z.number().int(),
  createdAt: ts,
});

export const knowledgeHitSchema = z.object({
  chunkId: z.uuid(),
  docId: z.uuid(),
  title: z.string(),
  scopeType: z.enum(KNOWLEDGE_SCOPES),
  scopeId: z.uuid().nullable(),
  content: z.string(),
  rank: z.number(),
});
