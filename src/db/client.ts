import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from '../generated/prisma/client';

export type Db = PrismaClient;
export type { PrismaClient };

export interface DbOptions {
  /** Upper bound of pooled connections (pg Pool `max`). */
  poolSize?: number;
}

const pools = new WeakMap<PrismaClient, Pool>();

/**
 * Builds the Prisma client on the pg driver adapter (no Rust query engine at run time) over a pg Pool
 * that the hot paths can also use directly (`sqlPool`): one set of connections for both.
 */
export function createDb(databaseUrl: string, opts: DbOptions = {}): PrismaClient {
  const pool = new Pool({
    connectionString: databaseUrl,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
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

/** The pg Pool under a client made by `createDb`. */
export function sqlPool(db: PrismaClient): Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('sqlPool: this PrismaClient was not created by createDb');
  return pool;
}
