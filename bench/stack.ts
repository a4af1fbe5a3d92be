/**
 * The stack every benchmark suite starts: a freshly migrated database (on DATABASE_URL's server, else an
 * embedded PostgreSQL in a temporary directory) and a Temporal dev server with a file database (or in
 * memory). Each start pushes its own cleanup onto `cleanups`; the suite runs them in reverse at the end.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createDb, type PrismaClient } from '../src/db/client';
import { applyMigrations, dropDatabase, ensureDatabase } from '../src/db/migrate';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { resolveTemporalBinary } from '../src/dev/temporal-binary';
import { startTemporalDevServer } from '../src/dev/temporal-server';

export type Cleanups = (() => Promise<void>)[];

/** A new database named `<dbName>_<timestamp>`, migrated; returns its URL. */
export async function startBenchDatabase(dbName: string, cleanups: Cleanups): Promise<string> {
  let pgUrl = process.env.DATABASE_URL;
  if (!pgUrl) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fj-bench-pg-'));
    await chmod(dir, 0o755);
    const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), port: 0 });
    cleanups.push(async () => {
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    });
    pgUrl = pg.url;
  }
  const dbUrl = new URL(pgUrl);
  dbUrl.pathname = `/${dbName}_${Date.now()}`;
  const databaseUrl = dbUrl.toString();
  await ensureDatabase(databaseUrl);
  if (process.env.DATABASE_URL && !process.env.BENCH_KEEP_DB) {
    // On the user's own server the database is dropped at the end (BENCH_KEEP_DB=1 keeps it), after every
    // other cleanup has closed its connections: this one re-queues the drop at the end of the list, which
    // the suite's loop (in either order) still reaches.
    const drop = () => dropDatabase(databaseUrl);
    cleanups.push(async () => {
      cleanups.push(drop);
    });
  }
  await applyMigrations(databaseUrl);
  return databaseUrl;
}

export interface BenchTemporalOptions {
  /** Use TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE when set instead of starting a server. */
  external: boolean;
  /** Honour BENCH_TEMPORAL_DB=memory (an in-memory server instead of a file database). */
  memoryFromEnv: boolean;
}

/** A Temporal frontend to talk to: the one in the environment, or a dev server started here. */
export async function startBenchTemporal(
  cleanups: Cleanups,
  opts: BenchTemporalOptions,
): Promise<{ address: string; namespace: string; pid?: number }> {
  if (opts.external && process.env.TEMPORAL_ADDRESS) {
    return { address: process.env.TEMPORAL_ADDRESS, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fj-bench-temporal-'));
  const server = await startTemporalDevServer({
    binary: await resolveTemporalBinary(),
    dataDir: opts.memoryFromEnv && process.env.BENCH_TEMPORAL_DB === 'memory' ? undefined : dir,
    port: 0,
    uiPort: false,
  });
  cleanups.push(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { address: server.address, namespace: server.namespace, pid: server.pid };
}

/**
 * What an in-process bench needs to run a worker and start workflows: a database client, a worker
 * connection and a client connection to the Temporal server, each closed by `cleanups`.
 */
export async function connectBenchClients(
  cleanups: Cleanups,
  opts: { databaseUrl: string; address: string; namespace: string; poolSize: number },
): Promise<{ db: PrismaClient; nativeConnection: NativeConnection; client: Client }> {
  const db = createDb(opts.databaseUrl, { poolSize: opts.poolSize });
  cleanups.push(() => db.$disconnect());
  const nativeConnection = await NativeConnection.connect({ address: opts.address });
  cleanups.push(() => nativeConnection.close());
  const connection = await Connection.connect({ address: opts.address });
  cleanups.push(() => connection.close());
  return { db, nativeConnection, client: new Client({ connection, namespace: opts.namespace }) };
}
