import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bundleWorkflowCode, type NativeConnection, type Worker } from '@temporalio/worker';
import { createRunWorker, installTemporalRuntime, WORKFLOWS_PATH } from '../src/bin/worker-runtime';
import { createLogger } from '../src/config/logger';
import { createTrigger } from '../src/services/triggers';
import { startHttpTestServer, TEST_EVENTS, type HttpTestServer } from './fixtures/mcp-test-server';
import { useTestContext, waitFor } from './harness';

/**
 * A poll trigger against a real MCP server (test/fixtures/mcp-test-server.ts, tool `list_events`):
 * three polls, each picking up only the new items, with the worker killed (SIGKILL, its own process)
 * between recording a poll's runs and moving the cursor.
 */
const ctx = useTestContext();
const POLL_QUEUE = `flapjack-test-poll-${randomUUID().slice(0, 8)}`;
const REPO = path.resolve(__dirname, '..');

let mcp: HttpTestServer;
let bundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
const workers: { worker: Worker; running: Promise<void>; connection: NativeConnection }[] = [];
const children: ChildProcess[] = [];

async function startInProcessWorker() {
  const { worker, connection } = await createRunWorker({
    db: ctx.db,
    temporal: { address: ctx.env.temporalAddress, namespace: ctx.env.namespace, taskQueue: POLL_QUEUE },
    runTaskQueue: ctx.env.taskQueue,
    egressAllowlist: ['127.0.0.1'],
    secrets: ctx.services.secrets,
    workflowBundle: bundle,
  });
  const w = { worker, running: worker.run(), connection };
  workers.push(w);
  return w;
}

async function stopWorker(w: { worker: Worker; running: Promise<void>; connection: NativeConnection }) {
  if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
  await w.running.catch(() => undefined);
  // The worker's own connection (createRunWorker opened it): left open, it kept jest from exiting.
  await w.connection.close().catch(() => undefined);
}

/** The same worker in a child process that SIGKILLs itself right before a poll moves its cursor. */
function startKillingWorker(): Promise<{ child: ChildProcess; killedAt: Promise<string> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/fixtures/trigger-worker.ts')], {
    cwd: REPO,
    env: {
      ...process.env,
      DATABASE_URL: ctx.env.databaseUrl,
      TEMPORAL_ADDRESS: ctx.env.temporalAddress,
      TEMPORAL_NAMESPACE: ctx.env.namespace,
      TASK_QUEUE: POLL_QUEUE,
      RUN_TASK_QUEUE: ctx.env.taskQueue,
      FLAPJACK_SECRET_KEY: ctx.env.secretKey,
      KILL_BEFORE_CURSOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    let killedLine: (v: string) => void = () => undefined;
    const killedAt = new Promise<string>((r) => (killedLine = r));
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('ready\n')) resolve({ child, killedAt });
      const m = /killing-before-cursor (\S+)/.exec(out);
      if (m?.[1]) killedLine(m[1]);
    });
    child.once('exit', (code, signal) => {
      if (!out.includes('ready\n')) reject(new Error(`worker exited early (${code ?? signal}): ${err.slice(-2000)}`));
    });
  });
}

beforeAll(async () => {
  installTemporalRuntime(createLogger(process.env.TEST_LOG_LEVEL ?? 'error', 'poll-test-worker'), 'ERROR');
  mcp = await startHttpTestServer();
  bundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} },
  });
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const w of workers) await stopWorker(w);
  await mcp?.close();
});

describe('poll triggers', () => {
  it('three polls pick up only new items; a worker killed between recording runs and moving the cursor loses and duplicates nothing', async () => {
    const server = await ctx.api.post('/api/mcp-servers', {
      slug: `events-${randomUUID().slice(0, 8)}`,
      transport: 'http',
      url: mcp.url,
    });
    expect(server.status).toBe(201);
    const runner = await ctx.api.post('/api/runners', { name: `poll-${randomUUID().slice(0, 8)}` });
    const runnerId = runner.body.id as string;
    await ctx.api.post(`/api/runners/${runnerId}/steps`, {
      name: 'echo',
      kind: 'computer',
      orderIndex: 0,
      computer: { runtime: 'javascript', code: 'return {order: input.payload.orderId};' },
    });
    const pollConfig = {
      provider: 'test-events',
      mcpServerId: server.body.id,
      template: 'generic' as const,
      params: {
        toolName: 'list_events',
        arguments: { limit: 3 },
        cursorArgument: 'after',
        itemsPath: '$.items',
        itemIdPath: '$.id',
        itemCursorPath: '$.id',
      },
      intervalMinutes: 60,
    };
    // Through the service so that this trigger's schedule targets the queue this test's workers poll.
    const trig = await createTrigger(
      { ...ctx.services, temporal: { ...ctx.services.temporal, taskQueue: POLL_QUEUE } },
      ctx.orgA,
      runnerId,
      { kind: 'poll', pollConfig },
    );
    const triggerId = trig.id;
    const handle = ctx.client.schedule.getHandle(`trigger-${triggerId}`);
    const getTrigger = async () => (await ctx.api.get(`/api/runners/${runnerId}/triggers/${triggerId}`)).body;
    const pollRuns = async () =>
      (await ctx.systemDb.runnerRun.findMany({ where: { runnerId, triggerId }, orderBy: { createdAt: 'asc' } })).map(
        (r) => ({
          key: r.idempotencyKey,
          kind: r.triggerKind,
          input: r.input,
        }),
      );
    expect((await getTrigger()).pollCursor).toBeNull();

    // Poll 1: an ordinary worker.
    const w1 = await startInProcessWorker();
    await handle.trigger();
    await waitFor(getTrigger, (t) => t.pollCursor === '0003', 30_000);
    expect((await pollRuns()).map((r) => r.key)).toEqual(
      ['0001', '0002', '0003'].map((id) => `poll:${triggerId}:${id}`),
    );
    await stopWorker(w1);

    // Poll 2: the worker dies after recording the runs of 0004–0006, before the cursor moves.
    const killer = await startKillingWorker();
    await handle.trigger();
    expect(await killer.killedAt).toBe(triggerId);
    await waitFor(
      async () => killer.child.signalCode,
      (s) => s === 'SIGKILL',
      10_000,
    );
    expect((await getTrigger()).pollCursor).toBe('0003');
    expect(await pollRuns()).toHaveLength(6);

    // Another worker takes over: the cursor moves, no item is recorded twice.
    await startInProcessWorker();
    await waitFor(getTrigger, (t) => t.pollCursor === '0006', 60_000, 250);
    expect(await pollRuns()).toHaveLength(6);

    // Poll 3: only the new items 0007–0009.
    await handle.trigger();
    await waitFor(getTrigger, (t) => t.pollCursor === '0009', 30_000);
    const all = await pollRuns();
    expect(all.map((r) => r.key)).toEqual(TEST_EVENTS.slice(0, 9).map((e) => `poll:${triggerId}:${e.id}`));
    expect(all.every((r) => r.kind === 'poll')).toBe(true);
    expect(all.map((r) => r.input)).toEqual(TEST_EVENTS.slice(0, 9));

    // Every run ran to completion on the run queue.
    const done = await waitFor(
      async () => ctx.systemDb.runnerRun.findMany({ where: { runnerId, triggerId } }),
      (rows) => rows.every((r) => r.status === 'completed'),
      30_000,
    );
    expect(done.map((r) => (r.output as { order: string }).order).sort()).toEqual(
      TEST_EVENTS.slice(0, 9)
        .map((e) => e.payload.orderId)
        .sort(),
    );

    // The cursor is resettable: polling from scratch again starts nothing new (item ids are the keys).
    const reset = await ctx.api.patch(`/api/runners/${runnerId}/triggers/${triggerId}`, { pollCursor: null });
    expect(reset.status).toBe(200);
    expect(reset.body.pollCursor).toBeNull();
    await handle.trigger();
    await waitFor(getTrigger, (t) => t.pollCursor === '0003', 30_000);
    expect(await pollRuns()).toHaveLength(9);

    expect((await ctx.api.delete(`/api/runners/${runnerId}/triggers/${triggerId}`)).status).toBe(204);
  }, 180_000);
});
