/**
 * Runner connections: attachments of org resources (MCP servers, integrations, tools, skills) and the
 * runner's web, plan and budget config.
 *
 * - Attaching is idempotent: the first attach answers 201, attaching the same resource again 200 with
 *   the same attachment (`attachedAt` is the first attach's time).
 * - Attaching an id that is not a resource of the caller's org (unknown, or another org's) is a 404
 *   naming the resource, like any foreign id. Detaching what is not attached is a 404 too.
 * - GET of web/plan/budget config of a runner that never stored one returns the defaults (with
 *   `updatedAt: null`). PUT stores the config; optional fields left out keep their current value (the
 *   default when nothing was stored), so `{enabled: true}` switches a config on without touching the rest.
 */
import type { Prisma } from '../generated/prisma/client';
import { withOrg, type Tx } from '../db/scoped';
import { AppError } from '../errors/app-error';
import {
  BUDGET_DEFAULTS,
  type BudgetConfigInput,
  type PlanConfigInput,
  type WebConfigInput,
} from '../shared/connection-schemas';
import { WEB_CONFIG_DISABLED, type RunnerStepContext } from '../shared/step-config';
import type { ServiceDeps } from './deps';
import { requireIntegration, serializeIntegration, toResolvedIntegration } from './integrations';
import { requireMcpServer, serializeMcpServer, toResolvedMcpServer } from './mcp-servers';
import { decodeCursor, encodeCursor, type Cursor } from '../db/pagination';
import { requireRunner } from './runners';
import { requireSecretBox, type SecretBox } from '../crypto/secret-box';
import { requireSkill, serializeSkill, toResolvedSkill } from './skills';
import { requireTool, serializeTool, toResolvedTool } from './tools';

export const ATTACHMENT_KINDS = ['mcps', 'integrations', 'tools', 'skills'] as const;
export type AttachmentKind = (typeof ATTACHMENT_KINDS)[number];

interface Link {
  createdAt: Date;
  resourceId: string;
  resource: unknown;
}

interface KindImpl {
  /** Human name for messages ("MCP server"). */
  label: string;
  /** Field names in requests and responses. */
  idField: string;
  resourceField: string;
  needsSecrets: boolean;
  requireResource(tx: Tx, id: string): Promise<unknown>;
  /** Inserts the link unless it exists; true when it was created now. */
  insert(tx: Tx, orgId: string, runnerId: string, id: string): Promise<boolean>;
  find(tx: Tx, runnerId: string, id: string): Promise<Link | null>;
  remove(tx: Tx, runnerId: string, id: string): Promise<number>;
  list(tx: Tx, runnerId: string, where: Record<string, unknown>, take: number): Promise<Link[]>;
  serialize(box: SecretBox | undefined, resource: unknown): unknown;
}

/** Keyset over (createdAt desc, resource id desc), the field holding the resource id differing per table. */
function afterLink(cursor: Cursor | undefined, idColumn: string): Record<string, unknown> {
  if (!cursor) return {};
  return {
    OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, [idColumn]: { lt: cursor.id } }],
  };
}

const KINDS: Record<AttachmentKind, KindImpl> = {
  mcps: {
    label: 'MCP server',
    idField: 'mcpServerId',
    resourceField: 'mcpServer',
    needsSecrets: true,
    requireResource: requireMcpServer,
    insert: async (tx, orgId, runnerId, mcpServerId) =>
      (await tx.runnerMcp.createMany({ data: [{ orgId, runnerId, mcpServerId }], skipDuplicates: true })).count === 1,
    find: async (tx, runnerId, mcpServerId) => {
      const l = await tx.runnerMcp.findFirst({ where: { runnerId, mcpServerId }, include: { mcpServer: true } });
      return l && { createdAt: l.createdAt, resourceId: l.mcpServerId, resource: l.mcpServer };
    },
    remove: async (tx, runnerId, mcpServerId) =>
      (await tx.runnerMcp.deleteMany({ where: { runnerId, mcpServerId } })).count,
    list: async (tx, runnerId, where, take) =>
      (
        await tx.runnerMcp.findMany({
          where: { runnerId, ...(where as Prisma.RunnerMcpWhereInput) },
          orderBy: [{ createdAt: 'desc' }, { mcpServerId: 'desc' }],
          take,
          include: { mcpServer: true },
        })
      ).map((l) => ({ createdAt: l.createdAt, resourceId: l.mcpServerId, resource: l.mcpServer })),
    serialize: (box, r) => serializeMcpServer(requireSecretBox(box), r as Parameters<typeof serializeMcpServer>[1]),
  },
  integrations: {
    label: 'Integration',
    idField: 'integrationId',
    resourceField: 'integration',
    needsSecrets: true,
    requireResource: requireIntegration,
    insert: async (tx, orgId, runnerId, integrationId) =>
      (await tx.runnerIntegration.createMany({ data: [{ orgId, runnerId, integrationId }], skipDuplicates: true }))
        .count === 1,
    find: async (tx, runnerId, integrationId) => {
      const l = await tx.runnerIntegration.findFirst({
        where: { runnerId, integrationId },
        include: { integration: true },
      });
      return l && { createdAt: l.createdAt, resourceId: l.integrationId, resource: l.integration };
    },
    remove: async (tx, runnerId, integrationId) =>
      (await tx.runnerIntegration.deleteMany({ where: { runnerId, integrationId } })).count,
    list: async (tx, runnerId, where, take) =>
      (
        await tx.runnerIntegration.findMany({
          where: { runnerId, ...(where as Prisma.RunnerIntegrationWhereInput) },
          orderBy: [{ createdAt: 'desc' }, { integrationId: 'desc' }],
          take,
          include: { integration: true },
        })
      ).map((l) => ({ createdAt: l.createdAt, resourceId: l.integrationId, resource: l.integration })),
    serialize: (box, r) => serializeIntegration(requireSecretBox(box), r as Parameters<typeof serializeIntegration>[1]),
  },
  tools: {
    label: 'Tool',
    idField: 'toolId',
    resourceField: 'tool',
    needsSecrets: true,
    requireResource: requireTool,
    insert: async (tx, orgId, runnerId, toolId) =>
      (await tx.runnerTool.createMany({ data: [{ orgId, runnerId, toolId }], skipDuplicates: true })).count === 1,
    find: async (tx, runnerId, toolId) => {
      const l = await tx.runnerTool.findFirst({ where: { runnerId, toolId }, include: { tool: true } });
      return l && { createdAt: l.createdAt, resourceId: l.toolId, resource: l.tool };
    },
    remove: async (tx, runnerId, toolId) => (await tx.runnerTool.deleteMany({ where: { runnerId, toolId } })).count,
    list: async (tx, runnerId, where, take) =>
      (
        await tx.runnerTool.findMany({
          where: { runnerId, ...(where as Prisma.RunnerToolWhereInput) },
          orderBy: [{ createdAt: 'desc' }, { toolId: 'desc' }],
          take,
          include: { tool: true },
        })
      ).map((l) => ({ createdAt: l.createdAt, resourceId: l.toolId, resource: l.tool })),
    serialize: (box, r) => serializeTool(requireSecretBox(box), r as Parameters<typeof serializeTool>[1]),
  },
  skills: {
    label: 'Skill',
    idField: 'skillId',
    resourceField: 'skill',
    needsSecrets: false,
    requireResource: requireSkill,
    insert: async (tx, orgId, runnerId, skillId) =>
      (await tx.runnerSkill.createMany({ data: [{ orgId, runnerId, skillId }], skipDuplicates: true })).count === 1,
    find: async (tx, runnerId, skillId) => {
      const l = await tx.runnerSkill.findFirst({ where: { runnerId, skillId }, include: { skill: true } });
      return l && { createdAt: l.createdAt, resourceId: l.skillId, resource: l.skill };
    },
    remove: async (tx, runnerId, skillId) => (await tx.runnerSkill.deleteMany({ where: { runnerId, skillId } })).count,
    list: async (tx, runnerId, where, take) =>
      (
        await tx.runnerSkill.findMany({
          where: { runnerId, ...(where as Prisma.RunnerSkillWhereInput) },
          orderBy: [{ createdAt: 'desc' }, { skillId: 'desc' }],
          take,
          include: { skill: true },
        })
      ).map((l) => ({ createdAt: l.createdAt, resourceId: l.skillId, resource: l.skill })),
    serialize: (_box, r) => serializeSkill(r as Parameters<typeof serializeSkill>[0]),
  },
};

export function attachmentKind(kind: AttachmentKind): Pick<KindImpl, 'label' | 'idField' | 'resourceField'> {
  return KINDS[kind];
}

function serializeLink(impl: KindImpl, box: SecretBox | undefined, runnerId: string, link: Link) {
  return {
    runnerId,
    [impl.idField]: link.resourceId,
    attachedAt: link.createdAt.toISOString(),
    [impl.resourceField]: impl.serialize(box, link.resource),
  };
}

/** Attaches a resource to a runner; `created` is false when it was attached already. */
export async function attachResource(
  deps: ServiceDeps,
  orgId: string,
  kind: AttachmentKind,
  runnerId: string,
  resourceId: string,
) {
  const impl = KINDS[kind];
  const box = impl.needsSecrets ? requireSecretBox(deps.secrets) : undefined;
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    await impl.requireResource(tx, resourceId);
    const created = await impl.insert(tx, orgId, runnerId, resourceId);
    const link = await impl.find(tx, runnerId, resourceId);
    if (!link) throw AppError.notFound(impl.label);
    return { created, attachment: serializeLink(impl, box, runnerId, link) };
  });
}

export async function detachResource(
  deps: ServiceDeps,
  orgId: string,
  kind: AttachmentKind,
  runnerId: string,
  resourceId: string,
) {
  const impl = KINDS[kind];
  await withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const n = await impl.remove(tx, runnerId, resourceId);
    if (n === 0) throw new AppError('not_found', `${impl.label} is not attached to this runner`);
  });
}

/** Attachments, most recently attached first, `{data, nextCursor}`. */
export async function listAttachments(
  deps: ServiceDeps,
  orgId: string,
  kind: AttachmentKind,
  runnerId: string,
  q: { limit: number; cursor?: string },
) {
  const impl = KINDS[kind];
  const box = impl.needsSecrets ? requireSecretBox(deps.secrets) : undefined;
  const cursor = decodeCursor(q.cursor);
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const links = await impl.list(tx, runnerId, afterLink(cursor, impl.idField), q.limit + 1);
    const hasMore = links.length > q.limit;
    const items = hasMore ? links.slice(0, q.limit) : links;
    const last = items[items.length - 1];
    return {
      data: items.map((l) => serializeLink(impl, box, runnerId, l)),
      nextCursor: hasMore && last ? encodeCursor({ createdAt: last.createdAt, id: last.resourceId }) : null,
    };
  });
}

/* ---------------------------------------------------------------------------------------------- */
/* web, plan and budget config                                                                     */
/* ---------------------------------------------------------------------------------------------- */

const isoOrNull = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export async function getWebConfig(deps: ServiceDeps, orgId: string, runnerId: string) {
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const row = await tx.runnerWebConfig.findUnique({ where: { runnerId } });
    const c = row ?? { ...WEB_CONFIG_DISABLED, updatedAt: null };
    return {
      runnerId,
      enabled: c.enabled,
      searchEnabled: c.searchEnabled,
      researchEnabled: c.researchEnabled,
      updatedAt: isoOrNull(c.updatedAt),
    };
  });
}

export async function putWebConfig(deps: ServiceDeps, orgId: string, runnerId: string, body: WebConfigInput) {
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const current = (await tx.runnerWebConfig.findUnique({ where: { runnerId } })) ?? WEB_CONFIG_DISABLED;
    const next = {
      enabled: body.enabled,
      searchEnabled: body.searchEnabled ?? current.searchEnabled,
      researchEnabled: body.researchEnabled ?? current.researchEnabled,
    };
    const row = await tx.runnerWebConfig.upsert({
      where: { runnerId },
      create: { runnerId, orgId, ...next },
      update: next,
    });
    return {
      runnerId,
      enabled: row.enabled,
      searchEnabled: row.searchEnabled,
      researchEnabled: row.researchEnabled,
      updatedAt: row.updatedAt.toISOString(),
    };
  });
}

export async function getPlanConfig(deps: ServiceDeps, orgId: string, runnerId: string) {
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const row = await tx.runnerPlanConfig.findUnique({ where: { runnerId } });
    return { runnerId, enabled: row?.enabled ?? false, updatedAt: isoOrNull(row?.updatedAt) };
  });
}

export async function putPlanConfig(deps: ServiceDeps, orgId: string, runnerId: string, body: PlanConfigInput) {
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const row = await tx.runnerPlanConfig.upsert({
      where: { runnerId },
      create: { runnerId, orgId, enabled: body.enabled },
      update: { enabled: body.enabled },
    });
    return { runnerId, enabled: row.enabled, updatedAt: row.updatedAt.toISOString() };
  });
}

export interface BudgetConfig {
  enabled: boolean;
  budgetUsd: number | null;
  onExceed: 'pause' | 'fail';
  warningThreshold1: number;
  warningThreshold2: number;
  budgetWarningWebhookUrl: string | null;
}

export const DEFAULT_BUDGET_CONFIG: BudgetConfig = Object.freeze({
  enabled: false,
  budgetUsd: null,
  onExceed: 'pause',
  warningThreshold1: BUDGET_DEFAULTS.warningThreshold1,
  warningThreshold2: BUDGET_DEFAULTS.warningThreshold2,
  budgetWarningWebhookUrl: null,
});

type BudgetRow = NonNullable<Awaited<ReturnType<Tx['runnerBudgetConfig']['findUnique']>>>;

function budgetFromRow(row: BudgetRow | null): BudgetConfig {
  if (!row) return { ...DEFAULT_BUDGET_CONFIG };
  return {
    enabled: row.enabled,
    budgetUsd: row.budgetUsd === null ? null : row.budgetUsd.toNumber(),
    onExceed: row.onExceed === 'fail' ? 'fail' : 'pause',
    warningThreshold1: row.warningThreshold1.toNumber(),
    warningThreshold2: row.warningThreshold2.toNumber(),
    budgetWarningWebhookUrl: row.warningWebhookUrl,
  };
}

/** The runner's budget config (defaults when none was stored), for API responses and run creation. */
export async function loadBudgetConfig(tx: Tx, runnerId: string): Promise<BudgetConfig> {
  return budgetFromRow(await tx.runnerBudgetConfig.findUnique({ where: { runnerId } }));
}

export async function getBudgetConfig(deps: ServiceDeps, orgId: string, runnerId: string) {
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const row = await tx.runnerBudgetConfig.findUnique({ where: { runnerId } });
    return { runnerId, ...budgetFromRow(row), updatedAt: isoOrNull(row?.updatedAt) };
  });
}

export async function putBudgetConfig(deps: ServiceDeps, orgId: string, runnerId: string, body: BudgetConfigInput) {
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const current = await loadBudgetConfig(tx, runnerId);
    const next: BudgetConfig = {
      enabled: body.enabled,
      budgetUsd: body.budgetUsd !== undefined ? body.budgetUsd : current.budgetUsd,
      onExceed: body.onExceed ?? current.onExceed,
      warningThreshold1: body.warningThreshold1 ?? current.warningThreshold1,
      warningThreshold2: body.warningThreshold2 ?? current.warningThreshold2,
      budgetWarningWebhookUrl:
        body.budgetWarningWebhookUrl !== undefined ? body.budgetWarningWebhookUrl : current.budgetWarningWebhookUrl,
    };
    if (next.warningThreshold1 > next.warningThreshold2) {
      throw AppError.validation([
        {
          path: body.warningThreshold1 !== undefined ? 'warningThreshold1' : 'warningThreshold2',
          message: `warningThreshold1 (${next.warningThreshold1}) must not be greater than warningThreshold2 (${next.warningThreshold2})`,
        },
      ]);
    }
    const { budgetWarningWebhookUrl: warningWebhookUrl, ...rest } = next;
    const data = { ...rest, warningWebhookUrl };
    const row = await tx.runnerBudgetConfig.upsert({
      where: { runnerId },
      create: { runnerId, orgId, ...data },
      update: data,
    });
    return { runnerId, ...budgetFromRow(row), updatedAt: row.updatedAt.toISOString() };
  });
}

/* ---------------------------------------------------------------------------------------------- */
/* the runner's side of the step-config merge                                                      */
/* ---------------------------------------------------------------------------------------------- */

/** Everything `resolveStepConfig` needs from the runner (no secrets). */
export async function loadRunnerStepContext(tx: Tx, runnerId: string): Promise<RunnerStepContext> {
  const runner = await requireRunner(tx, runnerId);
  const order = [{ createdAt: 'asc' as const }];
  // Sequential: queries of one interactive transaction share a connection.
  const mcps = await tx.runnerMcp.findMany({ where: { runnerId }, orderBy: order, include: { mcpServer: true } });
  const integrations = await tx.runnerIntegration.findMany({
    where: { runnerId },
    orderBy: order,
    include: { integration: true },
  });
  const tools = await tx.runnerTool.findMany({ where: { runnerId }, orderBy: order, include: { tool: true } });
  const skills = await tx.runnerSkill.findMany({ where: { runnerId }, orderBy: order, include: { skill: true } });
  const web = await tx.runnerWebConfig.findUnique({ where: { runnerId } });
  const plan = await tx.runnerPlanConfig.findUnique({ where: { runnerId } });
  return {
    learnedInstructions: runner.learnedInstructions,
    defaultModel: runner.defaultModel,
    mcpServers: mcps.map((l) => toResolvedMcpServer(l.mcpServer)),
    integrations: integrations.map((l) => toResolvedIntegration(l.integration)),
    tools: tools.map((l) => toResolvedTool(l.tool)),
    skills: skills.map((l) => toResolvedSkill(l.skill)),
    webConfig: web
      ? { enabled: web.enabled, searchEnabled: web.searchEnabled, researchEnabled: web.researchEnabled }
      : { ...WEB_CONFIG_DISABLED },
    planEnabled: plan?.enabled ?? false,
  };
}
