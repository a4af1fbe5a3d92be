import type { RunnerTrigger } from '../generated/prisma/client';
import type { z } from 'zod';
import type {
  apiTriggerResponseSchema,
  buttonTriggerResponseSchema,
  cronTriggerResponseSchema,
  manualTriggerResponseSchema,
  PollConfig,
  pollTriggerResponseSchema,
  SignatureConfigInput,
  TriggerKind,
  TriggerResponse,
  webhookTriggerResponseSchema,
} from '../shared/trigger-schemas';
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

/** A stored poll cursor (JSON): the string or number the source pages by, or null before the first poll. */
function cursorOf(v: unknown): string | number | null {
  return typeof v === 'string' || typeof v === 'number' ? v : null;
}

/**
 * The API shape, checked against the response schema of the trigger's kind (an undocumented field is a
 * type error). `reveal` carries the token and URL for the create and rotate responses only.
 */
export function serializeTrigger(t: RunnerTrigger, reveal?: { token: string; url: string }): TriggerResponse {
  const c = (t.config ?? {}) as Record<string, unknown>;
  const base = {
    id: t.id,
    runnerId: t.runnerId,
    enabled: t.enabled,
    lastFiredAt: t.lastFiredAt ? t.lastFiredAt.toISOString() : null,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
  const kind = t.kind as TriggerKind;
  switch (kind) {
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
        kind,
        cronExpression: cron.cronExpression,
        cronTimezone: cron.cronTimezone,
        overlapPolicy: cron.overlapPolicy,
        catchupWindowSeconds: cron.catchupWindowSeconds,
        input: cron.input ?? {},
        scheduleId: t.scheduleId,
        nextFireTimes: fires,
      } satisfies z.input<typeof cronTriggerResponseSchema>;
    }
    case 'webhook': {
      const w = c as unknown as WebhookConfig;
      const sig = w.signature;
      return {
        ...base,
        kind,
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
      } satisfies z.input<typeof webhookTriggerResponseSchema>;
    }
    case 'poll':
      return {
        ...base,
        kind,
        pollConfig: c.pollConfig as PollConfig,
        pollCursor: cursorOf(t.pollCursor),
        scheduleId: t.scheduleId,
      } satisfies z.input<typeof pollTriggerResponseSchema>;
    case 'button':
      return { ...base, kind, ...serializeButtonConfig(c as ButtonConfig) } satisfies z.input<
        typeof buttonTriggerResponseSchema
      >;
    case 'manual':
    case 'api':
      return { ...base, kind } satisfies z.input<typeof manualTriggerResponseSchema | typeof apiTriggerResponseSchema>;
  }
}
