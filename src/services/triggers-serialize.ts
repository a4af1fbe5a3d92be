import type { RunnerTrigger } from '../generated/prisma/client';
import type { PollConfig, SignatureConfigInput, TriggerKind } from '../shared/trigger-schemas';
import { nextFireTimes } from './triggers-cron';
import type { CronConfig } from './triggers-schedules';
import { serializeButtonConfig, type ButtonConfig } from './triggers-button';

/** The stored form of a webhook's signature settings: the secret encrypted, a masked hint to show. */
export interface StoredSignature {
  preset: SignatureConfigInput['preset'];
  secretEncrypted: string;
  secretHint: string;
  toleranceSeconds?: number;
  header?: string;
  encoding?: 'hex' | 'base64';
  prefix?: string;
}

export interface WebhookConfig {
  signature: StoredSignature | null;
  idempotencyKeyPath: string | null;
  rateLimitPerMinute: number;
  maxBodyBytes: number;
}

/** The API shape. `reveal` carries the token and URL for the create and rotate responses only. */
export function serializeTrigger(t: RunnerTrigger, reveal?: { token: string; url: string }) {
  const c = (t.config ?? {}) as Record<string, unknown>;
  const base = { id: t.id, runnerId: t.runnerId, kind: t.kind as TriggerKind, enabled: t.enabled };
  const times = { lastFiredAt: t.lastFiredAt ? t.lastFiredAt.toISOString() : null, createdAt: t.createdAt.toISOString(), updatedAt: t.updatedAt.toISOString() };
  switch (t.kind) {
    case 'cron': {
      const cron = c as unknown as CronConfig;
      let fires: string[] = [];
      try {
        fires = t.enabled ? nextFireTimes(cron.cronExpression, cron.cronTimezone, 5) : [];
      } catch {
        fires = [];
      }
      return {
        ...base,
        cronExpression: cron.cronExpression,
        cronTimezone: cron.cronTimezone,
        overlapPolicy: cron.overlapPolicy,
        catchupWindowSeconds: cron.catchupWindowSeconds,
        input: cron.input ?? {},
        scheduleId: t.scheduleId,
        nextFireTimes: fires,
        ...times,
      };
    }
    case 'webhook': {
      const w = c as unknown as WebhookConfig;
      const sig = w.signature;
      return {
        ...base,
        ...(reveal ? { token: reveal.token, url: reveal.url } : {}),
        tokenPrefix: t.tokenPrefix,
        signature: sig
          ? {
              preset: sig.preset,
              secret: sig.secretHint,
              ...(sig.toleranceSeconds !== undefined ? { toleranceSeconds: sig.toleranceSeconds } : {}),
              ...(sig.header !== undefined ? { header: sig.header } : {}),
              ...(sig.encoding !== undefined ? { encoding: sig.encoding } : {}),
              ...(sig.prefix !== undefined ? { prefix: sig.prefix } : {}),
            }
          : null,
        idempotencyKeyPath: w.idempotencyKeyPath ?? null,
        rateLimitPerMinute: w.rateLimitPerMinute,
        maxBodyBytes: w.maxBodyBytes,
        ...times,
      };
    }
    case 'poll':
      return { ...base, pollConfig: c.pollConfig as PollConfig, pollCursor: t.pollCursor ?? null, scheduleId: t.scheduleId, ...times };
    case 'button':
      return { ...base, ...serializeButtonConfig(c as ButtonConfig), ...times };
    default:
      return { ...base, ...times };
  }
}

export type TriggerResponse = ReturnType<typeof serializeTrigger>;

