import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { Logger } from '../config/logger';
import { AppError } from '../errors/app-error';
import { createAgent, deleteAgent, getAgent, listAgents, updateAgent } from '../services/agents';
import {
  attachResource,
  detachResource,
  getBudgetConfig,
  getPlanConfig,
  getWebConfig,
  listAttachments,
  putBudgetConfig,
  putPlanConfig,
  putWebConfig,
  type AttachmentKind,
} from '../services/connections';
import type { Principal, ServiceDeps } from '../services/deps';
import {
  createIntegration,
  deleteIntegration,
  getIntegration,
  listIntegrations,
  updateIntegration,
} from '../services/integrations';
import {
  deleteKnowledgeDoc,
  getKnowledgeDoc,
  listKnowledgeDocs,
  searchKnowledge,
  uploadKnowledge,
  type KnowledgeOptions,
} from '../services/knowledge';
import {
  createMcpServer as createMcpServerRecord,
  deleteMcpServer,
  getMcpServer,
  listMcpServers,
  updateMcpServer,
} from '../services/mcp-servers';
import { createRunner, deleteRunner, getRunner, listRunners, updateRunner } from '../services/runners';
import { cancelRun, createRun, getRun, listRuns } from '../services/runs';
import { createSkill, deleteSkill, getSkill, listSkills, updateSkill } from '../services/skills';
import { addStep, listSteps, removeStep, updateStep } from '../services/steps';
import { createTool, deleteTool, getTool, listTools, updateTool } from '../services/tools';
import {
  agentCreateSchema,
  agentResponseSchema,
  agentUpdateSchema,
  attachmentResponseSchema,
  budgetConfigResponseSchema,
  budgetConfigSchema,
  integrationCreateSchema,
  integrationResponseSchema,
  integrationUpdateSchema,
  KNOWLEDGE_SCOPES,
  knowledgeDocResponseSchema,
  knowledgeHitSchema,
  mcpServerCreateSchema,
  mcpServerResponseSchema,
  mcpServerUpdateSchema,
  planConfigResponseSchema,
  planConfigSchema,
  skillCreateSchema,
  skillResponseSchema,
  skillUpdateSchema,
  toolCreateSchema,
  toolResponseSchema,
  toolUpdateSchema,
  webConfigResponseSchema,
  webConfigSchema,
} from '../shared/connection-schemas';
import {
  runCreateSchema,
  runnerCreateSchema,
  runnerResponseSchema,
  runnerUpdateSchema,
  runResponseSchema,
  stepCreateSchema,
  stepResponseSchema,
  stepUpdateSchema,
} from '../shared/schemas';
import { RUN_STATUSES } from '../shared/status';
import { registerAnalyticsTools, registerLateRunTools, registerTriggerTools } from './late-tools';
import { defineTool, deletedOutput, listArgs, listOutput, parseBody, splitIds, uuidArg } from './define';

export interface McpServerDeps {
  services: ServiceDeps;
  /** Whose org every tool acts in (resolved from the API key by the caller). */
  principal: Principal;
  knowledge?: KnowledgeOptions;
  version?: string;
  /** More tools (other capabilities register theirs here), called with the same server and context. */
  extraTools?: ((ctx: McpToolContext) => void)[];
}

/** What a module of tools gets: the server to register on, the services and the org. */
export interface McpToolContext {
  server: McpServer;
  deps: ServiceDeps;
  orgId: string;
  /** The API key the MCP client authenticated with: recorded on the runs it starts, as REST does. */
  apiKeyId: string;
  log: Logger;
}

const id = (v: string) => v.toLowerCase();
const page = (a: { limit?: number | undefined; cursor?: string | undefined }) => ({
  limit: a.limit ?? 50,
  cursor: a.cursor,
});

/**
 * The Flapjack MCP server: every runner operation as a tool, each a thin call of `src/services` (the
 * same functions the REST routes call, so the two never disagree). One server per authenticated
 * caller: `principal` fixes the org. Serve it over stdio (`npm run mcp`) or Streamable HTTP (`/mcp`).
 */
export function createMcpServer(deps: McpServerDeps): McpServer {
  const server = new McpServer(
    { name: 'flapjack-runners', title: 'Flapjack Runners', version: deps.version ?? '0.1.0' },
    {
      capabilities: { tools: {} },
      instructions:
        'Flapjack Runners: headless AI pipelines. A runner has ordered steps (agent, webhook, condition, computer) and ' +
        'triggers; a run executes the steps in order. Typical flow: flapjack_create_runner, flapjack_add_runner_step, ' +
        'flapjack_trigger_run, then flapjack_get_run until status is completed or failed. Ids are UUIDs; list tools ' +
        'return {data, nextCursor} (pass nextCursor as cursor for the next page).',
    },
  );
  const ctx: McpToolContext = {
    server,
    deps: deps.services,
    orgId: deps.principal.orgId,
    apiKeyId: deps.principal.apiKeyId,
    log: deps.services.log,
  };
  registerRunnerTools(ctx);
  registerRunTools(ctx);
  registerConnectionTools(ctx);
  registerKnowledgeTools(ctx, deps.knowledge ?? {});
  registerOrgResourceTools(ctx);
  registerTriggerTools(ctx);
  registerLateRunTools(ctx);
  registerAnalyticsTools(ctx);
  for (const extra of deps.extraTools ?? []) extra(ctx);
  return server;
}

/* ------------------------------------------------------------------------------------------------ */
/* runners and steps                                                                                 */
/* ------------------------------------------------------------------------------------------------ */

function registerRunnerTools({ server, deps, orgId, log }: McpToolContext): void {
  const runnerId = uuidArg('the runner');
  defineTool(
    server,
    {
      name: 'flapjack_list_runners',
      title: 'List runners',
      description:
        'List the runners (pipelines) of your org, newest first, one page at a time. ' +
        'Example: {"limit": 20}; then {"limit": 20, "cursor": "<nextCursor>"} for the next page.',
      input: z.object(listArgs).strict(),
      output: listOutput(runnerResponseSchema),
      readOnly: true,
    },
    (a) => listRunners(deps, orgId, page(a)),
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_create_runner',
      title: 'Create a runner',
      description:
        'Create a runner: a named pipeline whose steps run in order. inputSchema (a JSON Schema) validates every run input. ' +
        'Example: {"name": "Product Discovery", "inputSchema": {"type": "object", "properties": {"url": {"type": "string"}}}}',
      input: runnerCreateSchema,
      output: runnerResponseSchema,
    },
    (a) => createRunner(deps, orgId, parseBody(runnerCreateSchema, a)),
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_get_runner',
      title: 'Get a runner',
      description: 'Get a runner with its ordered steps and its triggers. Example: {"runnerId": "4f1c…-uuid"}',
      input: z.object({ runnerId }).strict(),
      output: runnerResponseSchema,
      readOnly: true,
    },
    (a) => getRunner(deps, orgId, id(a.runnerId)),
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_update_runner',
      title: 'Update a runner',
      description:
        "Change a runner's name, description, inputSchema, learnedInstructions or defaultModel (fields left out keep their value). " +
        'Example: {"runnerId": "4f1c…-uuid", "defaultModel": "gpt-4o-mini"}',
      input: z.object({ runnerId, ...runnerUpdateSchema.shape }).strict(),
      output: runnerResponseSchema,
      idempotent: true,
    },
    (a) => {
      const [ids, body] = splitIds(a, 'runnerId');
      return updateRunner(deps, orgId, id(ids.runnerId), parseBody(runnerUpdateSchema, body));
    },
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_delete_runner',
      title: 'Delete a runner',
      description:
        'Delete a runner and its schedules (runs in flight finish). This cannot be undone. Example: {"runnerId": "4f1c…-uuid"}',
      input: z.object({ runnerId }).strict(),
      output: deletedOutput,
      destructive: true,
    },
    async (a) => {
      await deleteRunner(deps, orgId, id(a.runnerId));
      return { deleted: true, id: id(a.runnerId) };
    },
    log,
  );

  defineTool(
    server,
    {
      name: 'flapjack_list_runner_steps',
      title: "List a runner's steps",
      description: 'List the steps of a runner in run order (orderIndex). Example: {"runnerId": "4f1c…-uuid"}',
      input: z.object({ runnerId }).strict(),
      output: listOutput(stepResponseSchema),
      readOnly: true,
    },
    (a) => listSteps(deps, orgId, id(a.runnerId)),
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_add_runner_step',
      title: 'Add a step to a runner',
      description:
        'Add a step. kind is agent (an LLM call: agentId or preambleOverride, optional outputSchema), webhook (POSTs the ' +
        'step input to webhookUrl), condition (conditionExpr, a JSONPath; falsy stops the run) or computer ' +
        '(computer: {runtime: "javascript", code}). inputMapping maps names to JSONPaths over {input, steps}. ' +
        'Example: {"runnerId": "4f1c…-uuid", "name": "notify", "kind": "webhook", "orderIndex": 1, ' +
        '"webhookUrl": "https://hooks.example.com/x", "inputMapping": {"count": "$.steps.discovery.output.products.length"}}',
      input: z.object({ runnerId, ...stepCreateSchema.shape }).strict(),
      output: stepResponseSchema,
    },
    (a) => {
      const [ids, body] = splitIds(a, 'runnerId');
      return addStep(deps, orgId, id(ids.runnerId), parseBody(stepCreateSchema, body));
    },
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_update_runner_step',
      title: 'Update a step',
      description:
        'Change fields of a step (left-out fields keep their value). Example: {"runnerId": "4f1c…-uuid", "stepId": "9a2e…-uuid", "orderIndex": 2}',
      input: z.object({ runnerId, stepId: uuidArg('the step'), ...stepUpdateSchema.shape }).strict(),
      output: stepResponseSchema,
      idempotent: true,
    },
    (a) => {
      const [ids, body] = splitIds(a, 'runnerId', 'stepId');
      return updateStep(deps, orgId, id(ids.runnerId), id(ids.stepId), parseBody(stepUpdateSchema, body));
    },
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_remove_runner_step',
      title: 'Remove a step',
      description: 'Remove a step from a runner. Example: {"runnerId": "4f1c…-uuid", "stepId": "9a2e…-uuid"}',
      input: z.object({ runnerId, stepId: uuidArg('the step') }).strict(),
      output: deletedOutput,
      destructive: true,
    },
    async (a) => {
      await removeStep(deps, orgId, id(a.runnerId), id(a.stepId));
      return { deleted: true, id: id(a.stepId) };
    },
    log,
  );
}

/* ------------------------------------------------------------------------------------------------ */
/* runs                                                                                              */
/* ------------------------------------------------------------------------------------------------ */

function registerRunTools({ server, deps, orgId, apiKeyId, log }: McpToolContext): void {
  const runnerId = uuidArg('the runner');
  const runId = uuidArg('the run');
  defineTool(
    server,
    {
      name: 'flapjack_trigger_run',
      title: 'Trigger a run',
      description:
        "Start a run of a runner with an input (it must match the runner's inputSchema). The run starts as pending/running; " +
        'poll flapjack_get_run for its status and output. The same idempotencyKey returns the same run instead of a new one. ' +
        'Example: {"runnerId": "4f1c…-uuid", "input": {"url": "https://example.com"}, "idempotencyKey": "product-1"}',
      input: z.object({ runnerId, ...runCreateSchema.shape }).strict(),
      output: runResponseSchema,
    },
    async (a) => {
      const [ids, body] = splitIds(a, 'runnerId');
      return (
        await createRun(deps, orgId, id(ids.runnerId), parseBody(runCreateSchema, body), { kind: 'api', apiKeyId })
      ).run;
    },
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_list_runs',
      title: "List a runner's runs",
      description:
        'List the runs of a runner, newest first; filter by status (pending, running, completed, failed, cancelled, paused_budget). ' +
        'Example: {"runnerId": "4f1c…-uuid", "status": "failed", "limit": 10}',
      input: z
        .object({ runnerId, status: z.enum(RUN_STATUSES).optional().describe('only runs in this status'), ...listArgs })
        .strict(),
      output: listOutput(runResponseSchema),
      readOnly: true,
    },
    (a) => listRuns(deps, orgId, id(a.runnerId), { status: a.status, ...page(a) }),
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_get_run',
      title: 'Get a run',
      description:
        "Get a run: status, input, output (of the last completed step), context, error, cost and each step's result. " +
        'Example: {"runnerId": "4f1c…-uuid", "runId": "c03b…-uuid"}',
      input: z.object({ runnerId, runId }).strict(),
      output: runResponseSchema,
      readOnly: true,
    },
    (a) => getRun(deps, orgId, id(a.runnerId), id(a.runId)),
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_cancel_run',
      title: 'Cancel a run',
      description:
        'Cancel a pending, running or paused run (its remaining steps do not run); an error if it has already ended. ' +
        'Example: {"runnerId": "4f1c…-uuid", "runId": "c03b…-uuid"}',
      input: z.object({ runnerId, runId }).strict(),
      output: runResponseSchema,
      destructive: true,
    },
    (a) => cancelRun(deps, orgId, id(a.runnerId), id(a.runId)),
    log,
  );
}

/* ------------------------------------------------------------------------------------------------ */
/* runner connections and 1:1 configs                                                                */
/* ------------------------------------------------------------------------------------------------ */

const ATTACHMENTS: {
  kind: AttachmentKind;
  /** flapjack_{list_runner_<plural>, attach_runner_<one>, detach_runner_<one>} */
  one: string;
  plural: string;
  label: string;
  idField: string;
  resourceField: string;
  resource: z.ZodType;
}[] = [
  {
    kind: 'mcps',
    one: 'mcp',
    plural: 'mcps',
    label: 'MCP server',
    idField: 'mcpServerId',
    resourceField: 'mcpServer',
    resource: mcpServerResponseSchema,
  },
  {
    kind: 'integrations',
    one: 'integration',
    plural: 'integrations',
    label: 'database integration',
    idField: 'integrationId',
    resourceField: 'integration',
    resource: integrationResponseSchema,
  },
  {
    kind: 'tools',
    one: 'tool',
    plural: 'tools',
    label: 'custom tool',
    idField: 'toolId',
    resourceField: 'tool',
    resource: toolResponseSchema,
  },
  {
    kind: 'skills',
    one: 'skill',
    plural: 'skills',
    label: 'skill',
    idField: 'skillId',
    resourceField: 'skill',
    resource: skillResponseSchema,
  },
];

function registerConnectionTools({ server, deps, orgId, log }: McpToolContext): void {
  const runnerId = uuidArg('the runner');
  for (const k of ATTACHMENTS) {
    const attachment = attachmentResponseSchema(k.idField, k.resourceField, k.resource);
    const resourceId = uuidArg(`the ${k.label}`);
    defineTool(
      server,
      {
        name: `flapjack_list_runner_${k.plural}`,
        title: `List a runner's ${k.label}s`,
        description: `List the ${k.label}s attached to a runner (defaults for all its steps), most recent first. Example: {"runnerId": "4f1c…-uuid"}`,
        input: z.object({ runnerId, ...listArgs }).strict(),
        output: listOutput(attachment),
        readOnly: true,
      },
      (a) => listAttachments(deps, orgId, k.kind, id(a.runnerId), page(a)),
      log,
    );
    defineTool(
      server,
      {
        name: `flapjack_attach_runner_${k.one}`,
        title: `Attach a ${k.label} to a runner`,
        description:
          `Attach one of your org's ${k.label}s to a runner so every step can use it (attaching twice is harmless). ` +
          `Example: {"runnerId": "4f1c…-uuid", "${k.idField}": "77d0…-uuid"}`,
        input: z.object({ runnerId, [k.idField]: resourceId }).strict(),
        output: attachment,
        idempotent: true,
      },
      async (a) => {
        const args = a as Record<string, string>;
        return (await attachResource(deps, orgId, k.kind, id(args.runnerId as string), id(args[k.idField] as string)))
          .attachment;
      },
      log,
    );
    defineTool(
      server,
      {
        name: `flapjack_detach_runner_${k.one}`,
        title: `Detach a ${k.label} from a runner`,
        description: `Detach a ${k.label} from a runner (the ${k.label} itself is kept). Example: {"runnerId": "4f1c…-uuid", "${k.idField}": "77d0…-uuid"}`,
        input: z.object({ runnerId, [k.idField]: resourceId }).strict(),
        output: deletedOutput,
        destructive: true,
      },
      async (a) => {
        const args = a as Record<string, string>;
        await detachResource(deps, orgId, k.kind, id(args.runnerId as string), id(args[k.idField] as string));
        return { deleted: true, id: id(args[k.idField] as string) };
      },
      log,
    );
  }

  const configs = [
    {
      name: 'web_config',
      what: 'web tools config',
      hint: '{enabled, searchEnabled, researchEnabled}',
      example: '{"runnerId": "4f1c…-uuid", "enabled": true, "searchEnabled": true}',
      body: webConfigSchema,
      response: webConfigResponseSchema,
      get: getWebConfig,
      put: putWebConfig,
    },
    {
      name: 'plan_config',
      what: 'plan config',
      hint: '{enabled}',
      example: '{"runnerId": "4f1c…-uuid", "enabled": true}',
      body: planConfigSchema,
      response: planConfigResponseSchema,
      get: getPlanConfig,
      put: putPlanConfig,
    },
    {
      name: 'budget',
      what: 'budget config (per-run USD cap; onExceed pause or fail)',
      hint: '{enabled, budgetUsd (null = unlimited), onExceed: "pause"|"fail", warningThreshold1?, warningThreshold2?}',
      example: '{"runnerId": "4f1c…-uuid", "enabled": true, "budgetUsd": 5, "onExceed": "pause"}',
      body: budgetConfigSchema,
      response: budgetConfigResponseSchema,
      get: getBudgetConfig,
      put: putBudgetConfig,
    },
  ] as const;
  for (const c of configs) {
    defineTool(
      server,
      {
        name: `flapjack_get_runner_${c.name}`,
        title: `Get a runner's ${c.what}`,
        description: `Get a runner's ${c.what}: ${c.hint} (defaults when never set). Example: {"runnerId": "4f1c…-uuid"}`,
        input: z.object({ runnerId }).strict(),
        output: c.response,
        readOnly: true,
      },
      (a) => c.get(deps, orgId, id(a.runnerId)),
      log,
    );
    defineTool(
      server,
      {
        name: `flapjack_update_runner_${c.name}`,
        title: `Set a runner's ${c.what}`,
        description: `Set a runner's ${c.what}: ${c.hint}; fields left out keep their value. Example: ${c.example}`,
        input: z.object({ runnerId, ...c.body.shape }).strict(),
        output: c.response,
        idempotent: true,
      },
      (a) => {
        const [ids, body] = splitIds(a as Record<string, unknown> & { runnerId: string }, 'runnerId');
        const put = c.put as (d: ServiceDeps, o: string, r: string, b: unknown) => Promise<unknown>;
        return put(deps, orgId, id(ids.runnerId), parseBody(c.body, body));
      },
      log,
    );
  }
}

/* ------------------------------------------------------------------------------------------------ */
/* knowledge                                                                                         */
/* ------------------------------------------------------------------------------------------------ */

const MIME_BY_EXT: Record<string, string> = {
  txt: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  json: 'application/json',
  csv: 'text/csv',
  pdf: 'application/pdf',
};

function registerKnowledgeTools({ server, deps, orgId, log }: McpToolContext, opts: KnowledgeOptions): void {
  const uploadInput = z
    .object({
      scopeType: z.enum(KNOWLEDGE_SCOPES).describe('org: every runner sees it; runner: only the runner scopeId'),
      scopeId: z.uuid().optional().describe('the runner id when scopeType is runner'),
      title: z.string().trim().min(1).max(500).optional(),
      filename: z
        .string()
        .min(1)
        .max(255)
        .describe('file name; its extension picks the parser: .txt, .md, .json, .csv or .pdf'),
      content: z.string().max(10_000_000).optional().describe('the document as text (for text, Markdown, JSON, CSV)'),
      contentBase64: z
        .string()
        .max(14_000_000)
        .optional()
        .describe('the document as base64 (for PDFs and other binary files)'),
      language: z
        .string()
        .regex(/^[a-z_]{1,63}$/)
        .optional()
        .describe('text search configuration, e.g. english (default) or simple'),
    })
    .strict();
  defineTool(
    server,
    {
      name: 'flapjack_upload_knowledge',
      title: 'Upload a knowledge document',
      description:
        'Index a document for retrieval by agent steps: scoped to the org or to one runner. Give the text in content ' +
        '(or a PDF in contentBase64). Example: {"scopeType": "runner", "scopeId": "4f1c…-uuid", "title": "Product Catalog", ' +
        '"filename": "catalog.md", "content": "# Products\\n…"}',
      input: uploadInput,
      output: knowledgeDocResponseSchema,
    },
    (a) => {
      if ((a.content === undefined) === (a.contentBase64 === undefined)) {
        throw AppError.validation([
          { path: 'content', message: 'give exactly one of content (text) or contentBase64 (binary)' },
        ]);
      }
      const buffer =
        a.content !== undefined ? Buffer.from(a.content, 'utf8') : Buffer.from(a.contentBase64 ?? '', 'base64');
      const ext = /\.([A-Za-z0-9]+)$/.exec(a.filename)?.[1]?.toLowerCase() ?? '';
      return uploadKnowledge(
        deps,
        orgId,
        {
          file: {
            buffer,
            originalname: a.filename,
            mimetype: MIME_BY_EXT[ext] ?? 'application/octet-stream',
            size: buffer.length,
          },
          scopeType: a.scopeType,
          scopeId: a.scopeId?.toLowerCase(),
          title: a.title,
          language: a.language,
        },
        opts,
      );
    },
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_search_knowledge',
      title: 'Search knowledge',
      description:
        'Search knowledge documents (org-scoped plus those of runnerId) and get the best chunks with their sources. ' +
        'Example: {"q": "return policy for electronics", "runnerId": "4f1c…-uuid", "k": 5}',
      input: z
        .object({
          q: z.string().trim().min(1).max(1000).describe('what to look for'),
          runnerId: z.uuid().optional().describe("also search this runner's own documents"),
          k: z.number().int().min(1).max(50).optional().describe('how many chunks (default 5)'),
        })
        .strict(),
      output: listOutput(knowledgeHitSchema),
      readOnly: true,
    },
    (a) => searchKnowledge(deps, orgId, { q: a.q, runnerId: a.runnerId?.toLowerCase(), k: a.k ?? 5 }, opts),
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_list_knowledge',
      title: 'List knowledge documents',
      description:
        'List knowledge documents, newest first, optionally of one scope. Example: {"scopeType": "runner", "scopeId": "4f1c…-uuid"}',
      input: z
        .object({ scopeType: z.enum(KNOWLEDGE_SCOPES).optional(), scopeId: z.uuid().optional(), ...listArgs })
        .strict(),
      output: listOutput(knowledgeDocResponseSchema),
      readOnly: true,
    },
    (a) => listKnowledgeDocs(deps, orgId, { scopeType: a.scopeType, scopeId: a.scopeId?.toLowerCase(), ...page(a) }),
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_delete_knowledge',
      title: 'Delete a knowledge document',
      description: 'Delete a knowledge document and its chunks. Example: {"docId": "5e0a…-uuid"}',
      input: z.object({ docId: uuidArg('the document') }).strict(),
      output: deletedOutput,
      destructive: true,
    },
    async (a) => {
      await deleteKnowledgeDoc(deps, orgId, id(a.docId));
      return { deleted: true, id: id(a.docId) };
    },
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_get_knowledge',
      title: 'Get a knowledge document',
      description:
        'Get a knowledge document\'s metadata (title, scope, file, chunk count). Example: {"docId": "5e0a…-uuid"}',
      input: z.object({ docId: uuidArg('the document') }).strict(),
      output: knowledgeDocResponseSchema,
      readOnly: true,
    },
    (a) => getKnowledgeDoc(deps, orgId, id(a.docId)),
    log,
  );
}

/* ------------------------------------------------------------------------------------------------ */
/* org resources: agents, MCP servers, integrations, tools, skills                                   */
/* ------------------------------------------------------------------------------------------------ */

interface OrgResource {
  one: string;
  plural: string;
  label: string;
  idArg: string;
  create: z.ZodObject;
  update: z.ZodObject;
  response: z.ZodObject;
  createExample: string;
  updateExample: string;
  about: string;
  ops: {
    create: (d: ServiceDeps, o: string, b: never) => Promise<unknown>;
    list: (d: ServiceDeps, o: string, q: { limit: number; cursor?: string }) => Promise<unknown>;
    get: (d: ServiceDeps, o: string, id: string) => Promise<unknown>;
    update: (d: ServiceDeps, o: string, id: string, b: never) => Promise<unknown>;
    remove: (d: ServiceDeps, o: string, id: string) => Promise<void>;
  };
}

const ORG_RESOURCES: OrgResource[] = [
  {
    one: 'agent',
    plural: 'agents',
    label: 'agent',
    idArg: 'agentId',
    create: agentCreateSchema,
    update: agentUpdateSchema,
    response: agentResponseSchema,
    about:
      'An agent is a reusable preamble + model (+ its own MCP servers, integrations, tools, web config) that agent steps point at with agentId.',
    createExample: '{"name": "Researcher", "preamble": "You find products on a web page.", "model": "gpt-4o-mini"}',
    updateExample: '{"agentId": "a1b2…-uuid", "model": "claude-sonnet-4-6"}',
    ops: { create: createAgent, list: listAgents, get: getAgent, update: updateAgent, remove: deleteAgent },
  },
  {
    one: 'mcp_server',
    plural: 'mcp_servers',
    label: 'MCP server',
    idArg: 'mcpServerId',
    create: mcpServerCreateSchema,
    update: mcpServerUpdateSchema,
    response: mcpServerResponseSchema,
    about:
      'An MCP server your agent steps can call tools of: stdio (command, args, env) or http (url, headers). Secrets are stored encrypted and shown masked.',
    createExample:
      '{"slug": "github", "transport": "http", "url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer …"}}',
    updateExample: '{"mcpServerId": "b2c3…-uuid", "name": "GitHub (prod)"}',
    ops: {
      create: createMcpServerRecord,
      list: listMcpServers,
      get: getMcpServer,
      update: updateMcpServer,
      remove: deleteMcpServer,
    },
  },
  {
    one: 'integration',
    plural: 'integrations',
    label: 'database integration',
    idArg: 'integrationId',
    create: integrationCreateSchema,
    update: integrationUpdateSchema,
    response: integrationResponseSchema,
    about:
      'A PostgreSQL database agent steps may query (read-only by default). The connection string is stored encrypted and shown masked.',
    createExample:
      '{"name": "analytics", "kind": "postgres", "connectionString": "postgres://reader:…@db.example.com/analytics"}',
    updateExample: '{"integrationId": "c3d4…-uuid", "allowedSchemas": ["public"]}',
    ops: {
      create: createIntegration,
      list: listIntegrations,
      get: getIntegration,
      update: updateIntegration,
      remove: deleteIntegration,
    },
  },
  {
    one: 'tool',
    plural: 'tools',
    label: 'custom tool',
    idArg: 'toolId',
    create: toolCreateSchema,
    update: toolUpdateSchema,
    response: toolResponseSchema,
    about:
      'A custom HTTP tool an agent step can call: name, description, JSON Schema parameters, url, method, headers (stored encrypted).',
    createExample:
      '{"name": "lookup_sku", "description": "Find a product by SKU", "parameters": {"type": "object", "properties": {"sku": {"type": "string"}}}, "url": "https://api.example.com/sku", "method": "POST"}',
    updateExample: '{"toolId": "d4e5…-uuid", "description": "Find one product by its SKU"}',
    ops: { create: createTool, list: listTools, get: getTool, update: updateTool, remove: deleteTool },
  },
  {
    one: 'skill',
    plural: 'skills',
    label: 'skill',
    idArg: 'skillId',
    create: skillCreateSchema,
    update: skillUpdateSchema,
    response: skillResponseSchema,
    about: 'A skill: instructions (and optional files) an agent step can load when relevant.',
    createExample:
      '{"name": "Pricing rules", "instructions": "Round prices to .99 …", "files": [{"name": "table.csv", "content": "a,b"}]}',
    updateExample: '{"skillId": "e5f6…-uuid", "instructions": "Round prices to .95"}',
    ops: { create: createSkill, list: listSkills, get: getSkill, update: updateSkill, remove: deleteSkill },
  },
];

function registerOrgResourceTools({ server, deps, orgId, log }: McpToolContext): void {
  for (const r of ORG_RESOURCES) {
    const rid = uuidArg(`the ${r.label}`);
    const an = /^[aeiouAEIOU]|^MCP/.test(r.label) ? 'an' : 'a';
    defineTool(
      server,
      {
        name: `flapjack_list_${r.plural}`,
        title: `List ${r.label}s`,
        description: `List your org's ${r.label}s, newest first. ${r.about} Example: {"limit": 50}`,
        input: z.object(listArgs).strict(),
        output: listOutput(r.response),
        readOnly: true,
      },
      (a) => r.ops.list(deps, orgId, page(a)),
      log,
    );
    defineTool(
      server,
      {
        name: `flapjack_create_${r.one}`,
        title: `Create ${an} ${r.label}`,
        description: `Create ${an} ${r.label}. ${r.about} Example: ${r.createExample}`,
        input: r.create,
        output: r.response,
      },
      (a) => r.ops.create(deps, orgId, parseBody(r.create, a) as never),
      log,
    );
    defineTool(
      server,
      {
        name: `flapjack_get_${r.one}`,
        title: `Get ${an} ${r.label}`,
        description: `Get ${an} ${r.label} by id. Example: {"${r.idArg}": "…-uuid"}`,
        input: z.object({ [r.idArg]: rid }).strict(),
        output: r.response,
        readOnly: true,
      },
      (a) => r.ops.get(deps, orgId, id((a as Record<string, string>)[r.idArg] as string)),
      log,
    );
    defineTool(
      server,
      {
        name: `flapjack_update_${r.one}`,
        title: `Update ${an} ${r.label}`,
        description: `Change fields of ${an} ${r.label} (left-out fields keep their value). Example: ${r.updateExample}`,
        input: z.object({ [r.idArg]: rid, ...r.update.shape }).strict(),
        output: r.response,
        idempotent: true,
      },
      (a) => {
        const [ids, body] = splitIds(a as Record<string, unknown>, r.idArg);
        return r.ops.update(deps, orgId, id(ids[r.idArg] as string), parseBody(r.update, body) as never);
      },
      log,
    );
    defineTool(
      server,
      {
        name: `flapjack_delete_${r.one}`,
        title: `Delete ${an} ${r.label}`,
        description: `Delete ${an} ${r.label} (runners and agents stop using it). Example: {"${r.idArg}": "…-uuid"}`,
        input: z.object({ [r.idArg]: rid }).strict(),
        output: deletedOutput,
        destructive: true,
      },
      async (a) => {
        const rid2 = id((a as Record<string, string>)[r.idArg] as string);
        await r.ops.remove(deps, orgId, rid2);
        return { deleted: true, id: rid2 };
      },
      log,
    );
  }
}
