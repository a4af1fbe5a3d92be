import type { z } from 'zod';
import type { mcpServerResponseSchema } from '../shared/connection-schemas';
import type { McpServer } from '../generated/prisma/client';
import { withOrg, type Tx } from '../db/scoped';
import { AppError } from '../errors/app-error';
import type { McpConnectionConfig } from '../mcp-client/client';
import { mcpTransportIssues, type McpServerCreate, type McpServerUpdate } from '../shared/connection-schemas';
import type { ResolvedMcpServer } from '../shared/step-config';
import type { ServiceDeps } from './deps';
import { afterCursor, decodeCursor, newestFirst, page } from '../db/pagination';
import { jsonOrNull } from './runners';
import { openSecretMap, requireSecretBox, sealSecretMap, type SecretBox } from '../crypto/secret-box';
import { maskRecord } from '../shared/mask';

const ENV_COLUMN = 'mcp_servers.env';
const HEADERS_COLUMN = 'mcp_servers.headers';

/** The API shape: env and header values masked. */
export function serializeMcpServer(box: SecretBox, m: McpServer) {
  return {
    id: m.id,
    slug: m.slug,
    name: m.name,
    transport: m.transport as 'stdio' | 'http',
    command: m.command,
    args: (m.args as string[] | null) ?? null,
    env: maskRecord(openSecretMap(box, m.orgId, ENV_COLUMN, m.envEncrypted)),
    url: m.url,
    headers: maskRecord(openSecretMap(box, m.orgId, HEADERS_COLUMN, m.headersEncrypted)),
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
  } satisfies z.input<typeof mcpServerResponseSchema>;
}

/** The merge's view of a server (no secrets, only whether they exist). */
export function toResolvedMcpServer(m: McpServer): ResolvedMcpServer {
  return {
    id: m.id,
    slug: m.slug,
    name: m.name,
    transport: m.transport as 'stdio' | 'http',
    command: m.command,
    args: (m.args as string[] | null) ?? null,
    url: m.url,
    hasEnv: m.envEncrypted !== null,
    hasHeaders: m.headersEncrypted !== null,
    envCiphertext: m.envEncrypted,
    headersCiphertext: m.headersEncrypted,
  };
}

export async function requireMcpServer(tx: Tx, id: string): Promise<McpServer> {
  const m = await tx.mcpServer.findFirst({ where: { id } });
  if (!m) throw AppError.notFound('MCP server');
  return m;
}

async function assertSlugFree(tx: Tx, slug: string, exceptId?: string): Promise<void> {
  const clash = await tx.mcpServer.findFirst({
    where: { slug, ...(exceptId ? { id: { not: exceptId } } : {}) },
    select: { id: true },
  });
  if (clash) throw AppError.conflict(`An MCP server with slug "${slug}" already exists in your org`);
}

export async function createMcpServer(deps: ServiceDeps, orgId: string, body: McpServerCreate) {
  const box = requireSecretBox(deps.secrets);
  return withOrg(deps.db, orgId, async (tx) => {
    await assertSlugFree(tx, body.slug);
    const m = await tx.mcpServer.create({
      data: {
        orgId,
        slug: body.slug,
        name: body.name ?? body.slug,
        transport: body.transport,
        command: body.transport === 'stdio' ? (body.command ?? null) : null,
        args: jsonOrNull(body.transport === 'stdio' ? (body.args ?? []) : null),
        envEncrypted: body.transport === 'stdio' ? sealSecretMap(box, orgId, ENV_COLUMN, body.env) : null,
        url: body.transport === 'http' ? (body.url ?? null) : null,
        headersEncrypted: body.transport === 'http' ? sealSecretMap(box, orgId, HEADERS_COLUMN, body.headers) : null,
      },
    });
    deps.log.debug({ orgId, mcpServerId: m.id, transport: m.transport }, 'MCP server created');
    return serializeMcpServer(box, m);
  });
}

export async function listMcpServers(deps: ServiceDeps, orgId: string, q: { limit: number; cursor?: string }) {
  const box = requireSecretBox(deps.secrets);
  const cursor = decodeCursor(q.cursor);
  return withOrg(deps.db, orgId, async (tx) => {
    const rows = await tx.mcpServer.findMany({ where: afterCursor(cursor), orderBy: newestFirst, take: q.limit + 1 });
    return page(rows, q.limit, (m) => serializeMcpServer(box, m));
  });
}

export async function getMcpServer(deps: ServiceDeps, orgId: string, id: string) {
  const box = requireSecretBox(deps.secrets);
  return withOrg(deps.db, orgId, async (tx) => serializeMcpServer(box, await requireMcpServer(tx, id)));
}

/**
 * Partial update. `env` / `headers`, when given, replace the whole map (values cannot be read back, so
 * there is nothing to merge with); `null` clears them. Changing `transport` clears the other
 * transport's fields unless they are given again.
 */
export async function updateMcpServer(deps: ServiceDeps, orgId: string, id: string, body: McpServerUpdate) {
  const box = requireSecretBox(deps.secrets);
  return withOrg(deps.db, orgId, async (tx) => {
    const existing = await requireMcpServer(tx, id);
    const transport = body.transport ?? (existing.transport as 'stdio' | 'http');
    const switched = transport !== existing.transport;
    const keep = <T>(given: T | undefined, current: T): T | null =>
      given !== undefined ? given : switched ? null : current;
    const command = keep(body.command, existing.command);
    const args = keep(body.args, existing.args as string[] | null);
    const url = keep(body.url, existing.url);
    // For the transport checks only: the stored secret maps count as present when kept.
    const envPresent = body.env !== undefined ? body.env : !switched && existing.envEncrypted ? { kept: '1' } : null;
    const headersPresent =
      body.headers !== undefined ? body.headers : !switched && existing.headersEncrypted ? { kept: '1' } : null;
    const issues = mcpTransportIssues({ transport, command, args, url, env: envPresent, headers: headersPresent });
    if (issues.length) throw AppError.validation(issues);
    if (body.slug !== undefined && body.slug !== existing.slug) await assertSlugFree(tx, body.slug, id);

    const m = await tx.mcpServer.update({
      where: { id },
      data: {
        ...(body.slug !== undefined ? { slug: body.slug } : {}),
        ...(body.name !== undefined ? { name: body.name } : {}),
        transport,
        command: transport === 'stdio' ? command : null,
        args: jsonOrNull(transport === 'stdio' ? (args ?? []) : null),
        url: transport === 'http' ? url : null,
        envEncrypted:
          transport !== 'stdio'
            ? null
            : body.env !== undefined
              ? sealSecretMap(box, orgId, ENV_COLUMN, body.env)
              : switched
                ? null
                : existing.envEncrypted,
        headersEncrypted:
          transport !== 'http'
            ? null
            : body.headers !== undefined
              ? sealSecretMap(box, orgId, HEADERS_COLUMN, body.headers)
              : switched
                ? null
                : existing.headersEncrypted,
      },
    });
    deps.log.debug({ orgId, mcpServerId: id }, 'MCP server updated');
    return serializeMcpServer(box, m);
  });
}

/** Deletes the server; its runner and agent attachments go with it. */
export async function deleteMcpServer(deps: ServiceDeps, orgId: string, id: string): Promise<void> {
  await withOrg(deps.db, orgId, async (tx) => {
    await requireMcpServer(tx, id);
    await tx.mcpServer.delete({ where: { id } });
  });
}

/**
 * The full connection config of a server, secrets decrypted, for the code that connects to it (agent
 * steps, poll triggers). Never return this from the API or log it.
 */
export async function loadMcpConnectionConfig(
  deps: Pick<ServiceDeps, 'db' | 'secrets'>,
  orgId: string,
  id: string,
): Promise<McpConnectionConfig & { id: string; slug: string }> {
  const box = requireSecretBox(deps.secrets);
  const m = await withOrg(deps.db, orgId, (tx) => requireMcpServer(tx, id));
  if (m.transport === 'stdio') {
    return {
      id: m.id,
      slug: m.slug,
      transport: 'stdio',
      command: m.command ?? '',
      args: (m.args as string[] | null) ?? [],
      env: openSecretMap(box, orgId, ENV_COLUMN, m.envEncrypted) ?? {},
    };
  }
  return {
    id: m.id,
    slug: m.slug,
    transport: 'http',
    url: m.url ?? '',
    headers: openSecretMap(box, orgId, HEADERS_COLUMN, m.headersEncrypted) ?? {},
  };
}
