import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createRunWorker, installTemporalRuntime } from '../src/bin/worker-runtime';
import { createLogger } from '../src/config/logger';
import { findFreePort } from '../src/dev/process';
import { REPO_ROOT } from '../src/dev/temporal-server';
import { createApiKey } from '../src/services/api-keys';
import { createRun } from '../src/services/runs';
import { createPersistenceActivities, mustWriteFirst, RunNotRecordedError } from '../activities/persistence';
import { forgetRunRecord, trackRunRecord } from '../src/db/run-records';
import type { PersistBatch } from '../src/shared/run-types';
import { createSecretBox } from '../src/crypto/secret-box';
import { LOCAL_STEP_BOUND_MS } from '../src/shared/step-placement';
import type { RunWorkflow } from '../src/shared/workflow-defs';
import { json, startWebhookServer } from './fixtures/webhook-server';
import { useTestContext, waitFor } from './harness';
import { recordHistory } from './record-history';

/**
 * The run's shape in Temporal (docs/run-shape.md): short steps are local activities inside one
 * workflow task, a webhook slower than the local bound continues as a regular activity, and a process
 * running both roles starts runs eagerly on its worker's connection.
 */
const ctx = useTestContext();
let hooks: Awaited<ReturnType<typeof startWebhookServer>>;
beforeAll(async () => {
  hooks = await startWebhookServer({
    '/items': (_req, res) => json(res, 200, { items: [1, 2, 3] }),
    '/slow-last': (_req, res) => {
      setTimeout(() => json(res, 200, { done: true }), 1_500).unref();
    },
    '/beyond-bound': (_req, res) => {
      setTimeout(() => json(res, 200, { items: [4, 5] }), LOCAL_STEP_BOUND_MS + 1_000).unref();
    },
  });
});
afterAll(() => hooks.close());

const pipeline = (hookPath: string) => [
  { name: 'fetch', kind: 'webhook', orderIndex: 0, webhookUrl: hooks.url(hookPath) },
  { name: 'gate', kind: 'condition', orderIndex: 1, conditionExpr: '$.steps.fetch.output.items.length' },
  {
    name: 'sum',
    kind: 'computer',
    orderIndex: 2,
    inputMapping: { items: '$.steps.fetch.output.items' },
    computer: { runtime: 'javascript', code: 'return { total: input.items.reduce((a, b) => a + b, 0) };' },
  },
];

async function makeRunner(steps: Record<string, unknown>[]): Promise<string> {
  const r = await ctx.api.post('/api/runners', { name: `shape-${randomUUID()}` });
  expect(r.status).toBe(201);
  for (const s of steps) expect((await ctx.api.post(`/api/runners/${r.body.id}/steps`, s)).status).toBe(201);
  return r.body.id as string;
}

async function runToEnd(runnerId: string) {
  const c = await ctx.api.post(`/api/runners/${runnerId}/runs`, { input: {} });
  expect(c.status).toBe(201);
  await ctx.client.workflow.getHandle<RunWorkflow>(c.body.id).result();
  return (await ctx.api.get(`/api/runners/${runnerId}/runs/${c.body.id}`)).body;
}

/** How many events of each kind a run's history holds, by attribute name (e.g. `markerRecorded`). */
async function eventCounts(workflowId: string): Promise<Record<string, number>> {
  const history = await ctx.client.workflow.getHandle(workflowId).fetchHistory();
  const counts: Record<string, number> = {};
  for (const e of history.events ?? []) {
    for (const [k, v] of Object.entries(e)) {
      if (!k.endsWith('EventAttributes') || !v) continue;
      const kind = k.slice(0, -'EventAttributes'.length);
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
  }
  return counts;
}
const WORKFLOW_TASK_STARTED = 'workflowTaskStarted';
const ACTIVITY_TASK_SCHEDULED = 'activityTaskScheduled';
const MARKER_RECORDED = 'markerRecorded';

describe('a run of short steps', () => {
  it('is one workflow task: the webhook and the computer step run as local activities, the condition inline', async () => {
    const runnerId = await makeRunner(pipeline('/items'));
    const run = await runToEnd(runnerId);
    expect({ status: run.status, error: run.error }).toEqual({ status: 'completed', error: null });
    expect(run.output).toEqual({ total: 6 });
    expect(run.steps.map((s: { status: string }) => s.status)).toEqual(['completed', 'completed', 'completed']);
    const counts = await eventCounts(run.id);
    expect(counts[WORKFLOW_TASK_STARTED]).toBe(1);
    expect(counts[ACTIVITY_TASK_SCHEDULED] ?? 0).toBe(0);
    expect(counts[MARKER_RECORDED]).toBeGreaterThanOrEqual(2);
    await recordHistory(run.id, 'local-short-steps');
  }, 60_000);
});

describe("the run's writes", () => {
  /** Rows written by one transaction share its id (`xmin`): the run row and its step rows, as last written. */
  const lastWrites = (runId: string) =>
    ctx.systemDb.$queryRaw<{ tx: string; index: number | null; started: Date | null; completed: Date | null }[]>`
      SELECT xmin::text AS tx, NULL::int AS index, started_at AS started, completed_at AS completed
        FROM runner_runs WHERE id = ${runId}::uuid
      UNION ALL
      SELECT xmin::text, order_index, started_at, completed_at FROM runner_run_steps WHERE run_id = ${runId}::uuid
      ORDER BY index NULLS FIRST`;

  it("records a fast last step's start with its end and the run's, in one transaction", async () => {
    const runnerId = await makeRunner(pipeline('/items'));
    const run = await runToEnd(runnerId);
    expect(run.status).toBe('completed');
    const rows = await lastWrites(run.id);
    expect(rows).toHaveLength(4);
    // The webhook's and the condition's ends, the computer step's start and end, the run's end: one transaction.
    expect(new Set(rows.map((r) => r.tx)).size).toBe(1);
    for (const r of rows) {
      expect(r.started).not.toBeNull();
      expect(r.completed).not.toBeNull();
      expect((r.started as Date).getTime()).toBeLessThanOrEqual((r.completed as Date).getTime());
    }
    const sum = run.steps.find((s: { name: string }) => s.name === 'sum');
    expect(sum).toMatchObject({ status: 'completed', output: { total: 6 } });
  }, 60_000);

  it('records a slow last step as running while it runs', async () => {
    const runnerId = await makeRunner([
      { name: 'first', kind: 'computer', orderIndex: 0, computer: { runtime: 'javascript', code: 'return { a: 1 };' } },
      { name: 'slow', kind: 'webhook', orderIndex: 1, webhookUrl: hooks.url('/slow-last') },
    ]);
    const c = await ctx.api.post(`/api/runners/${runnerId}/runs`, { input: {} });
    expect(c.status).toBe(201);
    const seen = await waitFor(
      async () => {
        const r = (await ctx.api.get(`/api/runners/${runnerId}/runs/${c.body.id}`)).body;
        return r.steps.find((s: { name: string }) => s.name === 'slow') as { status: string; startedAt: string | null };
      },
      (slow) => slow.status !== 'pending',
      5_000,
      20,
    );
    // Seen before the webhook answers (1.5 s): the start was written while the step ran, not with its end.
    expect(seen.status).toBe('running');
    expect(seen.startedAt).not.toBeNull();
    await ctx.client.workflow.getHandle<RunWorkflow>(c.body.id).result();
    const done = (await ctx.api.get(`/api/runners/${runnerId}/runs/${c.body.id}`)).body;
    expect(done.status).toBe('completed');
    expect(done.steps.find((s: { name: string }) => s.name === 'slow')).toMatchObject({
      status: 'completed',
      output: { done: true },
    });
  }, 60_000);
});

describe('a webhook slower than the local bound', () => {
  it('is continued as a regular activity (same Idempotency-Key) and the run completes', async () => {
    const runnerId = await makeRunner(pipeline('/beyond-bound'));
    const run = await runToEnd(runnerId);
    expect({ status: run.status, error: run.error }).toEqual({ status: 'completed', error: null });
    expect(run.output).toEqual({ total: 9 });
    const counts = await eventCounts(run.id);
    expect(counts[ACTIVITY_TASK_SCHEDULED]).toBe(1);
    const deliveries = hooks.requests.filter((r) => r.headers['idempotency-key'] === `${run.id}:fetch`);
    expect(deliveries).toHaveLength(2);
    await recordHistory(run.id, 'webhook-beyond-local-bound');
  }, 90_000);
});

describe('API and worker in one process', () => {
  let connection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `eager-${randomUUID()}`;

  beforeAll(async () => {
    installTemporalRuntime(createLogger('error', 'test-eager-worker'), 'ERROR');
    connection = await NativeConnection.connect({ address: ctx.env.temporalAddress });
    ({ worker } = await createRunWorker({
      db: ctx.db,
      connection,
      temporal: { address: ctx.env.temporalAddress, namespace: ctx.env.namespace, taskQueue },
      egressAllowlist: ['127.0.0.1'],
      secrets: createSecretBox(ctx.env.secretKey),
    }));
    running = worker.run();
  }, 120_000);

  afterAll(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    await connection?.close();
  }, 60_000);

  it('starts a run eagerly on the worker’s connection, and the run completes', async () => {
    const runnerId = await makeRunner(pipeline('/items'));
    const client = new Client({ connection, namespace: ctx.env.namespace });
    const deps = { ...ctx.services, temporal: { client, taskQueue, namespace: ctx.env.namespace, eagerStart: true } };
    const { created, eagerlyStarted, run } = await createRun(deps, ctx.orgA, runnerId, { input: {} });
    expect(created).toBe(true);
    expect(eagerlyStarted).toBe(true);
    const handle = client.workflow.getHandle<RunWorkflow>(run.id);
    const result = await handle.result();
    expect(result).toEqual({ status: 'completed', output: { total: 6 }, error: null });
    // The record was written beside the start (docs/run-shape.md), and the run's writes all found it.
    const started = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
    const input = JSON.parse(Buffer.from(started?.input?.payloads?.[0]?.data ?? []).toString()) as {
      recordedAfterStart?: boolean;
    };
    expect(input.recordedAfterStart).toBe(true);
    const row = (await ctx.api.get(`/api/runners/${runnerId}/runs/${run.id}`)).body;
    expect(row).toMatchObject({ status: 'completed', output: { total: 6 } });
    expect(row.steps.map((st: { status: string }) => st.status)).toEqual(['completed', 'completed', 'completed']);
    expect(new Date(row.startedAt).getTime()).toBeLessThanOrEqual(new Date(row.completedAt).getTime());
  }, 60_000);

  it('terminates the workflow of a run whose record fails beside its start, before its first step runs', async () => {
    const runnerId = await makeRunner(pipeline('/items'));
    const client = new Client({ connection, namespace: ctx.env.namespace });
    const deps = { ...ctx.services, temporal: { client, taskQueue, namespace: ctx.env.namespace, eagerStart: true } };
    // The database refuses this runner's runs (a trigger of this test, for this runner only; DDL needs the
    // login role, not the app role the pool sets).
    const fn = `refuse_runs_${runnerId.replace(/-/g, '')}`;
    const admin = new pg.Client({ connectionString: ctx.env.databaseUrl });
    await admin.connect();
    const before = hooks.requests.length;
    try {
      await admin.query(
        `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
           IF NEW.runner_id = '${runnerId}' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`,
      );
      await admin.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON runner_runs FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
      await expect(createRun(deps, ctx.orgA, runnerId, { input: {} })).rejects.toThrow(/refused by the test/);
    } finally {
      await admin.query(`DROP TRIGGER IF EXISTS ${fn} ON runner_runs`);
      await admin.query(`DROP FUNCTION IF EXISTS ${fn}()`);
      await admin.end();
    }
    // Its workflow started, and is terminated; the webhook was never called; nothing is recorded.
    const found = await waitFor(
      async () => {
        const out = [];
        for await (const w of client.workflow.list({ query: `RunnerId = "${runnerId}"` })) out.push(w);
        return out;
      },
      (ws) => ws.length === 1 && ws[0]?.status.name === 'TERMINATED',
      30_000,
      200,
    );
    expect(found[0]?.status.name).toBe('TERMINATED');
    await new Promise((r) => setTimeout(r, 1_500)); // a first step that ran anyway would have called by now
    expect(
      hooks.requests.slice(before).filter((q) => q.headers['idempotency-key'] === `${found[0]?.workflowId}:fetch`),
    ).toEqual([]);
    expect((await ctx.api.get(`/api/runners/${runnerId}/runs`)).body.data).toEqual([]);
  }, 90_000);
});

describe('the first write of a run recorded beside its start (src/db/run-records.ts)', () => {
  const firstBatch = (runId: string): PersistBatch => ({
    runId,
    orgId: ctx.orgA,
    ops: [{ op: 'runStarted', recordedAfterStart: true }],
    context: { input: {}, steps: {} },
    currentStep: null,
    onlyIfActive: true,
  });

  it('waits for the record this process writes, and refuses a run whose record failed', async () => {
    const persist = createPersistenceActivities({ db: ctx.db });
    const runnerId = await makeRunner(pipeline('/items'));
    const { run } = await createRun(ctx.services, ctx.orgA, runnerId, { input: {} }, undefined, {
      startWorkflow: false,
    });
    // Being written here: awaited, so the step runs beside its writes.
    let commit!: (ok: boolean) => void;
    trackRunRecord(run.id, new Promise<boolean>((r) => (commit = r)));
    const gate = mustWriteFirst(firstBatch(run.id));
    commit(true);
    expect(await gate).toBe(false);
    await persist.persistRun(firstBatch(run.id));
    expect((await ctx.api.get(`/api/runners/${runnerId}/runs/${run.id}`)).body.status).toBe('running');
    // Written by another process (no entry here): the writes go first.
    expect(await mustWriteFirst(firstBatch(run.id))).toBe(true);
    // A record that failed: neither the step nor its writes go on.
    const lost = randomUUID();
    trackRunRecord(lost, Promise.resolve(false));
    await expect(mustWriteFirst(firstBatch(lost))).rejects.toThrow(RunNotRecordedError);
    await expect(persist.persistRun(firstBatch(lost))).rejects.toThrow(/could not be recorded/);
    forgetRunRecord(lost);
  }, 60_000);

  it('fails, writing nothing, while the record is not there', async () => {
    const persist = createPersistenceActivities({ db: ctx.db });
    await expect(persist.persistRun(firstBatch(randomUUID()))).rejects.toThrow(/is not recorded yet/);
    // Every other batch is as before: a write that matches no run changes nothing and is no error.
    await expect(persist.persistRun({ ...firstBatch(randomUUID()), ops: [{ op: 'runStarted' }] })).resolves.toBe(
      undefined,
    );
  }, 30_000);
});

describe('the process entry points (FLAPJACK_ROLES)', () => {
  const children: ChildProcess[] = [];
  afterAll(async () => {
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }),
    );
  }, 60_000);

  const start = (script: string, env: Record<string, string>) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, script)], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: ctx.env.databaseUrl,
        TEMPORAL_ADDRESS: ctx.env.temporalAddress,
        TEMPORAL_NAMESPACE: ctx.env.namespace,
        FLAPJACK_EGRESS_ALLOWLIST: '127.0.0.1',
        FLAPJACK_SECRET_KEY: ctx.env.secretKey,
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: 'ignore',
    });
    children.push(child);
    return child;
  };

  const runThrough = async (base: string) => {
    await waitFor(
      () =>
        fetch(`${base}/healthz`).then(
          (r) => r.status,
          () => 0,
        ),
      (s) => s === 200,
      90_000,
      250,
    );
    const { key } = await createApiKey(ctx.db, `roles-${randomUUID()}`);
    const call = async (method: string, p: string, body?: unknown) => {
      const r = await fetch(base + p, {
        method,
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> & { id: string } };
    };
    const runner = await call('POST', '/api/runners', { name: 'roles' });
    for (const s of pipeline('/items'))
      expect((await call('POST', `/api/runners/${runner.body.id}/steps`, s)).status).toBe(201);
    const c = await call('POST', `/api/runners/${runner.body.id}/runs`, { input: {} });
    expect(c.status).toBe(201);
    const done = await waitFor(
      () => call('GET', `/api/runners/${runner.body.id}/runs/${c.body.id}`),
      (r) => r.body.status === 'completed' || r.body.status === 'failed',
      60_000,
      100,
    );
    expect(done.body.output).toEqual({ total: 6 });
  };

  it('runs the API and the worker in one process (the default)', async () => {
    const port = await findFreePort();
    start('src/bin/server.ts', { PORT: String(port), TEMPORAL_TASK_QUEUE: `roles-both-${randomUUID()}` });
    await runThrough(`http://127.0.0.1:${port}`);
  }, 180_000);

  it('runs them split: npm run api and npm run worker on one task queue', async () => {
    const port = await findFreePort();
    const queue = `roles-split-${randomUUID()}`;
    start('src/bin/api.ts', { PORT: String(port), TEMPORAL_TASK_QUEUE: queue });
    start('src/bin/worker.ts', { PORT: String(port), TEMPORAL_TASK_QUEUE: queue });
    await runThrough(`http://127.0.0.1:${port}`);
  }, 180_000);
});
