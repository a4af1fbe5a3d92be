import path from 'node:path';
import {
  DefaultLogger,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions,
} from '@temporalio/worker';
import { Client } from '@temporalio/client';
import { createActivities, type ActivityDeps } from '../../activities';
import type { PrismaClient } from '../db/client';
import { createRunCancelWatch } from '../db/run-cancel';
import { createRunWrites } from '../../activities/run-writes';
import type { SecretBox } from '../crypto/secret-box';
import type { TemporalSettings } from '../temporal/connection';

export interface RunWorkerOptions {
  db: PrismaClient;
  temporal: TemporalSettings;
  egressAllowlist: string[];
  connection?: NativeConnection;
  /** Pre-built workflow bundle (tests and benches bundle once); default: bundle from workflows/. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  tuning?: Partial<
    Pick<
      WorkerOptions,
      | 'maxConcurrentWorkflowTaskExecutions'
      | 'maxConcurrentActivityTaskExecutions'
      | 'maxConcurrentLocalActivityExecutions'
      | 'maxCachedWorkflows'
    >
  >;
  webhookTimeoutMs?: number;
  secrets?: SecretBox;
  /** Where runs recorded by trigger workflows start (default: the queue this worker polls). */
  runTaskQueue?: string;
  /** Crash-safety tests of poll triggers (see activities/triggers.ts). */
  triggerFaults?: ActivityDeps['triggerFaults'];
  /** Agent steps: LLM providers, price overrides, limits (see ActivityDeps). */
  agent?: Pick<ActivityDeps, 'llm' | 'priceOverrides' | 'agentLimits' | 'embedder' | 'webSearch' | 'log'>;
}

export const WORKFLOWS_PATH = path.join(__dirname, '..', '..', 'workflows', 'index.ts');

/** The worker that runs runs: workflows from workflows/, activities from createActivities(deps). */
export async function createRunWorker(
  opts: RunWorkerOptions,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection =
    opts.connection ??
    (await NativeConnection.connect({
      address: opts.temporal.address,
      tls: opts.temporal.tls,
      apiKey: opts.temporal.apiKey,
    }));
  const cancelWatch = createRunCancelWatch(opts.db);
  const runWrites = createRunWrites();
  const closers: (() => Promise<void>)[] = [];
  const worker = await Worker.create({
    connection,
    namespace: opts.temporal.namespace,
    taskQueue: opts.temporal.taskQueue,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({
      db: opts.db,
      egressAllowlist: opts.egressAllowlist,
      webhookTimeoutMs: opts.webhookTimeoutMs,
      secrets: opts.secrets,
      ...opts.agent,
      // Trigger workflows record runs and start them through the worker's own connection.
      client: new Client({ connection, namespace: opts.temporal.namespace }),
      runTaskQueue: opts.runTaskQueue ?? opts.temporal.taskQueue,
      namespace: opts.temporal.namespace,
      triggerFaults: opts.triggerFaults,
      cancelWatch,
      runWrites,
      onClose: (close) => closers.push(close),
    }),
    // A run of short steps holds its workflow-task slot while its local activities run (one task per
    // run), and an eager start needs a free slot or falls back to the queue: room for 400 runs at once.
    maxConcurrentWorkflowTaskExecutions: 400,
    maxConcurrentLocalActivityExecutions: 400,
    maxConcurrentActivityTaskExecutions: 200,
    maxCachedWorkflows: 1000,
    // Heartbeats carry cancellation to a running webhook: flush them at least every second so a
    // cancel aborts the HTTP request within ~1 s instead of 80% of the heartbeat timeout.
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
    ...opts.tuning,
  });
  // The watch's listening connection lives as long as the worker runs; the writes its activities left in
  // flight (a deferred ledger row) land before the worker's run ends, and the MCP connections its agent
  // steps kept open are closed (a stdio server would otherwise outlive the worker by up to a minute).
  const run = worker.run.bind(worker);
  worker.run = () =>
    run().finally(async () => {
      await runWrites.drain();
      await cancelWatch.close();
      await Promise.all(closers.map((close) => close().catch(() => undefined)));
    });
  return { worker, connection };
}

/**
 * Routes the Temporal SDK's own logs (worker state, activity failures) through our logger at `level`
 * and above. Must run before the first NativeConnection or Worker is created; later calls are no-ops.
 */
export function installTemporalRuntime(
  log: { warn(o: object, m: string): void; error(o: object, m: string): void; info(o: object, m: string): void },
  level: 'INFO' | 'WARN' | 'ERROR' = 'WARN',
): void {
  try {
    Runtime.install({
      logger: new DefaultLogger(level, (entry) => {
        const meta = { ...(entry.meta ?? {}), sdk: true };
        if (entry.level === 'ERROR') log.error(meta, entry.message);
        else if (entry.level === 'WARN') log.warn(meta, entry.message);
        else log.info(meta, entry.message);
      }),
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: level === 'ERROR' ? 'ERROR' : 'WARN' }), forward: {} },
      },
    });
  } catch {
    // already installed
  }
}
