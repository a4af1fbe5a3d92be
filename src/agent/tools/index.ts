/**
 * The agent's tools (see ../tool-types.ts for the contract with the loop):
 *
 * | family    | offered when                         | model-facing name                  |
 * | --------- | ------------------------------------ | ---------------------------------- |
 * | MCP       | a server is attached                 | `<slug>__<tool>` (made safe)       |
 * | HTTP      | a custom tool is attached            | the tool's name                    |
 * | SQL       | an integration is attached           | `sql_<integration name>`           |
 * | knowledge | always                               | `search_knowledge`                 |
 * | web       | web config enables it and a provider | `web_search`, `web_research`       |
 * | plan      | plan config is enabled               | `update_plan`                      |
 *
 * A tool's failure (bad arguments, an HTTP error, a refused query, an MCP tool error, an unreachable
 * server) is a result with `isError: true`: the model reads it and the step goes on. `executeTool` throws
 * only when the run is cancelled.
 */
import { validateAgainst } from '../../validation/json-schema';
import { openSecretMap, openStoredSecret, secretContext } from '../../crypto/secret-box';
import type { ResolvedStepConfig } from '../../shared/step-config';
import type {
  AgentToolDef,
  BuildKnowledgeContext,
  BuildToolset,
  ExecuteTool,
  PlanItem,
  ToolContext,
  ToolResult,
} from '../tool-types';
import { callHttpTool, clip } from './http-tool';
import { buildKnowledgeContext, formatKnowledge, KNOWLEDGE_DEFAULTS, sourcesOf } from './knowledge';
import { callServerTool, listServerTools, McpToolError } from './mcp-tools';
import { mcpToolName, NameRegistry } from './names';
import { runReadOnlyQuery, SqlToolError } from './sql';
import { research, WEB_DEFAULTS } from './web';

export const BUILTIN_TOOL_NAMES = ['search_knowledge', 'web_search', 'web_research', 'update_plan'] as const;
export const PLAN_LIMITS = { items: 50, textChars: 500 } as const;

/** An object schema for the provider: `$schema` dropped (some providers refuse it), `type: object` ensured. */
const objectSchema = (s: Record<string, unknown> | undefined): Record<string, unknown> => {
  if (!s || typeof s !== 'object' || Array.isArray(s)) return { type: 'object', properties: {} };
  const { $schema: _dialect, ...rest } = s;
  return rest.type === undefined ? { type: 'object', properties: {}, ...rest } : rest;
};

const errorResult = (content: string): ToolResult => ({ content, isError: true });
const okResult = (data: unknown): ToolResult => ({
  content: clip(typeof data === 'string' ? data : JSON.stringify(data, null, 2)),
  isError: false,
  data,
});

/* ------------------------------------------------------------------------------------------------ */
/* buildToolset                                                                                      */
/* ------------------------------------------------------------------------------------------------ */

export const buildToolset: BuildToolset = async (config, ctx) => {
  const names = new NameRegistry(BUILTIN_TOOL_NAMES);
  const tools: AgentToolDef[] = [];
  const notes: string[] = [];

  // MCP servers: list their tools (in parallel; a server that cannot be reached is left out with a note).
  const listed = await Promise.all(
    config.mcpServers.map(async (server) => {
      try {
        return { server, tools: await listServerTools(server, ctx), error: null };
      } catch (e) {
        if (ctx.signal?.aborted) throw e;
        return { server, tools: [], error: (e as Error).message };
      }
    }),
  );
  for (const { server, tools: serverTools, error } of listed) {
    if (error) {
      notes.push(`MCP server "${server.slug}" not offered: ${error}`);
      continue;
    }
    for (const t of serverTools) {
      tools.push({
        name: names.claim(mcpToolName(server.slug, t.name)),
        description: clip(`[${server.name || server.slug}] ${t.description ?? t.title ?? t.name}`, 2_000),
        inputSchema: objectSchema(t.inputSchema),
        source: { kind: 'mcp', id: server.id, remoteName: t.name },
      });
    }
  }

  for (const tool of config.tools) {
    tools.push({
      name: names.claim(tool.name),
      description: tool.description || `Calls ${tool.method} ${safeHost(tool.url)}`,
      inputSchema: objectSchema(tool.parameters),
      source: { kind: 'http', id: tool.id },
    });
  }

  for (const integration of config.integrations) {
    const schemas = integration.allowedSchemas.length ? integration.allowedSchemas : ['public'];
    tools.push({
      name: names.claim(`sql_${integration.name.toLowerCase()}`),
      description:
        `Runs one read-only SQL query (PostgreSQL) on the database "${integration.name}" and returns the rows as JSON ` +
        `(at most ${SQL_ROW_CAP} rows). Only the schemas ${schemas.join(', ')} may be read; writes are refused.`,
      inputSchema: {
        type: 'object',
        properties: { query: { type: 'string', description: 'One SELECT (or WITH … SELECT) statement' } },
        required: ['query'],
        additionalProperties: false,
      },
      source: { kind: 'sql', id: integration.id },
    });
  }

  tools.push({
    name: 'search_knowledge',
    description:
      "Searches the org's and this runner's knowledge documents (full-text; quotes, `or` and `-word` work) and " +
      'returns the best matching passages with their sources.',
    inputSchema: {
      type: 'object',
      properties: {
        query: { type: 'string', description: 'What to look for' },
        k: {
          type: 'integer',
          minimum: 1,
          maximum: KNOWLEDGE_DEFAULTS.toolMaxK,
          description: 'How many passages (default 5)',
        },
      },
      required: ['query'],
      additionalProperties: false,
    },
    source: { kind: 'knowledge' },
  });

  const web = config.webConfig;
  if (web.enabled && (web.searchEnabled || web.researchEnabled)) {
    if (!ctx.deps.webSearch) {
      notes.push(
        'Web tools not offered: web config enables them, but no web search provider is configured on the worker (set FLAPJACK_WEB_SEARCH_URL)',
      );
    } else {
      if (web.searchEnabled) {
        tools.push({
          name: 'web_search',
          description: 'Searches the web and returns the top results (title, URL, snippet).',
          inputSchema: {
            type: 'object',
            properties: {
              query: { type: 'string' },
              limit: {
                type: 'integer',
                minimum: 1,
                maximum: 10,
                description: `Results (default ${WEB_DEFAULTS.searchLimit})`,
              },
            },
            required: ['query'],
            additionalProperties: false,
          },
          source: { kind: 'web', remoteName: 'search' },
        });
      }
      if (web.researchEnabled) {
        tools.push({
          name: 'web_research',
          description:
            'Researches a question on the web: searches, reads the top pages and returns their text with their URLs.',
          inputSchema: {
            type: 'object',
            properties: {
              question: { type: 'string' },
              pages: {
                type: 'integer',
                minimum: 1,
                maximum: 5,
                description: `Pages to read (default ${WEB_DEFAULTS.researchPages})`,
              },
            },
            required: ['question'],
            additionalProperties: false,
          },
          source: { kind: 'web', remoteName: 'research' },
        });
      }
    }
  } else if (web.enabled) {
    notes.push('Web tools not offered: web config is enabled but neither search nor research is switched on');
  }

  if (config.planEnabled) {
    tools.push({
      name: 'update_plan',
      description:
        'Keeps your plan for this task as a checklist: send the whole list each time, every item with a status ' +
        '(todo, doing, done). The current list is kept in the step record.',
      inputSchema: {
        type: 'object',
        properties: {
          items: {
            type: 'array',
            maxItems: PLAN_LIMITS.items,
            items: {
              type: 'object',
              properties: { text: { type: 'string' }, status: { type: 'string', enum: ['todo', 'doing', 'done'] } },
              required: ['text', 'status'],
              additionalProperties: false,
            },
          },
        },
        required: ['items'],
        additionalProperties: false,
      },
      source: { kind: 'plan' },
    });
  }

  return { tools, notes };
};

const SQL_ROW_CAP = 200;

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'its URL';
  }
}

/* ------------------------------------------------------------------------------------------------ */
/* executeTool                                                                                       */
/* ------------------------------------------------------------------------------------------------ */

export const executeTool: ExecuteTool = async (call, config, ctx) => {
  const def = ctx.tools.find((t) => t.name === call.name);
  if (!def) return errorResult(`Unknown tool "${call.name}": it is not offered to this step`);
  const args =
    call.arguments && typeof call.arguments === 'object' && !Array.isArray(call.arguments) ? call.arguments : {};
  const issues = argumentIssues(def.inputSchema, args);
  if (issues.length > 0) {
    return errorResult(
      `Invalid arguments for "${call.name}": ${issues
        .slice(0, 10)
        .map((i) => `${i.path} ${i.message}`)
        .join('; ')}`,
    );
  }
  try {
    return await dispatch(def, args, config, ctx);
  } catch (e) {
    if (ctx.signal?.aborted) throw e;
    ctx.deps.log.warn(
      { runId: ctx.runId, step: ctx.stepName, tool: call.name, kind: def.source.kind, err: (e as Error).message },
      'tool call failed',
    );
    return errorResult(`Tool "${call.name}" failed: ${(e as Error).message}`);
  }
};

/** Checks the arguments against the tool's schema; a schema ajv cannot compile is not enforced here (the tool checks). */
function argumentIssues(schema: Record<string, unknown>, args: Record<string, unknown>) {
  const { $schema: _ignored, ...rest } = schema;
  try {
    return validateAgainst(rest, args, 'arguments');
  } catch {
    return [];
  }
}

async function dispatch(
  def: AgentToolDef,
  args: Record<string, unknown>,
  config: ResolvedStepConfig,
  ctx: ToolContext,
): Promise<ToolResult> {
  switch (def.source.kind) {
    case 'mcp': {
      const server = config.mcpServers.find((s) => s.id === def.source.id);
      if (!server) return errorResult(`The MCP server of "${def.name}" is no longer part of this step`);
      try {
        const res = await callServerTool(server, def.source.remoteName ?? def.name, args, ctx);
        const content =
          res.text || (res.structuredContent ? JSON.stringify(res.structuredContent) : JSON.stringify(res.content));
        return {
          content: clip(content || '(no output)'),
          isError: res.isError,
          ...(res.structuredContent ? { data: res.structuredContent } : {}),
        };
      } catch (e) {
        if (ctx.signal?.aborted) throw e;
        return errorResult(
          e instanceof McpToolError ? e.message : `MCP server "${server.slug}": ${(e as Error).message}`,
        );
      }
    }
    case 'http': {
      const tool = config.tools.find((t) => t.id === def.source.id);
      if (!tool) return errorResult(`The tool "${def.name}" is no longer part of this step`);
      let headers: Record<string, string> = {};
      if (tool.headersCiphertext) {
        if (!ctx.deps.secrets)
          return errorResult(
            `Tool "${tool.name}" has headers, and this worker has no FLAPJACK_SECRET_KEY to open them`,
          );
        try {
          headers = openSecretMap(ctx.deps.secrets, ctx.orgId, 'tools.headers', tool.headersCiphertext) ?? {};
        } catch {
          return errorResult(`The headers of tool "${tool.name}" cannot be decrypted on this worker`);
        }
      }
      const out = await callHttpTool({ name: tool.name, url: tool.url, method: tool.method, headers }, args, {
        guard: ctx.deps.guard,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(ctx.idempotencyKey ? { idempotencyKey: ctx.idempotencyKey } : {}),
      });
      return {
        content: out.text,
        isError: out.isError,
        ...(out.status !== undefined ? { data: { status: out.status } } : {}),
      };
    }
    case 'sql': {
      const integration = config.integrations.find((i) => i.id === def.source.id);
      if (!integration) return errorResult(`The database of "${def.name}" is no longer part of this step`);
      if (!integration.connectionCiphertext)
        return errorResult(`The database "${integration.name}" has no connection string in this run's snapshot`);
      if (!ctx.deps.secrets)
        return errorResult(
          `The database "${integration.name}" cannot be opened: this worker has no FLAPJACK_SECRET_KEY`,
        );
      let connectionString: string;
      try {
        connectionString = openStoredSecret<string>(
          ctx.deps.secrets,
          integration.connectionCiphertext,
          secretContext(ctx.orgId, 'integrations.connection'),
          false,
        );
      } catch {
        return errorResult(`The connection string of "${integration.name}" cannot be decrypted on this worker`);
      }
      try {
        const res = await runReadOnlyQuery({
          connectionString,
          sql: String(args.query ?? ''),
          allowedSchemas: integration.allowedSchemas,
          rowCap: SQL_ROW_CAP,
          guard: ctx.deps.guard,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        });
        return okResult(res);
      } catch (e) {
        if (ctx.signal?.aborted) throw e;
        if (e instanceof SqlToolError) return errorResult(e.message);
        throw e;
      }
    }
    case 'knowledge': {
      const k = typeof args.k === 'number' ? args.k : KNOWLEDGE_DEFAULTS.toolDefaultK;
      const hits = await ctx.deps.retrieveKnowledge(ctx.orgId, ctx.runnerId, String(args.query ?? ''), k);
      if (hits.length === 0) return { content: 'No matching knowledge.', isError: false, data: { sources: [] } };
      return { content: formatKnowledge(hits), isError: false, data: { sources: sourcesOf(hits) } };
    }
    case 'web': {
      const provider = ctx.deps.webSearch;
      if (!provider) return errorResult('No web search provider is configured on this worker');
      if (def.source.remoteName === 'research') {
        const pages = typeof args.pages === 'number' ? args.pages : undefined;
        return okResult(
          await research(provider, String(args.question ?? ''), {
            guard: ctx.deps.guard,
            ...(pages ? { pages } : {}),
            ...(ctx.signal ? { signal: ctx.signal } : {}),
          }),
        );
      }
      const limit = typeof args.limit === 'number' ? args.limit : WEB_DEFAULTS.searchLimit;
      return okResult(
        await provider.search(String(args.query ?? ''), { limit, ...(ctx.signal ? { signal: ctx.signal } : {}) }),
      );
    }
    case 'plan': {
      const items = (args.items as PlanItem[]).map((i) => ({
        text: String(i.text).slice(0, PLAN_LIMITS.textChars),
        status: i.status,
      }));
      const done = items.filter((i) => i.status === 'done').length;
      return {
        content: `Plan saved (${done}/${items.length} done):\n${items.map((i) => `- [${i.status === 'done' ? 'x' : i.status === 'doing' ? '~' : ' '}] ${i.text}`).join('\n')}`,
        isError: false,
        data: { plan: items },
        recordPatch: { plan: items },
      };
    }
  }
}

/* ------------------------------------------------------------------------------------------------ */
/* knowledge context                                                                                 */
/* ------------------------------------------------------------------------------------------------ */

export const knowledgeContext: BuildKnowledgeContext = async (_config, ctx) =>
  buildKnowledgeContext({ orgId: ctx.orgId, runnerId: ctx.runnerId, stepInput: ctx.stepInput }, ctx.deps);

export { closeMcpConnections, mcpConnectionConfig } from './mcp-tools';
