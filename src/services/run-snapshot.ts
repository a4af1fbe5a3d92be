/**
 * The connection definitions frozen into a run's snapshot (issue 9): the runner's MCP servers,
 * integrations, tools and skills, and every agent its agent steps reference with the agent's own
 * connections — the inputs of `resolveStepConfig`, so editing an agent or a tool never changes a run
 * in flight. Secrets stay ciphertext (`*Ciphertext` fields); only the activity that connects opens them.
 *
 * Read in the same multi-statement round trip as the rest of the snapshot (see `createRun`).
 */
import type { Sql } from '../db/sql-batch';
import type { RunnerSnapshot } from '../shared/run-types';
import type {
  AgentStepContext,
  ResolvedIntegration,
  ResolvedMcpServer,
  ResolvedSkill,
  ResolvedTool,
  WebConfig,
} from '../shared/step-config';

type Row = Record<string, unknown>;
interface LinkRow {
  k: 'mcp' | 'integration' | 'tool' | 'skill';
  owner: string | null;
  row: Row;
}

/** Two reads: the runner's connection definitions, and the referenced agents with theirs. */
export function connectionQueries(q: Sql, runnerId: string): string[] {
  const id = q.lit(runnerId);
  const agentIds = `SELECT agent_id FROM runner_steps WHERE runner_id = ${id} AND agent_id IS NOT NULL`;
  return [
    `SELECT k, owner, row FROM (
       SELECT 'mcp' AS k, NULL::uuid AS owner, l.created_at, to_jsonb(m) AS row
         FROM runner_mcps l JOIN mcp_servers m ON m.id = l.mcp_server_id WHERE l.runner_id = ${id}
       UNION ALL SELECT 'integration', NULL, l.created_at, to_jsonb(i)
         FROM runner_integrations l JOIN integrations i ON i.id = l.integration_id WHERE l.runner_id = ${id}
       UNION ALL SELECT 'tool', NULL, l.created_at, to_jsonb(t)
         FROM runner_tools l JOIN tools t ON t.id = l.tool_id WHERE l.runner_id = ${id}
       UNION ALL SELECT 'skill', NULL, l.created_at, to_jsonb(s) - 'files'
         FROM runner_skills l JOIN skills s ON s.id = l.skill_id WHERE l.runner_id = ${id}
       UNION ALL SELECT 'mcp', l.agent_id, l.created_at, to_jsonb(m)
         FROM agent_mcps l JOIN mcp_servers m ON m.id = l.mcp_server_id WHERE l.agent_id IN (${agentIds})
       UNION ALL SELECT 'integration', l.agent_id, l.created_at, to_jsonb(i)
         FROM agent_integrations l JOIN integrations i ON i.id = l.integration_id WHERE l.agent_id IN (${agentIds})
       UNION ALL SELECT 'tool', l.agent_id, l.created_at, to_jsonb(t)
         FROM agent_tools l JOIN tools t ON t.id = l.tool_id WHERE l.agent_id IN (${agentIds})
     ) x ORDER BY owner NULLS FIRST, k, created_at`,
    `SELECT id, name, preamble, model, web_config FROM agents WHERE id IN (${agentIds})`,
  ];
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function mcpFrom(r: Row): ResolvedMcpServer {
  return {
    id: String(r.id),
    slug: String(r.slug),
    name: String(r.name),
    transport: r.transport === 'http' ? 'http' : 'stdio',
    command: str(r.command),
    args: Array.isArray(r.args) ? r.args.map(String) : null,
    url: str(r.url),
    hasEnv: r.env_encrypted != null,
    hasHeaders: r.headers_encrypted != null,
    envCiphertext: str(r.env_encrypted),
    headersCiphertext: str(r.headers_encrypted),
  };
}

function integrationFrom(r: Row): ResolvedIntegration {
  return {
    id: String(r.id),
    name: String(r.name),
    kind: 'postgres',
    readOnly: r.read_only !== false,
    allowedSchemas: Array.isArray(r.allowed_schemas) ? r.allowed_schemas.map(String) : [],
    connectionCiphertext: str(r.connection_encrypted),
  };
}

function toolFrom(r: Row): ResolvedTool {
  return {
    id: String(r.id),
    name: String(r.name),
    description: str(r.description) ?? '',
    parameters: (r.parameters as Record<string, unknown> | null) ?? {},
    url: String(r.url),
    method: str(r.method) ?? 'POST',
    hasHeaders: r.headers_encrypted != null,
    headersCiphertext: str(r.headers_encrypted),
  };
}

const skillFrom = (r: Row): ResolvedSkill => ({
  id: String(r.id),
  name: String(r.name),
  instructions: str(r.instructions) ?? '',
});

function webFrom(v: unknown): WebConfig | null {
  if (!v || typeof v !== 'object') return null;
  const w = v as Partial<WebConfig>;
  return { enabled: !!w.enabled, searchEnabled: !!w.searchEnabled, researchEnabled: !!w.researchEnabled };
}

/** Adds the definitions read by `connectionQueries` to a snapshot being built. */
export function withConnectionDefinitions(stored: RunnerSnapshot, links: LinkRow[], agents: Row[]): RunnerSnapshot {
  const own = links.filter((l) => l.owner === null);
  const of = (rows: LinkRow[], k: LinkRow['k']) => rows.filter((l) => l.k === k).map((l) => l.row);
  const byAgent: Record<string, AgentStepContext> = {};
  for (const a of agents) {
    const id = String(a.id);
    const mine = links.filter((l) => l.owner === id);
    byAgent[id] = {
      id,
      name: String(a.name),
      preamble: str(a.preamble),
      model: str(a.model),
      mcpServers: of(mine, 'mcp').map(mcpFrom),
      integrations: of(mine, 'integration').map(integrationFrom),
      tools: of(mine, 'tool').map(toolFrom),
      webConfig: webFrom(a.web_config),
    };
  }
  return {
    ...stored,
    definitions: {
      mcpServers: of(own, 'mcp').map(mcpFrom),
      integrations: of(own, 'integration').map(integrationFrom),
      tools: of(own, 'tool').map(toolFrom),
      skills: of(own, 'skill').map(skillFrom),
    },
    agents: byAgent,
  };
}
