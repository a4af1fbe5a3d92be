import type { z } from 'zod';
import type { agentResponseSchema } from '../shared/connection-schemas';
import type { Agent } from '../generated/prisma/client';
import { withOrg, type Tx } from '../db/scoped';
import { AppError, type FieldIssue } from '../errors/app-error';
import type { AgentCreate, AgentUpdate, WebConfigInput } from '../shared/connection-schemas';
import type { AgentStepContext, WebConfig } from '../shared/step-config';
import type { ServiceDeps } from './deps';
import { toResolvedIntegration } from './integrations';
import { toResolvedMcpServer } from './mcp-servers';
import { afterCursor, decodeCursor, newestFirst, page } from '../db/pagination';
import { jsonOrNull } from './runners';
import { toResolvedTool } from './tools';

export function normalizeWebConfig(w: WebConfigInput | WebConfig | null | undefined): WebConfig | null {
  if (!w) return null;
  return { enabled: w.enabled, searchEnabled: w.searchEnabled ?? false, researchEnabled: w.researchEnabled ?? false };
}

interface AgentLinks {
  mcpServerIds: string[];
  integrationIds: string[];
  toolIds: string[];
}

export function serializeAgent(a: Agent, links: AgentLinks) {
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    preamble: a.preamble,
    model: a.model,
    webConfig: normalizeWebConfig(a.webConfig as WebConfig | null),
    mcpServerIds: links.mcpServerIds,
    integrationIds: links.integrationIds,
    toolIds: links.toolIds,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  } satisfies z.input<typeof agentResponseSchema>;
}

const linkOrder = [{ createdAt: 'asc' as const }];

async function loadLinks(tx: Tx, agentId: string): Promise<AgentLinks> {
  // Sequential: queries of one interactive transaction share a connection.
  const mcps = await tx.agentMcp.findMany({ where: { agentId }, orderBy: linkOrder, select: { mcpServerId: true } });
  const integrations = await tx.agentIntegration.findMany({
    where: { agentId },
    orderBy: linkOrder,
    select: { integrationId: true },
  });
  const tools = await tx.agentTool.findMany({ where: { agentId }, orderBy: linkOrder, select: { toolId: true } });
  return {
    mcpServerIds: mcps.map((l) => l.mcpServerId),
    integrationIds: integrations.map((l) => l.integrationId),
    toolIds: tools.map((l) => l.toolId),
  };
}

/** Every referenced id must name a resource of the org (RLS hides the others): else 422 naming the field. */
async function checkReferences(tx: Tx, body: Partial<AgentLinks>): Promise<void> {
  const issues: FieldIssue[] = [];
  const check = async (
    field: keyof AgentLinks,
    what: string,
    ids: string[] | undefined,
    find: (ids: string[]) => Promise<{ id: string }[]>,
  ) => {
    if (!ids?.length) return;
    const found = new Set((await find(ids)).map((r) => r.id.toLowerCase()));
    ids.forEach((id, i) => {
      if (!found.has(id.toLowerCase()))
        issues.push({ path: `${field}.${i}`, message: `no ${what} with this id exists in your org` });
    });
  };
  await check('mcpServerIds', 'MCP server', body.mcpServerIds, (ids) =>
    tx.mcpServer.findMany({ where: { id: { in: ids } }, select: { id: true } }),
  );
  await check('integrationIds', 'integration', body.integrationIds, (ids) =>
    tx.integration.findMany({ where: { id: { in: ids } }, select: { id: true } }),
  );
  await check('toolIds', 'tool', body.toolIds, (ids) =>
    tx.tool.findMany({ where: { id: { in: ids } }, select: { id: true } }),
  );
  if (issues.length) throw AppError.validation(issues);
}

/** Replaces the agent's links; the given order is kept (creation times one millisecond apart). */
async function setLinks(tx: Tx, orgId: string, agentId: string, body: Partial<AgentLinks>): Promise<void> {
  const base = Date.now();
  const at = (i: number) => new Date(base + i);
  if (body.mcpServerIds !== undefined) {
    await tx.agentMcp.deleteMany({ where: { agentId } });
    if (body.mcpServerIds.length) {
      await tx.agentMcp.createMany({
        data: body.mcpServerIds.map((mcpServerId, i) => ({ agentId, mcpServerId, orgId, createdAt: at(i) })),
      });
    }
  }
  if (body.integrationIds !== undefined) {
    await tx.agentIntegration.deleteMany({ where: { agentId } });
    if (body.integrationIds.length) {
      await tx.agentIntegration.createMany({
        data: body.integrationIds.map((integrationId, i) => ({ agentId, integrationId, orgId, createdAt: at(i) })),
      });
    }
  }
  if (body.toolIds !== undefined) {
    await tx.agentTool.deleteMany({ where: { agentId } });
    if (body.toolIds.length) {
      await tx.agentTool.createMany({
        data: body.toolIds.map((toolId, i) => ({ agentId, toolId, orgId, createdAt: at(i) })),
      });
    }
  }
}

export async function requireAgent(tx: Tx, id: string): Promise<Agent> {
  const a = await tx.agent.findFirst({ where: { id } });
  if (!a) throw AppError.notFound('Agent');
  return a;
}

export async function createAgent(deps: ServiceDeps, orgId: string, body: AgentCreate) {
  return withOrg(deps.db, orgId, async (tx) => {
    await checkReferences(tx, body);
    const a = await tx.agent.create({
      data: {
        orgId,
        name: body.name,
        description: body.description ?? null,
        preamble: body.preamble ?? '',
        model: body.model ?? null,
        webConfig: jsonOrNull(normalizeWebConfig(body.webConfig)),
      },
    });
    await setLinks(tx, orgId, a.id, body);
    return serializeAgent(a, await loadLinks(tx, a.id));
  });
}

export async function listAgents(deps: ServiceDeps, orgId: string, q: { limit: number; cursor?: string }) {
  const cursor = decodeCursor(q.cursor);
  return withOrg(deps.db, orgId, async (tx) => {
    const rows = await tx.agent.findMany({ where: afterCursor(cursor), orderBy: newestFirst, take: q.limit + 1 });
    const agentIds = rows.slice(0, q.limit).map((a) => a.id);
    // One query per link table (not a multi-relation include, which Prisma runs concurrently on the
    // transaction's single connection).
    const where = { agentId: { in: agentIds } };
    const mcps = await tx.agentMcp.findMany({ where, orderBy: linkOrder });
    const integrations = await tx.agentIntegration.findMany({ where, orderBy: linkOrder });
    const tools = await tx.agentTool.findMany({ where, orderBy: linkOrder });
    const of = <T extends { agentId: string }, K extends keyof T>(links: T[], agentId: string, key: K) =>
      links.filter((l) => l.agentId === agentId).map((l) => l[key] as string);
    return page(rows, q.limit, (a) =>
      serializeAgent(a, {
        mcpServerIds: of(mcps, a.id, 'mcpServerId'),
        integrationIds: of(integrations, a.id, 'integrationId'),
        toolIds: of(tools, a.id, 'toolId'),
      }),
    );
  });
}

export async function getAgent(deps: ServiceDeps, orgId: string, id: string) {
  return withOrg(deps.db, orgId, async (tx) => serializeAgent(await requireAgent(tx, id), await loadLinks(tx, id)));
}

/** Partial update; an id list given replaces the agent's whole list. */
export async function updateAgent(deps: ServiceDeps, orgId: string, id: string, body: AgentUpdate) {
  return withOrg(deps.db, orgId, async (tx) => {
    await requireAgent(tx, id);
    await checkReferences(tx, body);
    const a = await tx.agent.update({
      where: { id },
      data: {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.preamble !== undefined ? { preamble: body.preamble } : {}),
        ...(body.model !== undefined ? { model: body.model } : {}),
        ...(body.webConfig !== undefined ? { webConfig: jsonOrNull(normalizeWebConfig(body.webConfig)) } : {}),
      },
    });
    await setLinks(tx, orgId, id, body);
    return serializeAgent(a, await loadLinks(tx, id));
  });
}

/** 409 while a step of a live runner references the agent (steps keep `agentId` without a foreign key). */
export async function deleteAgent(deps: ServiceDeps, orgId: string, id: string): Promise<void> {
  await withOrg(deps.db, orgId, async (tx) => {
    await requireAgent(tx, id);
    const steps = await tx.runnerStep.findMany({
      where: { agentId: id, runner: { deletedAt: null } },
      select: { name: true, runnerId: true },
      take: 5,
    });
    if (steps.length) {
      throw AppError.conflict(
        `The agent is used by ${steps.length === 5 ? 'at least 5 steps' : `${steps.length} step(s)`} (${steps
          .map((s) => `"${s.name}" of runner ${s.runnerId}`)
          .join(', ')}); remove it from them first`,
      );
    }
    await tx.agent.delete({ where: { id } });
  });
}

/** The agent's side of the step-config merge (see `resolveStepConfig`), or null when it does not exist. */
export async function loadAgentStepContext(tx: Tx, agentId: string): Promise<AgentStepContext | null> {
  const a = await tx.agent.findFirst({ where: { id: agentId } });
  if (!a) return null;
  const mcps = await tx.agentMcp.findMany({ where: { agentId }, orderBy: linkOrder, include: { mcpServer: true } });
  const integrations = await tx.agentIntegration.findMany({
    where: { agentId },
    orderBy: linkOrder,
    include: { integration: true },
  });
  const tools = await tx.agentTool.findMany({ where: { agentId }, orderBy: linkOrder, include: { tool: true } });
  return {
    id: a.id,
    name: a.name,
    preamble: a.preamble,
    model: a.model,
    mcpServers: mcps.map((l) => toResolvedMcpServer(l.mcpServer)),
    integrations: integrations.map((l) => toResolvedIntegration(l.integration)),
    tools: tools.map((l) => toResolvedTool(l.tool)),
    webConfig: normalizeWebConfig(a.webConfig as WebConfig | null),
  };
}
