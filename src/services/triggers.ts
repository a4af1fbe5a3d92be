import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Prisma, type RunnerTrigger } from '../generated/prisma/client';
import { withOrg, type Tx } from '../db/scoped';
import { AppError, type FieldIssue } from '../errors/app-error';
import { scheduleIdForTrigger } from '../shared/trigger-defs';
import {
  UPDATABLE_BY_KIND,
  type SignatureConfigInput,
  type TriggerCreate,
  type TriggerKind,
  type TriggerUpdate,
} from '../shared/trigger-schemas';
import type { ServiceDeps } from './deps';
import { afterCursor, decodeCursor, newestFirst, page } from '../db/pagination';
import { requireRunner } from './runners';
import { requireSecretBox, secretContext, type SecretBox } from '../crypto/secret-box';
import { maskSecret } from '../shared/mask';
import { assertCronExpression } from './triggers-cron';
import { applyButtonFields, type ButtonConfig } from './triggers-button';
import { deleteTriggerSchedule, hasSchedule, upsertTriggerSchedule } from './triggers-schedules';
import { serializeTrigger, type StoredSignature, type WebhookConfig } from './triggers-serialize';

export { serializeTrigger } from './triggers-serialize';

/**
 * Trigger CRUD (`/api/runners/:id/triggers`). Each kind keeps its settings in the row's `config`:
 *
 * - cron: `{cronExpression, cronTimezone, overlapPolicy, catchupWindowSeconds, input?}` + a Temporal Schedule;
 * - webhook: `{signature, idempotencyKeyPath, rateLimitPerMinute, maxBodyBytes}`; the URL token is
 *   stored as its SHA-256 (`token_hash`) and shown once; the signing secret is encrypted;
 * - poll: `{pollConfig}` + a Temporal Schedule; the cursor lives in `poll_cursor`;
 * - button: `{input?, label?, allowedOrigins?, rateLimitPerMinute?}` (src/services/triggers-button.ts);
 * - manual / api: `{}`.
 *
 * Schedule changes happen inside the database transaction that changes the row, so a Temporal failure
 * rolls the change back (503) and nothing is left half-done; the reconciler covers a crash in between.
 */

export const WEBHOOK_TOKEN_PREFIX = 'whk_';
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const SIGNING_SECRET_COLUMN = 'runner_triggers.signing_secret';

export const hashWebhookToken = (token: string): string => createHash('sha256').update(token).digest('hex');

function newWebhookToken(): { token: string; hash: string; prefix: string } {
  const token = WEBHOOK_TOKEN_PREFIX + randomBytes(24).toString('base64url'); // 192 bits
  return { token, hash: hashWebhookToken(token), prefix: token.slice(0, WEBHOOK_TOKEN_PREFIX.length + 6) };
}

export function webhookUrl(deps: Pick<ServiceDeps, 'publicUrl'>, token: string): string {
  const base = (deps.publicUrl ?? 'http://localhost:3000').replace(/\/+$/, '');
  return `${base}/api/runners/webhooks/${token}`;
}

export function signingSecretContext(orgId: string, triggerId: string): string {
  return `${secretContext(orgId, SIGNING_SECRET_COLUMN)}/${triggerId}`;
}

function sealSignature(
  box: SecretBox,
  orgId: string,
  triggerId: string,
  s: SignatureConfigInput,
  secret: string,
): StoredSignature {
  return {
    preset: s.preset,
    secretEncrypted: box.encrypt(secret, signingSecretContext(orgId, triggerId)),
    secretHint: maskSecret(secret),
    ...(s.toleranceSeconds !== undefined ? { toleranceSeconds: s.toleranceSeconds } : {}),
    ...(s.header !== undefined ? { header: s.header } : {}),
    ...(s.encoding !== undefined ? { encoding: s.encoding } : {}),
    ...(s.prefix !== undefined ? { prefix: s.prefix } : {}),
  };
}

async function requireTrigger(tx: Tx, runnerId: string, triggerId: string): Promise<RunnerTrigger> {
  const t = await tx.runnerTrigger.findFirst({ where: { id: triggerId, runnerId } });
  if (!t) throw AppError.notFound('Trigger');
  return t;
}

async function checkMcpServer(tx: Tx, id: string): Promise<void> {
  const m = await tx.mcpServer.findFirst({ where: { id }, select: { id: true } });
  if (!m)
    throw AppError.validation([
      { path: 'pollConfig.mcpServerId', message: 'no MCP server with this id exists in your org' },
    ]);
}

/** Runs a schedule call inside the row's transaction: a Temporal outage is a 503 that rolls the row back. */
async function withSchedule(deps: ServiceDeps, t: RunnerTrigger): Promise<void> {
  if (!hasSchedule(t.kind)) return;
  try {
    await upsertTriggerSchedule(deps, t);
  } catch (e) {
    if (e instanceof AppError) throw e;
    // The server refused the spec (INVALID_ARGUMENT): the user's config, not an outage.
    if ((e as { code?: unknown }).code === 3) {
      const field = t.kind === 'cron' ? 'cronExpression' : 'pollConfig';
      throw AppError.validation([{ path: field, message: `refused by Temporal: ${(e as Error).message}` }]);
    }
    throw AppError.unavailable('Temporal', e);
  }
}

export async function createTrigger(deps: ServiceDeps, orgId: string, runnerId: string, body: TriggerCreate) {
  const id = randomUUID();
  let reveal: { token: string; url: string } | undefined;
  const data: Prisma.RunnerTriggerUncheckedCreateInput = {
    id,
    runnerId,
    orgId,
    kind: body.kind,
    enabled: body.enabled ?? true,
    config: {},
  };
  switch (body.kind) {
    case 'cron':
      assertCronExpression(body.cronExpression);
      data.config = {
        cronExpression: body.cronExpression.trim(),
        cronTimezone: body.cronTimezone ?? 'UTC',
        overlapPolicy: body.overlapPolicy ?? 'skip',
        catchupWindowSeconds: body.catchupWindowSeconds ?? 60,
        ...(body.input !== undefined ? { input: body.input } : {}),
      } as Prisma.InputJsonObject;
      data.scheduleId = scheduleIdForTrigger(id);
      break;
    case 'webhook': {
      let signature: StoredSignature | null = null;
      if (body.signature) {
        if (!body.signature.secret) throw AppError.validation([{ path: 'signature.secret', message: 'is required' }]);
        signature = sealSignature(requireSecretBox(deps.secrets), orgId, id, body.signature, body.signature.secret);
      }
      const cfg: WebhookConfig = {
        signature,
        idempotencyKeyPath: body.idempotencyKeyPath ?? null,
        rateLimitPerMinute: body.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE,
        maxBodyBytes: body.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      };
      data.config = cfg as unknown as Prisma.InputJsonObject;
      const tok = newWebhookToken();
      data.tokenHash = tok.hash;
      data.tokenPrefix = tok.prefix;
      reveal = { token: tok.token, url: webhookUrl(deps, tok.token) };
      break;
    }
    case 'poll':
      data.config = { pollConfig: body.pollConfig } as unknown as Prisma.InputJsonObject;
      data.scheduleId = scheduleIdForTrigger(id);
      break;
    case 'button':
      data.config = applyButtonFields({}, body) as Prisma.InputJsonObject;
      break;
    default:
      break;
  }
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    if (body.kind === 'poll') await checkMcpServer(tx, body.pollConfig.mcpServerId);
    const t = await tx.runnerTrigger.create({ data });
    await withSchedule(deps, t);
    deps.log.info({ orgId, runnerId, triggerId: id, kind: t.kind }, 'trigger created');
    return serializeTrigger(t, reveal);
  });
}

export async function listTriggers(
  deps: ServiceDeps,
  orgId: string,
  runnerId: string,
  q: { limit: number; cursor?: string },
) {
  const cursor = decodeCursor(q.cursor);
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const rows = await tx.runnerTrigger.findMany({
      where: { runnerId, ...afterCursor(cursor) },
      orderBy: newestFirst,
      take: q.limit + 1,
    });
    return page(rows, q.limit, (t) => serializeTrigger(t));
  });
}

export async function getTrigger(deps: ServiceDeps, orgId: string, runnerId: string, triggerId: string) {
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    return serializeTrigger(await requireTrigger(tx, runnerId, triggerId));
  });
}

export async function updateTrigger(
  deps: ServiceDeps,
  orgId: string,
  runnerId: string,
  triggerId: string,
  body: TriggerUpdate,
) {
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const existing = await requireTrigger(tx, runnerId, triggerId);
    const kind = existing.kind as TriggerKind;
    const allowed = new Set(['enabled', ...(UPDATABLE_BY_KIND[kind] ?? [])]);
    const issues: FieldIssue[] = Object.keys(body)
      .filter((k) => (body as Record<string, unknown>)[k] !== undefined && !allowed.has(k))
      .map((k) => ({ path: k, message: `does not apply to a ${kind} trigger` }));
    if (issues.length) throw AppError.validation(issues);

    let config = { ...((existing.config ?? {}) as Record<string, unknown>) };
    const data: Prisma.RunnerTriggerUncheckedUpdateInput = {};
    let reveal: { token: string; url: string } | undefined;
    if (body.enabled !== undefined) data.enabled = body.enabled;
    if (kind === 'cron') {
      if (body.cronExpression !== undefined) {
        assertCronExpression(body.cronExpression);
        config.cronExpression = body.cronExpression.trim();
      }
      if (body.cronTimezone !== undefined) config.cronTimezone = body.cronTimezone;
      if (body.overlapPolicy !== undefined) config.overlapPolicy = body.overlapPolicy;
      if (body.catchupWindowSeconds !== undefined) config.catchupWindowSeconds = body.catchupWindowSeconds;
      if (body.input !== undefined) config.input = body.input;
    } else if (kind === 'button') {
      config = { ...applyButtonFields(config as ButtonConfig, body) };
    } else if (kind === 'webhook') {
      const w = config as unknown as WebhookConfig;
      if (body.signature === null) w.signature = null;
      else if (body.signature !== undefined) {
        const secret = body.signature.secret;
        if (secret) {
          w.signature = sealSignature(requireSecretBox(deps.secrets), orgId, triggerId, body.signature, secret);
        } else if (w.signature) {
          // Settings change without a new secret: keep the stored one.
          const { secret: _none, ...rest } = body.signature;
          w.signature = { ...rest, secretEncrypted: w.signature.secretEncrypted, secretHint: w.signature.secretHint };
        } else {
          throw AppError.validation([{ path: 'signature.secret', message: 'is required' }]);
        }
      }
      if (body.idempotencyKeyPath !== undefined) w.idempotencyKeyPath = body.idempotencyKeyPath ?? null;
      if (body.rateLimitPerMinute !== undefined) w.rateLimitPerMinute = body.rateLimitPerMinute;
      if (body.maxBodyBytes !== undefined) w.maxBodyBytes = body.maxBodyBytes;
      if (body.rotateToken) {
        const tok = newWebhookToken();
        data.tokenHash = tok.hash;
        data.tokenPrefix = tok.prefix;
        reveal = { token: tok.token, url: webhookUrl(deps, tok.token) };
      }
    } else if (kind === 'poll') {
      if (body.pollConfig !== undefined) {
        await checkMcpServer(tx, body.pollConfig.mcpServerId);
        config.pollConfig = body.pollConfig;
      }
      if (body.pollCursor !== undefined) data.pollCursor = body.pollCursor === null ? Prisma.DbNull : body.pollCursor;
    }
    data.config = config as Prisma.InputJsonObject;
    const t = await tx.runnerTrigger.update({ where: { id: triggerId }, data });
    await withSchedule(deps, t);
    deps.log.info({ orgId, runnerId, triggerId, rotated: !!reveal }, 'trigger updated');
    return serializeTrigger(t, reveal);
  });
}

export async function deleteTrigger(
  deps: ServiceDeps,
  orgId: string,
  runnerId: string,
  triggerId: string,
): Promise<void> {
  await withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const t = await requireTrigger(tx, runnerId, triggerId);
    await tx.runnerTrigger.delete({ where: { id: t.id } });
    if (hasSchedule(t.kind)) {
      try {
        await deleteTriggerSchedule(deps, t.scheduleId ?? scheduleIdForTrigger(t.id));
      } catch (e) {
        throw AppError.unavailable('Temporal', e);
      }
    }
    deps.log.info({ orgId, runnerId, triggerId }, 'trigger deleted');
  });
}
