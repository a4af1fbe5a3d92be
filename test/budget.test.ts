import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApp } from '../api/app';
import { createKeyResolver } from '../src/services/api-keys';
import { priceOf, worstCaseCostOf } from '../src/shared/pricing';
import { startFakeOpenAI, type FakeLlmServer, type FakeReply } from './fixtures/fake-openai';
import { json, startWebhookServer } from './fixtures/webhook-server';
import { request, useTestContext, waitFor } from './harness';

/**
 * Budgets, end to end: the real API, Temporal and PostgreSQL, and a worker process of our own (so it can
 * be killed and restarted) whose OpenAI-compatible provider is a scripted local server. Model: gpt-5.4
 * ($2.5 per million prompt tokens, $15 per million output tokens); every scripted call reports its usage,
 * so each cost is known exactly here.
 */
const ctx = useTestContext();

const MODEL = 'gpt-5.4';
const PRICE = priceOf(MODEL);
/** A call reporting `k` thousand prompt tokens and 100 output tokens costs k × $0.0025 + $0.0015. */
const usage = (kPrompt: number) => ({ inputTokens: kPrompt * 1000, outputTokens: 100 });
const costOfK = (kPrompt: number) => Math.round((kPrompt * 0.0025 + 0.0015) * 1e8) / 1e8;
const toolCall = (kPrompt: number): FakeReply => ({
  toolCalls: [{ name: 'no_such_tool', arguments: {} }],
  usage: usage(kPrompt),
});
const answer = (kPrompt: number, text = 'done'): FakeReply => ({ text, usage: usage(kPrompt) });

let fake: FakeLlmServer;
let hooks: Awaited<ReturnType<typeof startWebhookServer>>;
let worker: ChildProcess;
const taskQueue = `budget-test-${Date.now()}`;
let api: ReturnType<typeof apiFor>;

function apiFor(key: string) {
  const app = createApp({
    services: { ...ctx.services, temporal: { ...ctx.services.temporal, taskQueue } },
    resolveApiKey: createKeyResolver(ctx.db),
  });
  return {
    get: (p: string) => request(app).get(p).set('Authorization', `Bearer ${key}`),
    post: (p: string, b?: unknown) =>
      request(app)
        .post(p)
        .set('Authorization', `Bearer ${key}`)
        .send(b as object),
    put: (p: string, b?: unknown) =>
      request(app)
        .put(p)
        .set('Authorization', `Bearer ${key}`)
        .send(b as object),
  };
}

function startWorker(): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join('src', 'bin', 'worker.ts')], {
    env: {
      ...process.env,
      DATABASE_URL: ctx.env.databaseUrl,
      TEMPORAL_ADDRESS: ctx.env.temporalAddress,
      TEMPORAL_NAMESPACE: ctx.env.namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      FLAPJACK_EGRESS_ALLOWLIST: '127.0.0.1',
      FLAPJACK_SECRET_KEY: ctx.env.secretKey,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: fake.url,
      LOG_LEVEL: 'warn',
    },
    stdio: 'ignore',
  });
}

/** Waits until a worker polls the file's task queue (a spawned worker takes a while to start on a busy machine). */
async function waitForWorker(): Promise<void> {
  await waitFor(
    async () => {
      const r = await ctx.client.workflowService.describeTaskQueue({
        namespace: ctx.env.namespace,
        taskQueue: { name: taskQueue, kind: 1 },
        taskQueueType: 1,
      });
      return r.pollers?.length ?? 0;
    },
    (n) => n > 0,
    180_000,
    500,
  );
}

async function stopWorker(w: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (w.exitCode !== null || w.signalCode !== null) return;
  const exited = new Promise((r) => w.once('exit', r));
  w.kill(signal);
  const t = setTimeout(() => w.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

beforeAll(async () => {
  fake = await startFakeOpenAI();
  hooks = await startWebhookServer({ '/budget-warning': (_req, res) => json(res, 200, { ok: true }) });
  worker = startWorker();
  api = apiFor(ctx.keyA);
  await waitForWorker();
}, 200_000);

afterAll(async () => {
  await stopWorker(worker);
  await fake.close();
  await hooks.close();
});

/** A runner of agent steps (inline, gpt-5.4), each with a unique token in its preamble to script it. */
async function runner(
  steps: { name: string; replies: FakeReply[] }[],
  budget: Record<string, unknown>,
): Promise<{ runnerId: string; tokens: string[] }> {
  const r = await api.post('/api/runners', { name: `budget-${randomUUID().slice(0, 8)}`, defaultModel: MODEL });
  expect(r.status).toBe(201);
  const tokens: string[] = [];
  for (const [i, s] of steps.entries()) {
    const token = `tok-${randomUUID()}`;
    tokens.push(token);
    fake.script(token, s.replies);
    const st = await api.post(`/api/runners/${r.body.id}/steps`, {
      name: s.name,
      kind: 'agent',
      orderIndex: i,
      preambleOverride: `You are a test agent. ${token}`,
    });
    expect(st.status).toBe(201);
  }
  const b = await api.put(`/api/runners/${r.body.id}/budget`, budget);
  expect(b.status).toBe(200);
  return { runnerId: r.body.id as string, tokens };
}

const getRun = async (runnerId: string, runId: string) =>
  (await api.get(`/api/runners/${runnerId}/runs/${runId}`)).body;
const start = async (runnerId: string) => {
  const r = await api.post(`/api/runners/${runnerId}/runs`, { input: { q: 'hello' } });
  expect(r.status).toBe(201);
  return r.body.id as string;
};
const waitStatus = (runnerId: string, runId: string, status: string, ms = 60_000) =>
  waitFor(
    () => getRun(runnerId, runId),
    (b) => b.status === status,
    ms,
    200,
  );
const ledger = (runId: string) => ctx.systemDb.modelCall.findMany({ where: { runId }, orderBy: { createdAt: 'asc' } });
const calledWith = (token: string) => fake.requests.filter((q) => q.raw.includes(token));

describe('onExceed: pause', () => {
  it('pauses before the call that does not fit, resumes with more budget, and bills every call once', async () => {
    // Each call: worst case ≈ $0.0615 (4096 output tokens) + prompt; actual $0.0515 (20k prompt tokens).
    const { runnerId, tokens } = await runner(
      [{ name: 'research', replies: [toolCall(20), toolCall(20), answer(20)] }],
      { enabled: true, budgetUsd: 0.1, onExceed: 'pause' },
    );
    const runId = await start(runnerId);
    const paused = await waitStatus(runnerId, runId, 'paused_budget');
    expect(paused.budgetPausedAt).toEqual(expect.any(String));
    expect(paused.currentStep).toBe(0);
    expect(paused.error).toMatchObject({ code: 'budget_exceeded', step: 'research' });
    expect(paused.error.message).toMatch(/model call 2 \(gpt-5\.4\)/);
    const pauseEvent = paused.events.find((e: { type: string }) => e.type === 'budget_paused');
    expect(pauseEvent).toMatchObject({ step: 'research', callIndex: 2, spentUsd: costOfK(20), budgetUsd: 0.1 });
    expect(pauseEvent.remainingUsd).toBeCloseTo(0.1 - costOfK(20), 8);
    expect(pauseEvent.overByUsd).toBeCloseTo(pauseEvent.worstCaseUsd - pauseEvent.remainingUsd, 8);
    expect(pauseEvent.worstCaseUsd).toBeGreaterThan(worstCaseCostOf(PRICE, 0, 4096) ?? Infinity);
    // The refused call was never made.
    expect(calledWith(tokens[0] as string)).toHaveLength(1);
    expect(await ledger(runId)).toHaveLength(1);
    // The Temporal UI can find it.
    const d = await ctx.client.workflow.getHandle(runId).describe();
    expect(d.typedSearchAttributes.get({ name: 'RunStatus', type: 'KEYWORD' } as never)).toBe('paused_budget');
    expect(d.status.name).toBe('RUNNING');

    // A resume that still does not cover the next call pauses again, saying why.
    const small = await api.post(`/api/runners/${runnerId}/runs/${runId}/resume`, { additionalBudgetUsd: 0.001 });
    expect(small.status).toBe(200);
    expect(small.body.status).toBe('paused_budget');
    expect(small.body.budgetUsd).toBeCloseTo(0.101, 8);
    expect(small.body.error.message).toMatch(/would go over by/);
    expect(small.body.events.filter((e: { type: string }) => e.type === 'budget_paused')).toHaveLength(2);
    expect(calledWith(tokens[0] as string)).toHaveLength(1);

    const resumed = await api.post(`/api/runners/${runnerId}/runs/${runId}/resume`, { additionalBudgetUsd: 0.2 });
    expect(resumed.status).toBe(200);
    expect(['running', 'completed']).toContain(resumed.body.status);
    expect(resumed.body.budgetUsd).toBeCloseTo(0.301, 8);
    const done = await waitStatus(runnerId, runId, 'completed');
    expect(done.output).toEqual({ text: 'done' });
    expect(done.budgetPausedAt).toBeNull();
    expect(done.error).toBeNull();
    expect(done.events.map((e: { type: string }) => e.type)).toEqual([
      'budget_paused',
      'budget_paused',
      'budget_resumed',
    ]);
    expect(done.events[2]).toMatchObject({ additionalBudgetUsd: 0.201, budgetUsd: 0.301 });

    // Three calls, each made and billed exactly once; total within the raised budget.
    expect(calledWith(tokens[0] as string)).toHaveLength(3);
    const rows = await ledger(runId);
    expect(rows).toHaveLength(3);
    expect(new Set(rows.map((r) => r.callKey)).size).toBe(3);
    const total = rows.reduce((a, r) => a + Number(r.costUsd), 0);
    expect(total).toBeCloseTo(3 * costOfK(20), 8);
    expect(total).toBeLessThanOrEqual(0.301);
    const h = await ctx.client.workflow.getHandle(runId).describe();
    expect(h.typedSearchAttributes.get({ name: 'RunStatus', type: 'KEYWORD' } as never)).toBe('completed');
  }, 120_000);

  it('makes no call at all when the first call alone exceeds the budget, and the paused run can be cancelled', async () => {
    const { runnerId, tokens } = await runner([{ name: 'only', replies: [answer(1)] }], {
      enabled: true,
      budgetUsd: 0.01,
      onExceed: 'pause',
    });
    const runId = await start(runnerId);
    const paused = await waitStatus(runnerId, runId, 'paused_budget');
    expect(paused.error.message).toMatch(/model call 1/);
    expect(calledWith(tokens[0] as string)).toHaveLength(0);
    const c = await api.post(`/api/runners/${runnerId}/runs/${runId}/cancel`);
    expect(c.status).toBe(200);
    const cancelled = await waitStatus(runnerId, runId, 'cancelled');
    expect(cancelled.steps[0].status).toBe('failed');
    expect(calledWith(tokens[0] as string)).toHaveLength(0);
    expect(await ledger(runId)).toHaveLength(0);
    const d = await waitFor(
      () => ctx.client.workflow.getHandle(runId).describe(),
      (x) => x.status.name !== 'RUNNING',
      10_000,
    );
    expect(d.status.name).toBe('CANCELLED');
    // Resuming a cancelled run is a conflict.
    expect((await api.post(`/api/runners/${runnerId}/runs/${runId}/resume`, { additionalBudgetUsd: 1 })).status).toBe(
      409,
    );
  }, 90_000);
});

describe('onExceed: fail', () => {
  it('fails the run at the step whose next call would go over, saying by how much', async () => {
    const { runnerId, tokens } = await runner(
      [
        { name: 'first', replies: [answer(20, 'one')] },
        { name: 'second', replies: [answer(1, 'two')] },
      ],
      { enabled: true, budgetUsd: 0.1, onExceed: 'fail' },
    );
    const runId = await start(runnerId);
    const failed = await waitStatus(runnerId, runId, 'failed');
    expect(failed.error).toMatchObject({ code: 'budget_exceeded', step: 'second' });
    expect(failed.error.message).toMatch(
      /^Budget exceeded at step "second": model call 1 \(gpt-5\.4\) could cost up to \$[\d.]+, but only \$0\.0485 of the \$0\.10 budget is left .* it would go over by \$[\d.]+$/,
    );
    const over = Number(/go over by \$([\d.]+)/.exec(failed.error.message)?.[1]);
    const worst = Number(/could cost up to \$([\d.]+)/.exec(failed.error.message)?.[1]);
    expect(over).toBeCloseTo(worst - (0.1 - costOfK(20)), 4);
    expect(failed.steps.map((s: { status: string }) => s.status)).toEqual(['completed', 'failed']);
    expect(calledWith(tokens[0] as string)).toHaveLength(1);
    expect(calledWith(tokens[1] as string)).toHaveLength(0);
    expect(await ledger(runId)).toHaveLength(1);
  }, 90_000);

  it('fails before any call when the first call alone exceeds the budget', async () => {
    const { runnerId, tokens } = await runner([{ name: 'only', replies: [answer(1)] }], {
      enabled: true,
      budgetUsd: 0.05,
      onExceed: 'fail',
    });
    const runId = await start(runnerId);
    const failed = await waitStatus(runnerId, runId, 'failed');
    expect(failed.error).toMatchObject({ code: 'budget_exceeded', step: 'only' });
    expect(calledWith(tokens[0] as string)).toHaveLength(0);
  }, 60_000);

  it('refuses a model with no known price under an enabled budget, without calling it', async () => {
    const r = await api.post('/api/runners', { name: `unpriced-${randomUUID().slice(0, 8)}` });
    const token = `tok-${randomUUID()}`;
    fake.script(token, [answer(1)]);
    await api.post(`/api/runners/${r.body.id}/steps`, {
      name: 'local',
      kind: 'agent',
      orderIndex: 0,
      modelOverride: 'openai/house-model-7b',
      preambleOverride: token,
    });
    await api.put(`/api/runners/${r.body.id}/budget`, { enabled: true, budgetUsd: 5, onExceed: 'pause' });
    const runId = await start(r.body.id);
    const failed = await waitStatus(r.body.id, runId, 'failed');
    expect(failed.error).toMatchObject({ code: 'unpriced_model', step: 'local' });
    expect(failed.error.message).toMatch(/house-model-7b.*no known price/);
    expect(calledWith(token)).toHaveLength(0);
  }, 60_000);
});

describe('warnings', () => {
  it('records each threshold once as a run event, shows it in Temporal, and POSTs it to the warning webhook', async () => {
    // Budget $1: spend 0.3015, 0.6030, 0.8045 (80% crossed), 0.9560 (95% crossed); each call fits.
    const { runnerId } = await runner(
      [{ name: 'spend', replies: [toolCall(120), toolCall(120), toolCall(80), answer(60)] }],
      {
        enabled: true,
        budgetUsd: 1,
        onExceed: 'pause',
        budgetWarningWebhookUrl: hooks.url('/budget-warning'),
      },
    );
    const runId = await start(runnerId);
    const done = await waitStatus(runnerId, runId, 'completed', 90_000);
    const warnings = done.events.filter((e: { type: string }) => e.type === 'budget_warning');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ threshold: 0.8, budgetUsd: 1, step: 'spend' });
    expect(warnings[0].spentUsd).toBeCloseTo(costOfK(120) * 2 + costOfK(80), 8);
    expect(warnings[1]).toMatchObject({ threshold: 0.95, budgetUsd: 1 });
    expect(warnings[1].spentUsd).toBeCloseTo(costOfK(120) * 2 + costOfK(80) + costOfK(60), 8);
    // Delivered through egress control, once each, with an idempotency key.
    const posts = await waitFor(
      async () => hooks.requests.filter((q) => (q.body as { runId?: string }).runId === runId),
      (p) => p.length >= 2,
      10_000,
    );
    expect(posts.map((p) => (p.body as { threshold: number }).threshold).sort()).toEqual([0.8, 0.95]);
    expect(posts.map((p) => p.headers['idempotency-key']).sort()).toEqual([
      `${runId}:budget_warning:0.8`,
      `${runId}:budget_warning:0.95`,
    ]);
    // Visible in the Temporal UI as activity summaries.
    const history = await ctx.client.workflow.getHandle(runId).fetchHistory();
    const summaries = (history.events ?? [])
      .map((e) => e.userMetadata?.summary?.data)
      .filter((x): x is Uint8Array => !!x)
      .map((x) => Buffer.from(x).toString('utf8'));
    expect(summaries.filter((s) => s.includes('budget: 80% warning'))).toHaveLength(1);
    expect(summaries.filter((s) => s.includes('budget: 95% warning'))).toHaveLength(1);
    // The URL (it may carry a token) is not in Temporal history.
    expect(JSON.stringify(history)).not.toContain('/budget-warning');
  }, 120_000);
});

describe('POST /api/runners/:id/runs/:runId/resume', () => {
  it('409s a run that is running or completed, 404s foreign and unknown runs, 422s a bad amount', async () => {
    const { runnerId, tokens } = await runner([{ name: 'slow', replies: [{ ...answer(1), delayMs: 4_000 }] }], {
      enabled: true,
      budgetUsd: 1,
      onExceed: 'pause',
    });
    const runId = await start(runnerId);
    await waitFor(
      async () => calledWith(tokens[0] as string).length,
      (n) => n === 1,
      30_000,
    );
    const running = await api.post(`/api/runners/${runnerId}/runs/${runId}/resume`, { additionalBudgetUsd: 1 });
    expect(running.status).toBe(409);
    expect(running.body.error.code).toBe('conflict');
    expect(running.body.error.message).toMatch(/running/);
    await waitStatus(runnerId, runId, 'completed');
    expect((await api.post(`/api/runners/${runnerId}/runs/${runId}/resume`, {})).status).toBe(409);
    const bad = await api.post(`/api/runners/${runnerId}/runs/${runId}/resume`, { additionalBudgetUsd: -1 });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].path).toBe('additionalBudgetUsd');
    expect((await apiFor(ctx.keyB).post(`/api/runners/${runnerId}/runs/${runId}/resume`, {})).status).toBe(404);
    expect((await api.post(`/api/runners/${runnerId}/runs/${randomUUID()}/resume`, {})).status).toBe(404);
  }, 90_000);
});

describe('a paused run and a worker restart', () => {
  it('survives the worker being killed while paused, and resumes on a new worker', async () => {
    const { runnerId, tokens } = await runner(
      [{ name: 'durable', replies: [toolCall(20), answer(20, 'after restart')] }],
      {
        enabled: true,
        budgetUsd: 0.1,
        onExceed: 'pause',
      },
    );
    const runId = await start(runnerId);
    await waitStatus(runnerId, runId, 'paused_budget');
    await stopWorker(worker, 'SIGKILL');
    worker = startWorker();
    await waitForWorker();
    const resumed = await api.post(`/api/runners/${runnerId}/runs/${runId}/resume`, { additionalBudgetUsd: 0.5 });
    expect(resumed.status).toBe(200);
    const done = await waitStatus(runnerId, runId, 'completed', 90_000);
    expect(done.output).toEqual({ text: 'after restart' });
    expect(calledWith(tokens[0] as string)).toHaveLength(2);
    expect(await ledger(runId)).toHaveLength(2);
  }, 300_000);
});
