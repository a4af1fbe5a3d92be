import { createLogger } from '../config/logger';
import { createDb } from '../db/client';
import { reconcilePendingRuns } from '../services/runs';
import { llmSettingsFromEnv } from '../llm/router';
import { createOpenAiEmbedder } from '../services/knowledge';
import { createSecretBox } from '../services/secrets';
import { parsePriceOverrides } from '../shared/pricing';
import { connectTemporalClient, temporalSettingsFromEnv } from '../temporal/connection';
import { checkDatabase, die, loadEnvOrDie, requireDatabaseUrl } from './startup';
import { createRunWorker, installTemporalRuntime } from './worker-runtime';

async function main(): Promise<void> {
  const env = loadEnvOrDie();
  const log = createLogger(env.LOG_LEVEL, 'worker');
  const dbUrl = requireDatabaseUrl(env);
  await checkDatabase(dbUrl);
  const temporal = await temporalSettingsFromEnv(env);
  const { client, connection: clientConnection } = await connectTemporalClient(temporal).catch((e: Error) =>
    die(`Temporal at ${temporal.address} is unreachable: ${e.message}`),
  );
  installTemporalRuntime(log);
  const db = createDb(dbUrl, { poolSize: 20 });
  if (!env.FLAPJACK_SECRET_KEY) log.warn('FLAPJACK_SECRET_KEY is not set: webhook steps with custom headers will fail');
  let priceOverrides;
  try {
    priceOverrides = parsePriceOverrides(env.FLAPJACK_MODEL_PRICES);
  } catch (e) {
    die((e as Error).message);
  }
  const llm = llmSettingsFromEnv(env);
  if (!llm.openai?.apiKey && !llm.openai?.baseUrl && !llm.anthropic?.apiKey && !llm.anthropic?.baseUrl) {
    log.warn('no LLM provider configured (OPENAI_API_KEY/OPENAI_BASE_URL, ANTHROPIC_API_KEY/ANTHROPIC_BASE_URL): agent steps will fail');
  }
  const { worker, connection } = await createRunWorker({
    db,
    temporal,
    egressAllowlist: env.FLAPJACK_EGRESS_ALLOWLIST,
    secrets: env.FLAPJACK_SECRET_KEY ? createSecretBox(env.FLAPJACK_SECRET_KEY) : undefined,
    agent: {
      llm,
      priceOverrides,
      agentLimits: { maxIterations: env.FLAPJACK_AGENT_MAX_ITERATIONS, maxTokens: env.FLAPJACK_AGENT_MAX_TOKENS },
      embedder: env.FLAPJACK_EMBEDDING_MODEL
        ? createOpenAiEmbedder({ model: env.FLAPJACK_EMBEDDING_MODEL, apiKey: env.OPENAI_API_KEY, baseUrl: env.OPENAI_BASE_URL })
        : undefined,
      log,
    },
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
