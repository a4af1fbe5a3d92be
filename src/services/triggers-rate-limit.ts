import type { PrismaClient } from '../db/client';
import { orgBatch } from '../db/scoped';

/**
 * The per-token rate limit of inbound webhooks, kept in PostgreSQL so that it holds across every API
 * process (an in-memory bucket per process would let N processes take N times the limit).
 *
 * It is a token bucket of `perMinute` tokens refilled at `perMinute` a minute, stored as one timestamp
 * per trigger (`runner_triggers.rate_limit_tat`, the "theoretical arrival time" of the generic cell rate
 * algorithm): each accepted delivery pushes it `60 s / perMinute` further, starting from now when it
 * lies in the past; a delivery is accepted while that leaves it at most one minute ahead of now, so a
 * quiet trigger takes a burst of a minute's worth. One UPDATE per delivery; the row lock it takes
 * serialises concurrent deliveries, and READ COMMITTED re-checks the condition on the newest row.
 */

const WINDOW_S = 60;

/**
 * Takes one delivery from the trigger's budget: null when accepted, else the seconds to wait. One round
 * trip, scoped to the trigger's org (row-level security): the UPDATE and, for Retry-After, the read of the
 * bucket go in the same batch.
 */
export async function takeWebhookToken(
  db: PrismaClient,
  orgId: string,
  triggerId: string,
  perMinute: number,
): Promise<number | null> {
  const step = Number(WINDOW_S / perMinute);
  if (!Number.isFinite(step) || step <= 0) throw new Error(`invalid webhook rate limit: ${perMinute}`);
  const [taken, bucket] = await orgBatch<{ id?: string; wait?: number | null }>(db, orgId, (q) => {
    const id = q.lit(triggerId);
    return [
      `UPDATE runner_triggers
          SET rate_limit_tat = greatest(coalesce(rate_limit_tat, now()), now()) + make_interval(secs => ${step}::float8)
        WHERE id = ${id}::uuid
          AND greatest(coalesce(rate_limit_tat, now()), now()) + make_interval(secs => ${step}::float8)
              <= now() + make_interval(secs => ${WINDOW_S}::float8)
        RETURNING id`,
      `SELECT extract(epoch FROM rate_limit_tat + make_interval(secs => ${step - WINDOW_S}::float8) - now())::float8 AS wait
         FROM runner_triggers WHERE id = ${id}::uuid`,
    ];
  });
  if (taken?.rows.length) return null;
  return Math.max(1, Math.ceil(bucket?.rows[0]?.wait ?? 1));
}
