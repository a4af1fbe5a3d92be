import { createLogger } from '../config/logger';
import { createDb } from '../db/client';
import { reconcilePendingRuns } from '../services/runs';
import { connectTemporalClient, temporalSettingsFromEnv } from '../temporal/connection';
import { checkDatabase, die, loadEnvOrDie, requireDatabaseUrl, requireSecretBox } from './startup';
import { createRunWorker, installTemporalRuntime } from './worker-runtime';

async function main(): Promise<void> {
  const env = loadEnvOrDie();
  const log = createLogger(env.LOG_LEVEL, 'worker');
  const dbUrl = requireDatabaseUrl(env);
  const secrets = requireSecretBox(env);
  await checkDatabase(dbUrl);
  const temporal = await temporalSettingsFromEnv(env);
  const { client, connection: clientConnection } = await connectTemporalClient(temporal).catch((e: Error) =>
    die(`Temporal at ${temporal.address} is unreachable: ${e.message}`),
  );
  installTemporalRuntime(log);
  const db = createDb(dbUrl, { poolSize: 20 });
  const { worker, connection } = await createRunWorker({
    db,
    temporal,
    egressAllowlist: env.FLAPJACK_EGRESS_ALLOWLIST,
    secrets,
  });

  const deps = { db, log, temporal: { client, taskQueue: temporal.taskQueue, namespace: temporal.namespace } };
  const reconciler = setInterval(() => {
    reconcilePendingRuns(deps).catch((err: unknown) => log.warn({ err }, 'reconcile pass failed'));
  }, env.FLAPJACK_RECONCILE_INTERVAL_MS);

  const stop = () => {
    log.info('shutting down worker');
    clearInterval(reconciler);
    worker.shutdown();
    // Activities get the worker's shutdown grace time; never hang past it.
    setTimeout(() => {
      log.warn('worker did not stop in time; exiting');
      process.exit(1);
    }, 30_000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  log.info({ taskQueue: temporal.taskQueue, namespace: temporal.namespace, address: temporal.address }, 'worker started');
  await worker.run();
  await connection.close();
  await clientConnection.close();
  await db.$disconnect();
}

main().catch((e: unknown) => die((e as Error).message));
