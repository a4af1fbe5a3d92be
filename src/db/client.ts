import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from '../generated/prisma/client';
import { APP_ROLE, type DbRole } from './roles';
import { sendStatementsInFull } from './sql-batch';

export type Db = PrismaClient;
export type { PrismaClient };

export interface DbOptions {
  /** Upper bound of pooled connections (pg Pool `max`). */
  poolSize?: number;
  /**
   * The role every connection starts as. APP_ROLE (the default) sees no org's rows until `withOrg` names
   * one. SYSTEM_ROLE sees every org: for test and benchmark harnesses that seed and inspect rows across
   * orgs, never for the API or the worker (their cross-org reads go through `withSystem`).
   */
  sessionRole?: DbRole;
  /**
   * Prepare the run path's statements once per connection (default true; see `preparedStatement` in
   * sql-batch.ts). False behind a transaction-mode pooler, where a prepared statement may be on another
   * server connection than the transaction that executes it: the statements are then sent in full.
   */
  preparedStatements?: boolean;
}

const pools = new WeakMap<PrismaClient, Pool>();

/**
 * Builds the Prisma client on the pg driver adapter (no Rust query engine at run time) over a pg Pool
 * that the hot paths can also use directly (`sqlPool`): one set of connections for both. Connections act as
 * `flapjack_app` with no org until a scope says otherwise (src/db/scoped.ts).
 */
export function createDb(databaseUrl: string, opts: DbOptions = {}): PrismaClient {
  const { url, options } = withSessionRole(databaseUrl, opts.sessionRole ?? APP_ROLE);
  const pool = new Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    options,
  });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  if (opts.preparedStatements === false) pool.on('connect', (client) => sendStatementsInFull(client));
  const db = new PrismaClient({ adapter: new PrismaPg(pool) });
  pools.set(db, pool);
  const disconnect = db.$disconnect.bind(db);
  Object.defineProperty(db, '$disconnect', {
    value: async () => {
      await disconnect();
      await pool.end().catch(() => undefined);
    },
  });
  return db;
}

/**
 * Default deny, set in the startup packet (no extra round trip): a query outside withOrg/withSystem runs
 * as a role without BYPASSRLS and with no org, so row-level security shows it nothing. An `options`
 * parameter already in the URL is kept, with our role last so that it wins (the URL's would otherwise
 * replace ours entirely).
 */
function withSessionRole(databaseUrl: string, role: DbRole): { url: string; options: string } {
  const ours = `-c role=${role}`;
  let parsed: URL;
  try {
    parsed = new URL(databaseUrl);
  } catch {
    return { url: databaseUrl, options: ours };
  }
  const theirs = parsed.searchParams.get('options');
  if (theirs === null) return { url: databaseUrl, options: ours };
  parsed.searchParams.delete('options');
  return { url: parsed.toString(), options: `${theirs} ${ours}` };
}

/** The pg Pool under a client made by `createDb`. */
export function sqlPool(db: PrismaClient): Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('sqlPool: this PrismaClient was not created by createDb');
  return pool;
}
