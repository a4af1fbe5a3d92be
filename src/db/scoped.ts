import type { PrismaClient } from './client';

/** The transaction client Prisma hands to interactive transactions. */
export type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/** The role without BYPASSRLS that org-scoped work runs as (created by the RLS migration). */
export const APP_ROLE = 'flapjack_app';

/**
 * Runs `fn` in a transaction that acts for one org: the role is switched to `flapjack_app` and
 * `app.org_id` is set, both transaction-local, so row-level security shows only that org's rows even
 * to a query without a WHERE clause. Everything inside commits or rolls back together.
 */
export async function withOrg<T>(
  db: PrismaClient,
  orgId: string,
  fn: (tx: Tx) => Promise<T>,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  return db.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT set_config('role', ${APP_ROLE}, true), set_config('app.org_id', ${orgId}, true)`;
      return fn(tx);
    },
    { timeout: opts.timeoutMs ?? 15_000, maxWait: 5_000 },
  );
}
