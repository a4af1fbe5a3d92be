import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApp } from '../api/app';
import { createKeyResolver } from '../src/services/api-keys';
import { reconcilePendingRuns } from '../src/services/runs';
import { json, startWebhookServer } from './fixtures/webhook-server';
import { request, useTestContext, waitFor } from './harness';

const ctx = useTestContext();
let hooks: Awaited<ReturnType<typeof startWebhookServer>>;
beforeAll(async () => {
  hooks = await startWebhookServer({
    '/ok': (req, res) => json(res, 200, { echoed: req.body }),
    '/slow': (_req, res) => {
      setTimeout(() => json(res, 200, { slow: true }), 2_500).unref();
    },
  });
});
afterAll(() => hooks.close());

async function runner(steps: Record<string, unknown>[]) {
  const r = await ctx.api.post('/api/runners', { name: `durable-${Math.random()}` });
  for (const s of steps) expect((await ctx.api.post(`/api/runners/${r.body.id}/steps`, s)).status).toBe(201);
  return r.body.id as string;
}
const getRun = async (runnerId: string, runId: string) =>
  (await ctx.api.get(`/api/runners/${runnerId}/runs/${runId}`)).body;

describe('no run is lost', () => {
  it('starts a run later when the API died after recording it and before starting its workflow', async () => {
    const runnerId = await runner([{ name: 'hook', kind: 'webhook', orderIndex: 0, webhookUrl: hooks.url('/ok') }]);
    let crashedRunId = '';
    const crashing = createApp({
      services: {
        ...ctx.services,
        faults: {
          afterRunRecorded: (id) => {
            crashedRunId = id;
            throw new Error('simulated crash between insert and workflow start');
          },
        },
      },
      resolveApiKey: createKeyResolver(ctx.db),
    });
    const r = await request(crashing)
      .post(`/api/runners/${runnerId}/runs`)
      .set('Authorization', `Bearer ${ctx.keyA}`)
      .send({ input: { n: 7 } });
    expect(r.status).toBe(500);
    expect(JSON.stringify(r.body)).not.toMatch(/simulated crash|\s+at /);
    expect(crashedRunId).not.toBe('');
    // The run is recorded but nothing runs it.
    const stranded = await getRun(runnerId, crashedRunId);
    expect(stranded.status).toBe('pending');
    await expect(ctx.client.workflow.getHandle(crashedRunId).describe()).rejects.toThrow();
    // The reconciler finds it and starts it; it then completes exactly once.
    const started = await reconcilePendingRuns(ctx.services, 0, 500, 32, { runnerId });
    expect(started).toBeGreaterThanOrEqual(1);
    // Generous: the shared test worker may be working through another file's 2,000-run bulk meanwhile.
    const done = await waitFor(
      () => getRun(runnerId, crashedRunId),
      (b) => b.status === 'completed',
      180_000,
    );
    expect(done.output).toEqual({ echoed: { n: 7 } });
    expect(hooks.requests.filter((q) => q.headers['idempotency-key'] === `${crashedRunId}:hook`)).toHaveLength(1);
    // A second pass has nothing left to do.
    expect(await reconcilePendingRuns(ctx.services, 0, 500, 32, { runnerId })).toBe(0);
  }, 240_000);

  it('answers 503 and records nothing when Temporal is unreachable', async () => {
    const runnerId = await runner([{ name: 'hook', kind: 'webhook', orderIndex: 0, webhookUrl: hooks.url('/ok') }]);
    const dead = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 1_000 });
    const app = createApp({
      services: { ...ctx.services, temporal: { ...ctx.services.temporal, client: new Client({ connection: dead }) } },
      resolveApiKey: createKeyResolver(ctx.db),
    });
    const r = await request(app)
      .post(`/api/runners/${runnerId}/runs`)
      .set('Authorization', `Bearer ${ctx.keyA}`)
      .send({ input: {}, idempotencyKey: 'k1' });
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('service_unavailable');
    expect(r.body.error.message).toMatch(/Temporal/);
    const list = await ctx.api.get(`/api/runners/${runnerId}/runs`);
    expect(list.body.data).toHaveLength(0);
    // The same idempotency key works once Temporal is back: nothing half-created blocks it.
    const ok = await ctx.api.post(`/api/runners/${runnerId}/runs`, { input: {}, idempotencyKey: 'k1' });
    expect(ok.status).toBe(201);
  }, 30_000);
});

describe('the Temporal Web UI tells the story without our database', () => {
  it('keeps RunnerId, OrgId and RunStatus current, with the runner name in the memo, and is filterable', async () => {
    const runnerId = await runner([
      {
        name: 'boom',
        kind: 'computer',
        orderIndex: 0,
        computer: { runtime: 'javascript', code: 'throw new Error("nope")' },
      },
    ]);
    const c = await ctx.api.post(`/api/runners/${runnerId}/runs`, { input: {} });
    await waitFor(
      () => getRun(runnerId, c.body.id),
      (b) => b.status === 'failed',
    );
    // The row is written by the last local activity; the search attribute rides on the workflow task
    // that completes right after it, so wait for the workflow to close.
    const d = await waitFor(
      () => ctx.client.workflow.getHandle(c.body.id).describe(),
      (x) => x.status.name !== 'RUNNING',
      10_000,
    );
    expect(d.typedSearchAttributes.get({ name: 'RunnerId', type: 'KEYWORD' } as never)).toBe(runnerId);
    expect(d.typedSearchAttributes.get({ name: 'OrgId', type: 'KEYWORD' } as never)).toBe(ctx.orgA);
    expect(d.typedSearchAttributes.get({ name: 'RunStatus', type: 'KEYWORD' } as never)).toBe('failed');
    expect(d.memo?.runnerName).toMatch(/^durable-/);
    const found = await waitFor(
      async () => {
        const ids: string[] = [];
        for await (const w of ctx.client.workflow.list({ query: `RunnerId = "${runnerId}" AND RunStatus = "failed"` }))
          ids.push(w.workflowId);
        return ids;
      },
      (ids) => ids.length === 1,
      10_000,
    );
    expect(found).toEqual([c.body.id]);
    const history = await ctx.client.workflow.getHandle(c.body.id).fetchHistory();
    const scheduled = (history.events ?? []).filter(
      (e) => e.markerRecordedEventAttributes || e.activityTaskScheduledEventAttributes,
    );
    expect(scheduled.length).toBeGreaterThan(0);
    const summaries = (history.events ?? [])
      .map((e) => e.userMetadata?.summary?.data)
      .filter((d): d is Uint8Array => !!d)
      .map((d) => Buffer.from(d).toString('utf8'));
    expect(summaries.some((s) => s.includes('boom (computer)'))).toBe(true);
  });
});

describe('a worker killed mid-run', () => {
  it('the run still completes exactly once on another worker', async () => {
    const taskQueue = `kill-test-${Date.now()}`;
    const env = {
      ...process.env,
      DATABASE_URL: ctx.env.databaseUrl,
      TEMPORAL_ADDRESS: ctx.env.temporalAddress,
      TEMPORAL_NAMESPACE: ctx.env.namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      FLAPJACK_EGRESS_ALLOWLIST: '127.0.0.1',
      FLAPJACK_SECRET_KEY: ctx.env.secretKey,
      LOG_LEVEL: 'warn',
    };
    const startWorker = (): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', path.join('src', 'bin', 'worker.ts')], { env, stdio: 'ignore' });
    const stopWorker = async (w: ChildProcess): Promise<void> => {
      if (w.exitCode !== null || w.signalCode !== null) return;
      const exited = new Promise((r) => w.once('exit', r));
      w.kill('SIGTERM');
      const t = setTimeout(() => w.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    };
    const w1 = startWorker();
    const killCtx = { ...ctx.services, temporal: { ...ctx.services.temporal, taskQueue } };
    const app = createApp({ services: killCtx, resolveApiKey: createKeyResolver(ctx.db) });
    const runnerId = await runner([
      { name: 'first', kind: 'computer', orderIndex: 0, computer: { runtime: 'javascript', code: 'return { a: 1 }' } },
      { name: 'slow', kind: 'webhook', orderIndex: 1, webhookUrl: hooks.url('/slow') },
      {
        name: 'last',
        kind: 'computer',
        orderIndex: 2,
        computer: { runtime: 'javascript', code: 'return { done: true }' },
      },
    ]);
    const c = await request(app)
      .post(`/api/runners/${runnerId}/runs`)
      .set('Authorization', `Bearer ${ctx.keyA}`)
      .send({ input: {} });
    expect(c.status).toBe(201);
    await waitFor(
      async () => hooks.requests.filter((q) => q.headers['idempotency-key'] === `${c.body.id}:slow`).length,
      (n) => n >= 1,
      60_000,
    );
    const w1Exited = new Promise((r) => w1.once('exit', r));
    w1.kill('SIGKILL');
    await w1Exited;
    const w2 = startWorker();
    try {
      const done = await waitFor(
        () => getRun(runnerId, c.body.id),
        (b) => b.status === 'completed',
        90_000,
        250,
      );
      expect(done.output).toEqual({ done: true });
      expect(done.steps.map((s: { status: string }) => s.status)).toEqual(['completed', 'completed', 'completed']);
      const rows = await ctx.systemDb.runnerRunStep.findMany({ where: { runId: c.body.id } });
      expect(rows).toHaveLength(3);
      const handle = ctx.client.workflow.getHandle(c.body.id);
      await waitFor(
        async () => (await handle.describe()).status.name,
        (s) => s === 'COMPLETED',
        10_000,
      );
      // The webhook may be delivered again after the crash; it carries the same Idempotency-Key.
      const deliveries = hooks.requests.filter((q) => q.headers['idempotency-key'] === `${c.body.id}:slow`);
      expect(deliveries.length).toBeGreaterThanOrEqual(1);
      expect(new Set(deliveries.map((q) => q.headers['idempotency-key'])).size).toBe(1);
    } finally {
      await stopWorker(w2);
      await stopWorker(w1);
    }
  }, 150_000);
});
