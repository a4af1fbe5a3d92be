import { createHash } from 'node:crypto';
import { AppError } from '../errors/app-error';
import { orgBatch, systemBatch } from '../db/scoped';
import { evaluatePath } from '../shared/jsonpath';
import type { ServiceDeps } from './deps';
import { createRun } from './runs';
import { requireSecretBox, SecretBoxError } from '../crypto/secret-box';
import { hashWebhookToken, signingSecretContext, WEBHOOK_TOKEN_PREFIX } from './triggers';
import type { WebhookConfig } from './triggers-serialize';
import { takeWebhookToken } from './triggers-rate-limit';
import { verifySignature, type Headers } from './triggers-signature';

/**
 * The public inbound webhook (`POST /api/runners/webhooks/:token`): find the trigger by the token's
 * hash, rate-limit per trigger, bound the body, verify the signature over the raw bytes, derive the
 * idempotency key, and start a run through `createRun` (the same path as the API).
 */

export interface WebhookDelivery {
  token: string;
  rawBody: Buffer;
  /** The parsed JSON body (undefined for an empty body). */
  body: unknown;
  headers: Headers;
}

export interface WebhookOutcome {
  runId: string;
  /** False when the idempotency key matched an earlier delivery: its run is returned. */
  created: boolean;
}

const TOKEN_RE = new RegExp(`^${WEBHOOK_TOKEN_PREFIX}[A-Za-z0-9_-]{16,100}$`);
/** Keys longer than this are hashed (the column holds 255 characters). */
const MAX_KEY = 200;

function idempotencyKey(triggerId: string, path: string | null, body: unknown, headers: Headers): string | null {
  if (!path) return null;
  let value: unknown;
  if (path.toLowerCase().startsWith('header:')) {
    const v = headers[path.slice('header:'.length).toLowerCase()];
    value = Array.isArray(v) ? v[0] : v;
  } else {
    value = evaluatePath(path, body ?? null);
  }
  if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
  if (typeof value !== 'string' || value === '') return null;
  const raw = `webhook:${triggerId}:${value}`;
  return raw.length <= MAX_KEY
    ? raw
    : `webhook:${triggerId}:sha256:${createHash('sha256').update(value).digest('hex')}`;
}

/** Builds the receiver (its rate limit lives in PostgreSQL, shared by every API process). */
export function createWebhookReceiver(deps: ServiceDeps) {
  return async function receive(d: WebhookDelivery): Promise<WebhookOutcome> {
    if (!TOKEN_RE.test(d.token)) throw AppError.notFound('Webhook');
    // The token names the org, so the lookup reads across orgs (one round trip).
    const [found] = await systemBatch<{
      id: string;
      org_id: string;
      runner_id: string;
      kind: string;
      enabled: boolean;
      config: WebhookConfig;
    }>(deps.db, 'webhook trigger lookup', (q) => [
      `SELECT t.id, t.org_id, t.runner_id, t.kind, t.enabled, t.config
         FROM runner_triggers t JOIN runners r ON r.id = t.runner_id
        WHERE t.token_hash = ${q.lit(hashWebhookToken(d.token))} AND r.deleted_at IS NULL`,
    ]);
    const t = found?.rows[0];
    if (!t || t.kind !== 'webhook') throw AppError.notFound('Webhook');
    if (!t.enabled) throw AppError.conflict('This webhook trigger is paused');
    const cfg = t.config;

    const retryAfter = await takeWebhookToken(deps.db, t.org_id, t.id, cfg.rateLimitPerMinute);
    if (retryAfter !== null) {
      throw new AppError('rate_limited', 'Too many deliveries for this webhook; slow down', {
        headers: { 'Retry-After': String(retryAfter) },
      });
    }
    if (d.rawBody.length > cfg.maxBodyBytes) {
      throw new AppError(
        'payload_too_large',
        `The body is larger than this webhook accepts (${cfg.maxBodyBytes} bytes)`,
      );
    }
    if (cfg.signature) {
      const box = requireSecretBox(deps.secrets);
      let secret: string;
      try {
        secret = box.decrypt(cfg.signature.secretEncrypted, signingSecretContext(t.org_id, t.id));
      } catch (e) {
        if (e instanceof SecretBoxError) {
          throw new AppError(
            'service_unavailable',
            'The signing secret cannot be decrypted with the configured FLAPJACK_SECRET_KEY',
          );
        }
        throw e;
      }
      const problem = verifySignature({ ...cfg.signature, secret }, d.rawBody, d.headers);
      if (problem) {
        deps.log.info({ triggerId: t.id, reason: problem }, 'webhook delivery refused: bad signature');
        throw new AppError('unauthorized', `Invalid webhook signature: ${problem}`);
      }
    }

    const key = idempotencyKey(t.id, cfg.idempotencyKeyPath, d.body, d.headers);
    const { created, run } = await createRun(
      deps,
      t.org_id,
      t.runner_id,
      { input: d.body === undefined ? {} : d.body, ...(key ? { idempotencyKey: key } : {}) },
      { kind: 'webhook', triggerId: t.id },
    );
    if (created) {
      void orgBatch(deps.db, t.org_id, (q) => [
        `UPDATE runner_triggers SET last_fired_at = now() WHERE id = ${q.lit(t.id)}`,
      ]).catch((err: unknown) => deps.log.warn({ err, triggerId: t.id }, 'could not record lastFiredAt'));
    }
    return { runId: run.id, created };
  };
}
