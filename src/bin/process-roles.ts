/**
 * One Flapjack process: the API, the run worker, or both (FLAPJACK_ROLES=api,worker).
 *
 * With both roles the API's Temporal client is built on the worker's NativeConnection and starts runs
 * with `requestEagerStart`: the run's first workflow task comes back with the start response and is
 * handed to this process's worker, skipping the task queue (docs/run-shape.md). Scaling out is N such
 * processes against one Temporal cluster and one PostgreSQL; the roles can also run split.
 */
import { createServer, type Server } from 'node:http';
import { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createApp } from '../../api/app';
import type { Env } from '../config/env';
import { createLogger } from '../config/logger';
import { createDb } from '../db/client';
import { createKeyResolver, ensureBootstrapKey } from '../services/api-keys';
import { createOpenAiEmbedder } from '../knowledge/embed';
import { reconcilePendingRuns } from '../services/runs';
import { reconcileTriggerSchedules } from '../services/triggers-schedules';
import { connectTemporalClient, temporalSettingsFromEnv } from '../temporal/connection';
import { checkDatabase, checkMigrated, die, loadEnvOrDie, requireDatabaseUrl, requireSecretBox } from './startup';
import { agentWorkerOptions } from './agent-options';
import { createRunWorker, installTemporalRuntime } from './worker-runtime';
import { startWorkerStats } from './worker-stats';

export const ROLES = ['api', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/** `api`, `worker`, `api,worker` (any order, spaces allowed); throws a one-line reason otherwise. */
export function parseRoles(value: string | undefined, fallback: readonly Role[] = ROLES): Set<Role> {
  const parts = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) return new Set(fallback);
  const bad = parts.filter((p) => !(ROLES as readonly string[]).includes(p));
  if (bad.length)
    throw new Error(
      `FLAPJACK_ROLES: unknown role ${bad.map((b) => `"${b}"`).join(', ')} (use api, worker or api,worker)`,
    );
  return new Set(parts as Role[]);
}

/** Starts the given roles in this process; SIGINT/SIGTERM stop them (API first, then the worker). */
export async function runProcess(roles: Set<Role>, envOverride?: Env): Promise<void> {
  const env = envOverride ?? loadEnvOrDie();
  const api = roles.has('api');
  const work = roles.has('worker');
  const log = createLogger(env.LOG_LEVEL, [...roles].join('+'));
  const dbUrl = requireDatabaseUrl(env);
  const secrets = requireSecretBox(env);
  await checkDatabase(dbUrl);
  await checkMigrated(dbUrl);
  const temporal = await temporalSettingsFromEnv(env);
  const unreachable = (e: Error) => die(`Temporal at ${temporal.address} is unreachable: ${e.message}`);
  const db = createDb(dbUrl, {
    poolSize: api && work ? 30 : 20,
    preparedStatements: env.FLAPJACK_DB_PREPARED_STATEMENTS,
  });
  const closers: (() => Promise<unknown>)[] = [];

  let client: Client;
  let nativeConnection: NativeConnection | undefined;
  if (work) {
    installTemporalRuntime(log);
    const connection = await NativeConnection.connect({
      address: temporal.address,
      tls: temporal.tls,
      apiKey: temporal.apiKey,
    }).catch(unreachable);
    nativeConnection = connection;
    closers.push(() => connection.close());
    // The worker's own connection serves the client too: with the API here, that is what lets a start
    // hand its first workflow task straight to this worker (eager start).
    client = new Client({ connection, namespace: temporal.namespace });
  } else {
    const c = await connectTemporalClient(temporal).catch(unreachable);
    closers.push(() => c.connection.close());
    client = c.client;
  }
  const services = {
    db,
    log,
    secrets,
    temporal: {
      client,
      taskQueue: temporal.taskQueue,
      namespace: temporal.namespace,
      uiUrl: env.TEMPORAL_UI_URL,
      eagerStart: api && work,
    },
    publicUrl: env.FLAPJACK_PUBLIC_URL ?? `http://localhost:${env.PORT}`,
  };

  let server: Server | undefined;
  if (api) {
    if (env.FLAPJACK_BOOTSTRAP_API_KEY) {
      await ensureBootstrapKey(db, env.FLAPJACK_BOOTSTRAP_API_KEY);
      log.info('bootstrap API key ensured for org "default"');
    }
    const app = createApp({
      services,
      resolveApiKey: createKeyResolver(db),
      rateLimit: { ratePerSec: env.FLAPJACK_RATE_LIMIT_PER_SEC, burst: env.FLAPJACK_RATE_LIMIT_BURST },
      embedder: env.FLAPJACK_EMBEDDING_MODEL
        ? createOpenAiEmbedder({
            model: env.FLAPJACK_EMBEDDING_MODEL,
            apiKey: env.OPENAI_API_KEY,
            baseUrl: env.OPENAI_BASE_URL,
          })
        : undefined,
    });
    server = createServer(app);
    server.keepAliveTimeout = 65_000;
    server.on('error', (e: NodeJS.ErrnoException) =>
      die(e.code === 'EADDRINUSE' ? `port ${env.PORT} is already in use (set PORT)` : e.message),
    );
    server.listen(env.PORT, () => log.info({ port: env.PORT }, `API listening on http://localhost:${env.PORT}`));
  }

  // Created after the API listens: bundling the workflows takes seconds, and until this worker runs, a
  // start asking for eager execution is simply dispatched through the task queue.
  let worker: Worker | undefined;
  if (nativeConnection) {
    ({ worker } = await createRunWorker({
      db,
      connection: nativeConnection,
      temporal,
      egressAllowlist: env.FLAPJACK_EGRESS_ALLOWLIST,
      secrets,
      agent: agentWorkerOptions(env, log),
      tuning: { maxCachedWorkflows: env.FLAPJACK_WORKER_MAX_CACHED_WORKFLOWS },
    }));
  }
  const stopStats = worker ? startWorkerStats(worker, log, env.FLAPJACK_WORKER_STATS_INTERVAL_MS) : undefined;

  // Runs recorded but never started (a process died in between) are started by whoever runs workers.
  const reconciler = work
    ? setInterval(() => {
        reconcilePendingRuns(services).catch((err: unknown) => log.warn({ err }, 'reconcile pass failed'));
      }, env.FLAPJACK_RECONCILE_INTERVAL_MS)
    : undefined;
  // Trigger schedules vs trigger rows, repaired both ways: at worker start, then every 5 minutes.
  const reconcileSchedules = () =>
    reconcileTriggerSchedules(services)
      .then((r) => {
        if (r.created || r.updated || r.deleted) log.info(r, 'trigger schedules reconciled');
      })
      .catch((err: unknown) => log.warn({ err }, 'trigger schedule reconcile failed'));
  if (work) void reconcileSchedules();
  const scheduleReconciler = work ? setInterval(() => void reconcileSchedules(), 5 * 60_000) : undefined;

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log.info(`shutting down ${[...roles].join(' and ')}`);
    if (reconciler) clearInterval(reconciler);
    if (scheduleReconciler) clearInterval(scheduleReconciler);
    stopStats?.();
    // Activities get the worker's shutdown grace time; never hang past it.
    setTimeout(() => {
      log.warn('did not stop in time; exiting');
      process.exit(1);
    }, 30_000).unref();
    const s = server;
    const apiClosed = s
      ? new Promise<void>((r) => {
          s.close(() => r());
          s.closeIdleConnections();
        })
      : Promise.resolve();
    void apiClosed.then(() => {
      // The SDK's worker also stops itself on SIGINT/SIGTERM (Runtime shutdownSignals).
      if (worker?.getState() === 'RUNNING') worker.shutdown();
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (worker) {
    log.info(
      { taskQueue: temporal.taskQueue, namespace: temporal.namespace, address: temporal.address, eagerStart: api },
      'worker started',
    );
    await worker.run();
  } else {
    const s = server;
    await new Promise<void>((r) => s?.once('close', () => r()));
  }
  await Promise.allSettled(closers.map((c) => c()));
  await db.$disconnect();
  process.exit(0);
}
