import { createServer } from 'node:http';
import { createApp } from '../../api/app';
import { createLogger } from '../config/logger';
import { createDb } from '../db/client';
import { createKeyResolver, ensureBootstrapKey } from '../services/api-keys';
import { createOpenAiEmbedder } from '../knowledge/embed';
import { connectTemporalClient, temporalSettingsFromEnv } from '../temporal/connection';
import { checkDatabase, die, loadEnvOrDie, requireDatabaseUrl, requireSecretBox } from './startup';

async function main(): Promise<void> {
  const env = loadEnvOrDie();
  const log = createLogger(env.LOG_LEVEL, 'api');
  const dbUrl = requireDatabaseUrl(env);
  const secrets = requireSecretBox(env);
  await checkDatabase(dbUrl);
  const temporal = await temporalSettingsFromEnv(env);
  const { client, connection } = await connectTemporalClient(temporal).catch((e: Error) =>
    die(`Temporal at ${temporal.address} is unreachable: ${e.message}`),
  );
  const db = createDb(dbUrl, { poolSize: 20 });
  if (env.FLAPJACK_BOOTSTRAP_API_KEY) {
    await ensureBootstrapKey(db, env.FLAPJACK_BOOTSTRAP_API_KEY);
    log.info('bootstrap API key ensured for org "default"');
  }
  const app = createApp({
    services: {
      db,
      log,
      secrets,
      temporal: { client, taskQueue: temporal.taskQueue, namespace: temporal.namespace, uiUrl: env.TEMPORAL_UI_URL },
      publicUrl: env.FLAPJACK_PUBLIC_URL ?? `http://localhost:${env.PORT}`,
    },
    resolveApiKey: createKeyResolver(db),
    embedder: env.FLAPJACK_EMBEDDING_MODEL
      ? createOpenAiEmbedder({ model: env.FLAPJACK_EMBEDDING_MODEL, apiKey: env.OPENAI_API_KEY, baseUrl: env.OPENAI_BASE_URL })
      : undefined,
  });
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  server.on('error', (e: NodeJS.ErrnoException) =>
    die(e.code === 'EADDRINUSE' ? `port ${env.PORT} is already in use (set PORT)` : e.message),
  );
  server.listen(env.PORT, () => log.info({ port: env.PORT }, `API listening on http://localhost:${env.PORT}`));
  const stop = () => {
    log.info('shutting down API');
    server.close(() => {
      void Promise.allSettled([connection.close(), db.$disconnect()]).then(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => die((e as Error).message));
