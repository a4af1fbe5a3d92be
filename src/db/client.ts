import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

export type Db = PrismaClient;
export type { PrismaClient };

export interface DbOptions {
  /** Upper bound of pooled connections (pg Pool `max`). */
  poolSize?: number;
}

/** Builds the Prisma client on the pg driver adapter: no Rust query engine at run time. */
export function createDb(databaseUrl: string, opts: DbOptions = {}): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: databaseUrl,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  return new PrismaClient({ adapter });
}
