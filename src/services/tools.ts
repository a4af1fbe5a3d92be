import type { z } from 'zod';
import type { toolResponseSchema } from '../shared/connection-schemas';
import type { Tool } from '../generated/prisma/client';
import type { Prisma } from '../generated/prisma/client';
import { withOrg, type Tx } from '../db/scoped';
import { AppError } from '../errors/app-error';
import type { ToolCreate, ToolUpdate } from '../shared/connection-schemas';
import type { ResolvedTool } from '../shared/step-config';
import type { ServiceDeps } from './deps';
import { checkJsonSchema } from '../validation/json-schema';
import { afterCursor, decodeCursor, newestFirst, page } from '../db/pagination';
import { openSecretMap, requireSecretBox, sealSecretMap, type SecretBox } from '../crypto/secret-box';
import { maskRecord } from '../shared/mask';

const HEADERS_COLUMN = 'tools.headers';
const DEFAULT_PARAMETERS = { type: 'object', properties: {} };

/** The API shape: header values masked. */
export function serializeTool(box: SecretBox, t: Tool) {
  return {
    id: t.id,
    name: t.name,
    description: t.description,
    parameters: t.parameters as Record<string, unknown>,
    url: t.url,
    method: t.method as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    headers: maskRecord(openSecretMap(box, t.orgId, HEADERS_COLUMN, t.headersEncrypted)),
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  } satisfies z.input<typeof toolResponseSchema>;
}

export function toResolvedTool(t: Tool): ResolvedTool {
  return {
    id: t.id,
    name: t.name,
    description: t.description,
    parameters: t.parameters as Record<string, unknown>,
    url: t.url,
    method: t.method,
    hasHeaders: t.headersEncrypted !== null,
    headersCiphertext: t.headersEncrypted,
  };
}

/** `parameters` must be a usable JSON Schema describing an object (the tool's arguments). */
function checkParameters(parameters: Record<string, unknown> | undefined): void {
  if (parameters === undefined) return;
  const problem = checkJsonSchema(parameters);
  if (problem) throw AppError.validation([{ path: 'parameters', message: problem }]);
  if (parameters.type !== undefined && parameters.type !== 'object') {
    throw AppError.validation([{ path: 'parameters.type', message: 'must be "object": tool arguments are an object' }]);
  }
}

export async function requireTool(tx: Tx, id: string): Promise<Tool> {
  const t = await tx.tool.findFirst({ where: { id } });
  if (!t) throw AppError.notFound('Tool');
  return t;
}

async function assertNameFree(tx: Tx, name: string, exceptId?: string): Promise<void> {
  const clash = await tx.tool.findFirst({
    where: { name, ...(exceptId ? { id: { not: exceptId } } : {}) },
    select: { id: true },
  });
  if (clash) throw AppError.conflict(`A tool named "${name}" already exists in your org`);
}

export async function createTool(deps: ServiceDeps, orgId: string, body: ToolCreate) {
  const box = requireSecretBox(deps.secrets);
  checkParameters(body.parameters);
  return withOrg(deps.db, orgId, async (tx) => {
    await assertNameFree(tx, body.name);
    const t = await tx.tool.create({
      data: {
        orgId,
        name: body.name,
        description: body.description ?? '',
        parameters: (body.parameters ?? DEFAULT_PARAMETERS) as Prisma.InputJsonValue,
        url: body.url,
        method: body.method ?? 'POST',
        headersEncrypted: sealSecretMap(box, orgId, HEADERS_COLUMN, body.headers),
      },
    });
    deps.log.debug({ orgId, toolId: t.id }, 'tool created');
    return serializeTool(box, t);
  });
}

export async function listTools(deps: ServiceDeps, orgId: string, q: { limit: number; cursor?: string }) {
  const box = requireSecretBox(deps.secrets);
  const cursor = decodeCursor(q.cursor);
  return withOrg(deps.db, orgId, async (tx) => {
    const rows = await tx.tool.findMany({ where: afterCursor(cursor), orderBy: newestFirst, take: q.limit + 1 });
    return page(rows, q.limit, (t) => serializeTool(box, t));
  });
}

export async function getTool(deps: ServiceDeps, orgId: string, id: string) {
  const box = requireSecretBox(deps.secrets);
  return withOrg(deps.db, orgId, async (tx) => serializeTool(box, await requireTool(tx, id)));
}

/** Partial update; `headers` given replaces the whole map, `null` clears it. */
export async function updateTool(deps: ServiceDeps, orgId: string, id: string, body: ToolUpdate) {
  const box = requireSecretBox(deps.secrets);
  checkParameters(body.parameters);
  return withOrg(deps.db, orgId, async (tx) => {
    const existing = await requireTool(tx, id);
    if (body.name !== undefined && body.name !== existing.name) await assertNameFree(tx, body.name, id);
    const t = await tx.tool.update({
      where: { id },
      data: {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.parameters !== undefined ? { parameters: body.parameters as Prisma.InputJsonValue } : {}),
        ...(body.url !== undefined ? { url: body.url } : {}),
        ...(body.method !== undefined ? { method: body.method } : {}),
        ...(body.headers !== undefined
          ? { headersEncrypted: sealSecretMap(box, orgId, HEADERS_COLUMN, body.headers) }
          : {}),
      },
    });
    deps.log.debug({ orgId, toolId: id }, 'tool updated');
    return serializeTool(box, t);
  });
}

export async function deleteTool(deps: ServiceDeps, orgId: string, id: string): Promise<void> {
  await withOrg(deps.db, orgId, async (tx) => {
    await requireTool(tx, id);
    await tx.tool.delete({ where: { id } });
  });
}

/** The tool with its headers decrypted, for the code that calls it. Never return or log. */
export async function loadToolWithHeaders(
  deps: Pick<ServiceDeps, 'db' | 'secrets'>,
  orgId: string,
  id: string,
): Promise<ResolvedTool & { headers: Record<string, string> }> {
  const box = requireSecretBox(deps.secrets);
  const t = await withOrg(deps.db, orgId, (tx) => requireTool(tx, id));
  return { ...toResolvedTool(t), headers: openSecretMap(box, t.orgId, HEADERS_COLUMN, t.headersEncrypted) ?? {} };
}
