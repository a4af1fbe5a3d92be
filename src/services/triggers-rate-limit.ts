import type { PrismaClient } from '../db/client';

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

/** Takes one delivery from the trigger's budget: null when accepted, else the seconds to wait. */
export async function takeWebhookToken(db: PrismaClient, triggerId: string, perMinute: number): Promise<number | null> {
  const step = WINDOW_S / perMinute;
  const taken = await db.$queryRaw<{ id: string }[]>`
    UPDATE runner_triggers
       SET rate_limit_tat = greatest(coalesce(rate_limit_tat, now()), now()) + make_interval(secs => ${step}::float8)
     WHERE id = ${triggerId}::uuid
       AND greatest(coalesce(rate_limit_tat, now()), now()) + make_interval(secs => ${step}::float8)
           <= now() + make_interval(secs => ${WINDOW_S}::float8)
    RETURNING id`;
  if (taken.length) return null;
  // Refused (the rare path): when the next delivery fits, for Retry-After.
  const rows = await db.$queryRaw<{ wait: number | null }[]>`
    SELECT extract(epoch FROM rate_limit_tat + make_interval(secs => ${step - WINDOW_S}::float8) - now())::float8
           AS wait
      FROM runner_triggers WHERE id = ${triggerId}::uuid`;
  return Math.max(1, Math.ceil(rows[0]?.wait ?? 1));
}
