/**
 * The baseline side of `bench/engine.ts`, in a process of its own so its CPU can be measured apart:
 * a worker for `baselinePipeline` and a Client on the worker's NativeConnection that starts each run
 * eagerly and waits for its result, which is the fastest way Temporal runs this pipeline.
 *
 * Driven over IPC by the bench: `{ kind: 'run', total, concurrency }` → `{ kind: 'done', latencies,
 * elapsedMs }`; `{ kind: 'stop' }` shuts down (and writes a --cpu-prof profile if asked for).
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { BaselineActivities, baselinePipeline } from './baseline-workflow';
import { runClosedLoop, type BenchMessage, type BenchReply } from './load';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS ?? '';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = process.env.BENCH_TASK_QUEUE ?? `bench-baseline-${randomUUID()}`;
  const hookUrl = process.env.BENCH_HOOK_URL ?? '';
  Runtime.install({ logger: new DefaultLogger('ERROR') });

  const connection = await NativeConnection.connect({ address });
  const activities: BaselineActivities = {
    async postJson(url, body) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return (await res.json()) as { items: number[] };
    },
    sum: async (items) => items.reduce((a, b) => a + b, 0),
  };
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowsPath: require.resolve('./baseline-workflow'),
    activities,
    // The same slots as the engine's worker (src/bin/worker-runtime.ts).
    maxConcurrentWorkflowTaskExecutions: 400,
    maxConcurrentLocalActivityExecutions: 400,
    maxConcurrentActivityTaskExecutions: 200,
    maxCachedWorkflows: 1000,
  });
  const running = worker.run();
  const client = new Client({ connection, namespace });

  const one = async (): Promise<void> => {
    const handle = await client.workflow.start<typeof baselinePipeline>('baselinePipeline', {
      taskQueue,
      workflowId: randomUUID(),
      args: [hookUrl, { n: 1 }],
      requestEagerStart: true,
    });
    const result = await handle.result();
    if (result?.total !== 6) throw new Error(`baseline run returned ${JSON.stringify(result)}`);
  };

  const reply = (m: BenchReply) => process.send?.(m);
  process.on('message', (m: BenchMessage) => {
    if (m.kind === 'stop') {
      worker.shutdown();
      void running.then(async () => {
        await connection.close();
        process.exit(0);
      });
      return;
    }
    runClosedLoop(m.total, m.concurrency, one).then(
      (r) => reply({ kind: 'done', ...r }),
      (e: unknown) => reply({ kind: 'error', message: (e as Error).message }),
    );
  });
  reply({ kind: 'ready' });
  await running;
}

main().catch((e: unknown) => {
  process.stderr.write(`baseline process failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
