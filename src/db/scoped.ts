import type { PoolClient } from 'pg';
import { sqlPool, type PrismaClient } from './client';
import { APP_ROLE, SYSTEM_ROLE } from './roles';
import { mustDiscard, resultSets, Sql } from './sql-batch';

export { APP_ROLE, SYSTEM_ROLE } from './roles';

/** The transaction client Prisma hands to interactive transactions. */
export type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/**
 * Why a unit of work may read or write across orgs. A closed list on purpose: each entry is a path that
 * must find its org from the data (a key hash, a token, a runner id) or spans every org (the
 * reconcilers); adding one is a reviewed change, listed with its reason in docs/tenancy.md.
 */
export type SystemReason =
  | 'api-key lookup'
  | 'org and api-key creation'
  | 'webhook trigger lookup'
  | 'button lookup'
  | 'button run status'
  | 'workflow start bookkeeping'
  | 'pending-run reconciler'
  | 'schedule reconciler';

const TX_OPTS = { maxWait: 5_000 };

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
    { ...TX_OPTS, timeout: opts.timeoutMs ?? 15_000 },
  );
}

/**
 * Runs `fn` in a transaction that sees every org (role `flapjack_system`, transaction-local). The only
 * way for app code to reach rows of an org it has not named; `reason` says which listed path this is
 * and is left in `app.system_reason` for whoever inspects the session.
 */
export async function withSystem<T>(
  db: PrismaClient,
  reason: SystemReason,
  fn: (tx: Tx) => Promise<T>,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  return db.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT set_config('role', ${SYSTEM_ROLE}, true), set_config('app.system_reason', ${reason}, true)`;
      return fn(tx);
    },
    { ...TX_OPTS, timeout: opts.timeoutMs ?? 15_000 },
  );
}

/**
 * `withSystem` in one database round trip, for single statements on request paths (a webhook delivery,
 * a button press): BEGIN, the role switch, the statements and COMMIT go as one multi-statement batch.
 * `build` gets the literal builder (values inlined and escaped, see `Sql`) and returns the statements;
 * the result sets of those statements are returned in order.
 */
export async function systemBatch<R>(
  db: PrismaClient,
  reason: SystemReason,
  build: (q: Sql) => string[],
): Promise<{ rows: R[] }[]> {
  return withSqlClient(db, async (c) => {
    const q = new Sql(c);
    const statements = build(q);
    const sets = resultSets<R>(await c.query([q.beginSystem(reason), ...statements, 'COMMIT'].join(';\n')));
    return sets.slice(2, 2 + statements.length); // after BEGIN and the set_config
  });
}

/** `withOrg` in one database round trip (see `systemBatch`). */
export async function orgBatch<R>(
  db: PrismaClient,
  orgId: string,
  build: (q: Sql) => string[],
): Promise<{ rows: R[] }[]> {
  return withSqlClient(db, async (c) => {
    const q = new Sql(c);
    const statements = build(q);
    const sets = resultSets<R>(await c.query([q.beginOrg(orgId), ...statements, 'COMMIT'].join(';\n')));
    return sets.slice(2, 2 + statements.length);
  });
}

/**
 * Runs `fn` on a pooled connection and rolls back whatever transaction it left open when it throws.
 * For the hot paths (run creation, the run workflow's writes), which send BEGIN…COMMIT as
 * multi-statement batches (see `Sql` in sql-batch.ts) opened by `Sql.beginOrg`. The connection acts as
 * `flapjack_app` with no org until then, so a batch that forgets `beginOrg` sees no org rows.
 * Measured on this machine: 0.8 ms of CPU for a 4-statement transaction on plain pg against
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
    if (mustDiscard(client, e)) broken = true;
    throw e;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
