import type { PoolClient } from 'pg';
import { sqlPool, type PrismaClient } from './client';

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

/**
 * Runs `fn` on a pooled connection and rolls back whatever transaction it left open when it throws.
 * For the hot paths (run creation, the run workflow's writes), which send BEGIN…COMMIT as
 * multi-statement batches (see `Sql` in sql-batch.ts) with the same role switch and org setting as
 * `withOrg`. Measured on this machine: 0.8 ms of CPU for a 4-statement transaction on plain pg against
 * 8.2 ms through a Prisma interactive transaction (docs/BENCHMARKS.md).
 */
export async function withSqlClient<T>(db: PrismaClient, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await sqlPool(db).connect();
  let broken = false;
  // A checked-out pg client has no 'error' listener (the pool only watches idle ones): when the
  // connection is reset mid-transaction, the ROLLBACK below fails to write and the client emits
  // 'error', which unhandled killed the whole worker (found by `npm run chaos`, docs/RELIABILITY.md).
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  try {
    return await fn(client);
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw e;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
