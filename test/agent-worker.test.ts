import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApp } from '../api/app';
import { createKeyResolver } from '../src/services/api-keys';
import { connectFakeLlm, type FakeLlmRemote } from './fixtures/fake-llm';
import { request, useTestContext, waitFor } from './harness';

/**
 * Agent steps on a worker process of our own (`npm run worker`'s entry point, on a task queue of this
 * file), configured like production through environment variables: only the OpenAI-compatible
 * provider is configured (OPENAI_BASE_URL points at the fake server); Anthropic is not.
 */
const ctx = useTestContext();
const taskQueue = `agent-worker-${Date.now()}`;
let openai: FakeLlmRemote;
let app: ReturnType<typeof createApp>;
const workers: ChildProcess[] = [];

function startWorker(): ChildProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: ctx.env.databaseUrl,
    TEMPORAL_ADDRESS: ctx.env.temporalAddress,
    TEMPORAL_NAMESPACE: ctx.env.namespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    FLAPJACK_EGRESS_ALLOWLIST: '127.0.0.1',
    FLAPJACK_SECRET_KEY: ctx.env.secretKey,
    OPENAI_BASE_URL: `${ctx.env.fakeOpenAiOrigin}/v1`,
    OPENAI_API_KEY: 'sk-worker-test',
    LOG_LEVEL: 'warn',
  };
  delete env.ANTHROPIC_API_KEY;
  delete env.ANTHROPIC_BASE_URL;
  const w = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'bin', 'worker.ts')], {
    env,
    stdio: 'ignore',
  });
  workers.push(w);
  return w;
}

async function stopWorker(w: ChildProcess): Promise<void> {
  if (w.exitCode !== null || w.signalCode !== null) return;
  const exited = new Promise((r) => w.once('exit', r));
  w.kill('SIGTERM');
  const t = setTimeout(() => w.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

beforeAll(() => {
  // Started now: bundling the workflows takes a while on a loaded machine.
  startWorker();
  openai = connectFakeLlm(ctx.env.fakeOpenAiOrigin, '/v1');
  app = createApp({
    services: { ...ctx.services, temporal: { ...ctx.services.temporal, taskQueue } },
    resolveApiKey: createKeyResolver(ctx.db),
  });
});
afterAll(async () => {
  for (const w of workers) await stopWorker(w);
});

const api = {
  post: (p: string, body?: unknown) =>
    request(app)
      .post(p)
      .set('Authorization', `Bearer ${ctx.keyA}`)
      .send(body as object),
  get: (p: string) => request(app).get(p).set('Authorization', `Bearer ${ctx.keyA}`),
};

async function agentRun(tok: string, model: string): Promise<{ runnerId: string; runId: string }> {
  const r = await api.post('/api/runners', { name: `agent-worker-${tok}` });
  expect(r.status).toBe(201);
  const s = await api.post(`/api/runners/${r.body.id}/steps`, {
    name: 'think',
    kind: 'agent',
    orderIndex: 0,
    preambleOverride: `Scenario ${tok}.`,
    modelOverride: model,
  });
  expect(s.status).toBe(201);
  const run = await api.post(`/api/runners/${r.body.id}/runs`, { input: { tok } });
  expect(run.status).toBe(201);
  return { runnerId: r.body.id as string, runId: run.body.id as string };
}

const getRun = async (runnerId: string, runId: string) =>
  (await api.get(`/api/runners/${runnerId}/runs/${runId}`)).body;

describe('an agent step on a worker configured from its environment', () => {
  it('fails a model whose provider has no key or base URL, naming the variable to set', async () => {
    const { runnerId, runId } = await agentRun(`tok-${randomUUID()}`, 'claude-sonnet-4-6');
    const run = await waitFor(
      () => getRun(runnerId, runId),
      (b) => b.status === 'failed',
      270_000,
      250,
    );
    expect(run.error.code).toBe('provider_not_configured');
    expect(run.error.message).toMatch(/ANTHROPIC_API_KEY/);
    expect(run.steps[0].status).toBe('failed');
  }, 300_000);

  it('resumes after a worker is SIGKILLed between two model calls, each call billed exactly once', async () => {
    const tok = `tok-${randomUUID()}`;
    // Call 1 asks for a tool; call 2 is slow, so the worker dies with it in flight.
    await openai.script(
      tok,
      [
        { toolCalls: [{ name: 'lookup', arguments: { q: 1 } }], usage: { inputTokens: 500, outputTokens: 50 } },
        { text: 'finished', delayMs: 3_000, usage: { inputTokens: 700, outputTokens: 60 } },
      ],
      { repeat: true },
    );
    const w1 = workers[0] && workers[0].exitCode === null ? workers[0] : startWorker();
    const { runnerId, runId } = await agentRun(tok, 'gpt-5.4');
    await waitFor(
      () => openai.requestsFor(tok),
      (r) => r.length >= 2,
      120_000,
      100,
    );
    const w1Exited = new Promise((r) => w1.once('exit', r));
    w1.kill('SIGKILL');
    await w1Exited;
    startWorker();

    const run = await waitFor(
      () => getRun(runnerId, runId),
      (b) => ['completed', 'failed'].includes(b.status),
      150_000,
      250,
    );
    expect(run.status).toBe('completed');
    expect(run.output).toEqual({ text: 'finished' });

    const rows = await ctx.systemDb.modelCall.findMany({ where: { runId }, orderBy: { callIndex: 'asc' } });
    expect(rows.map((r) => r.callKey)).toEqual([`${runId}:think:1`, `${runId}:think:2`]);
    // gpt-5.4: $2.50 in, $15 out per million.
    const expected = (500 * 2.5 + 50 * 15 + 700 * 2.5 + 60 * 15) / 1e6;
    expect(rows.reduce((s, r) => s + Number(r.costUsd), 0)).toBeCloseTo(expected, 8);
    expect(run.costUsd).toBeCloseTo(expected, 6);
    const reqs = await openai.requestsFor(tok);
    // The finished call is never asked again; the interrupted one is asked again by the next worker.
    expect(reqs.filter((r) => r.headers['idempotency-key'] === `${runId}:think:1`)).toHaveLength(1);
    expect(reqs.filter((r) => r.headers['idempotency-key'] === `${runId}:think:2`).length).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
