import type { z } from 'zod';
import type { integrationResponseSchema } from '../shared/connection-schemas';
import type { Integration } from '../generated/prisma/client';
import { withOrg, type Tx } from '../db/scoped';
import { AppError } from '../errors/app-error';
import type { IntegrationCreate, IntegrationUpdate } from '../shared/connection-schemas';
import type { ResolvedIntegration } from '../shared/step-config';
import type { ServiceDeps } from './deps';
import { afterCursor, decodeCursor, newestFirst, page } from '../db/pagination';
import { openStoredSecret, requireSecretBox, secretContext, type SecretBox } from '../crypto/secret-box';
import { maskConnectionString } from '../shared/mask';

const CONNECTION_COLUMN = 'integrations.connection';

const openConnection = (box: SecretBox, i: Integration): string =>
  openStoredSecret<string>(box, i.connectionEncrypted, secretContext(i.orgId, CONNECTION_COLUMN), false);

/** The API shape: the connection string masked (password and parameter values). */
export function serializeIntegration(box: SecretBox, i: Integration) {
  return {
    id: i.id,
    name: i.name,
    kind: i.kind as 'postgres',
    connectionString: maskConnectionString(openConnection(box, i)),
    readOnly: i.readOnly,
    allowedSchemas: i.allowedSchemas,
    createdAt: i.createdAt.toISOString(),
    updatedAt: i.updatedAt.toISOString(),
  } satisfies z.input<typeof integrationResponseSchema>;
}

export function toResolvedIntegration(i: Integration): ResolvedIntegration {
  return {
    id: i.id,
    name: i.name,
    kind: i.kind as 'postgres',
    readOnly: i.readOnly,
    allowedSchemas: [...i.allowedSchemas],
    connectionCiphertext: i.connectionEncrypted,
  };
}

export async function requireIntegration(tx: Tx, id: string): Promise<Integration> {
  const i = await tx.integration.findFirst({ where: { id } });
  if (!i) throw AppError.notFound('Integration');
  return i;
}

export async function createIntegration(deps: ServiceDeps, orgId: string, body: IntegrationCreate) {
  const box = requireSecretBox(deps.secrets);
  return withOrg(deps.db, orgId, async (tx) => {
    const i = await tx.integration.create({
      data: {
        orgId,
        name: body.name,
        kind: body.kind,
        connectionEncrypted: box.encrypt(body.connectionString, secretContext(orgId, CONNECTION_COLUMN)),
        readOnly: body.readOnly ?? true,
        allowedSchemas: body.allowedSchemas ?? [],
      },
    });
    deps.log.debug({ orgId, integrationId: i.id, kind: i.kind }, 'integration created');
    return serializeIntegration(box, i);
  });
}

export async function listIntegrations(deps: ServiceDeps, orgId: string, q: { limit: number; cursor?: string }) {
  const box = requireSecretBox(deps.secrets);
  const cursor = decodeCursor(q.cursor);
  return withOrg(deps.db, orgId, async (tx) => {
    const rows = await tx.integration.findMany({ where: afterCursor(cursor), orderBy: newestFirst, take: q.limit + 1 });
    return page(rows, q.limit, (i) => serializeIntegration(box, i));
  });
}

export async function getIntegration(deps: ServiceDeps, orgId: string, id: string) {
  const box = requireSecretBox(deps.secrets);
  return withOrg(deps.db, orgId, async (tx) => serializeIntegration(box, await requireIntegration(tx, id)));
}

export async function updateIntegration(deps: ServiceDeps, orgId: string, id: string, body: IntegrationUpdate) {
  const box = requireSecretBox(deps.secrets);
  return withOrg(deps.db, orgId, async (tx) => {
    await requireIntegration(tx, id);
    const i = await tx.integration.update({
      where: { id },
      data: {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.kind !== undefined ? { kind: body.kind } : {}),
        ...(body.connectionString !== undefined
          ? { connectionEncrypted: box.encrypt(body.connectionString, secretContext(orgId, CONNECTION_COLUMN)) }
          : {}),
        ...(body.readOnly !== undefined ? { readOnly: body.readOnly } : {}),
        ...(body.allowedSchemas !== undefined ? { allowedSchemas: body.allowedSchemas } : {}),
      },
    });
    deps.log.debug({ orgId, integrationId: id }, 'integration updated');
    return serializeIntegration(box, i);
  });
}

export async function deleteIntegration(deps: ServiceDeps, orgId: string, id: string): Promise<void> {
  await withOrg(deps.db, orgId, async (tx) => {
    await requireIntegration(tx, id);
    await tx.integration.delete({ where: { id } });
  });
}

/** The integration with its connection string decrypted, for the code that queries it. Never return or log. */
export async function loadIntegrationConnection(
  deps: Pick<ServiceDeps, 'db' | 'secrets'>,
  orgId: string,
  id: string,
): Promise<ResolvedIntegration & { connectionString: string }> {
  const box = requireSecretBox(deps.secrets);
  const i = await withOrg(deps.db, orgId, (tx) => requireIntegration(tx, id));
  return { ...toResolvedIntegration(i), connectionString: openConnection(box, i) };
}
