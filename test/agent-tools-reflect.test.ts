/**
 * `reflectOnFailure`: the runner setting through the API, and the reflection activity on a real failed
 * run (real worker, real PostgreSQL) with the real OpenAI-compatible provider code talking to the
 * scripted fake server: one lesson appended, deduplicated, booked once in the ledger.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createReflectActivities } from '../activities/reflect';
import { LESSONS_HEADER } from '../src/agent/reflect';
import { withOrg } from '../src/db/scoped';
import { DEFAULT_RETRY } from '../src/llm/http';
import { createOpenAiProvider } from '../src/llm/openai';
import { startFakeOpenAI, type FakeLlmServer } from './fixtures/fake-openai';
import { json, startWebhookServer } from './fixtures/webhook-server';
import { useTestContext, waitFor } from './harness';

const ctx = useTestContext();
let llm: FakeLlmServer;
let hooks: Awaited<ReturnType<typeof startWebhookServer>>;

beforeAll(async () => {
  llm = await startFakeOpenAI();
  hooks = await startWebhookServer({ '/broken': (_req, res) => json(res, 404, { error: 'order 7 not found' }) });
});
afterAll(async () => {
  await llm?.close();
  await hooks?.close();
});

const activities = () =>
  createReflectActivities({
    db: ctx.db,
    log: ctx.services.log,
    routeModel: (model) => ({
      provider: createOpenAiProvider({
        apiKey: 'sk-test',
        baseUrl: llm.url,
        retry: { ...DEFAULT_RETRY, baseDelayMs: 10 },
        timeoutMs: 10_000,
      }),
      model: model.replace(/^openai\//, ''),
    }),
  });

describe('the reflectOnFailure setting', () => {
  it('is off by default, validated, visible and editable through the runner API', async () => {
    const created = await ctx.api.post('/api/runners', { name: 'reflective' });
    expect(created.status).toBe(201);
    expect(created.body.reflectOnFailure).toBe(false);
    const on = await ctx.api.patch(`/api/runners/${created.body.id}`, { reflectOnFailure: true });
    expect(on.status).toBe(200);
    expect(on.body.reflectOnFailure).toBe(true);
    expect((await ctx.api.get(`/api/runners/${created.body.id}`)).body.reflectOnFailure).toBe(true);
    const bad = await ctx.api.patch(`/api/runners/${created.body.id}`, { reflectOnFailure: 'yes' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details).toEqual([expect.objectContaining({ path: 'reflectOnFailure' })]);
    const direct = await ctx.api.post('/api/runners', { name: 'reflective-2', reflectOnFailure: true });
    expect(direct.body.reflectOnFailure).toBe(true);
  });
});

describe('the reflection activity', () => {
  // The runner opts in only after its run failed: its snapshot says no, so the worker's own reflection
  // (tested end to end in agent-tools-loop.test.ts) stays out of the way of these direct calls.
  async function failedRun(
    reflectOnFailure: boolean,
    learnedInstructions?: string,
    defaultModel: string | null = 'gpt-5.4',
  ) {
    const name = `reflect-${crypto.randomUUID()}`;
    const runner = await ctx.api.post('/api/runners', {
      name,
      defaultModel,
      ...(learnedInstructions ? { learnedInstructions } : {}),
    });
    const step = await ctx.api.post(`/api/runners/${runner.body.id}/steps`, {
      name: 'lookup',
      kind: 'webhook',
      orderIndex: 0,
      webhookUrl: hooks.url('/broken'),
    });
    expect(step.status).toBe(201);
    const run = await ctx.api.post(`/api/runners/${runner.body.id}/runs`, { input: { orderId: 7 } });
    const done = await waitFor(
      () => ctx.api.get(`/api/runners/${runner.body.id}/runs/${run.body.id}`),
      (r) => r.body.status === 'failed',
    );
    if (reflectOnFailure)
      expect((await ctx.api.patch(`/api/runners/${runner.body.id}`, { reflectOnFailure })).status).toBe(200);
    // The runner's name is unique: the fake server answers the reflection prompt that names it.
    return { name, runnerId: runner.body.id as string, runId: run.body.id as string, error: done.body.error };
  }

  it('appends one cleaned lesson, books the call once, and never twice for the same run', async () => {
    const { name, runnerId, runId, error } = await failedRun(true, 'Answer in English.');
    expect(error).toMatchObject({ code: 'webhook_http_error', step: 'lookup' });
    llm.script(name, [
      {
        text: '- "Check that the order exists before calling the lookup webhook."',
        usage: { inputTokens: 120, outputTokens: 14 },
      },
    ]);

    const act = activities();
    const res = await act.reflectOnFailure({ runId, orgId: ctx.orgA, runnerId, error });
    expect(res).toEqual({ appended: true, lesson: 'Check that the order exists before calling the lookup webhook.' });

    // The prompt carried the failure and the step input.
    const [req] = llm.requestsFor(name);
    expect(req?.body.model).toBe('gpt-5.4');
    expect(req?.raw).toContain('Failed step: lookup (webhook)');
    expect(req?.raw).toContain('webhook_http_error');
    expect(req?.raw).toContain('{\\"orderId\\":7}');
    expect(req?.headers['idempotency-key']).toBe(`${runId}:reflect`);

    const runner = await ctx.api.get(`/api/runners/${runnerId}`);
    expect(runner.body.learnedInstructions).toBe(
      `Answer in English.\n\n${LESSONS_HEADER}\n- Check that the order exists before calling the lookup webhook.`,
    );

    const ledger = await withOrg(ctx.db, ctx.orgA, (tx) => tx.modelCall.findMany({ where: { runId } }));
    expect(ledger).toHaveLength(1);
    expect(ledger[0]).toMatchObject({
      stepName: '(reflect on failure)',
      callKey: `${runId}:reflect`,
      provider: 'openai',
      model: 'gpt-5.4',
      inputTokens: 120,
      outputTokens: 14,
    });
    expect(Number(ledger[0]?.costUsd)).toBeCloseTo((120 * 2.5 + 14 * 15) / 1e6, 10);
    // The run's cost is the sum of its ledger, the reflection included, to the ledger's 8 decimals.
    const run = (await ctx.api.get(`/api/runners/${runnerId}/runs/${runId}`)).body;
    expect(run.costUsd).toBe(Number(ledger[0]?.costUsd));

    // A retried activity neither calls the model again nor appends again.
    await expect(act.reflectOnFailure({ runId, orgId: ctx.orgA, runnerId, error })).resolves.toEqual({
      appended: false,
      reason: 'already_done',
    });
    expect(llm.requestsFor(name)).toHaveLength(1);
    expect((await ctx.api.get(`/api/runners/${runnerId}`)).body.learnedInstructions).toBe(
      runner.body.learnedInstructions,
    );
  });

  it('deduplicates a lesson it already has, and keeps NONE out', async () => {
    const first = await failedRun(true);
    llm.script(first.name, [{ text: 'Validate the order id before the lookup.' }]);
    await activities().reflectOnFailure({
      runId: first.runId,
      orgId: ctx.orgA,
      runnerId: first.runnerId,
      error: first.error,
    });

    // A second failed run of the same runner (its snapshot now says yes: stop the flag again first, so
    // the worker does not reflect on its own), with the same lesson in another case and punctuation.
    const runner = first.runnerId;
    await ctx.api.patch(`/api/runners/${runner}`, { reflectOnFailure: false });
    const run2 = await ctx.api.post(`/api/runners/${runner}/runs`, { input: { orderId: 8 } });
    const done2 = await waitFor(
      () => ctx.api.get(`/api/runners/${runner}/runs/${run2.body.id}`),
      (r) => r.body.status === 'failed',
    );
    await ctx.api.patch(`/api/runners/${runner}`, { reflectOnFailure: true });
    llm.script(first.name, [{ text: 'validate the ORDER id before the lookup!' }]);
    const dup = await activities().reflectOnFailure({
      runId: run2.body.id,
      orgId: ctx.orgA,
      runnerId: runner,
      error: done2.body.error,
    });
    expect(dup).toEqual({ appended: false, lesson: 'validate the ORDER id before the lookup!', reason: 'duplicate' });

    const run3 = await ctx.api.post(`/api/runners/${runner}/runs`, { input: { orderId: 9 } });
    await ctx.api.patch(`/api/runners/${runner}`, { reflectOnFailure: false });
    const done3 = await waitFor(
      () => ctx.api.get(`/api/runners/${runner}/runs/${run3.body.id}`),
      (r) => r.body.status === 'failed',
    );
    await ctx.api.patch(`/api/runners/${runner}`, { reflectOnFailure: true });
    llm.script(first.name, [{ text: 'NONE' }]);
    await expect(
      activities().reflectOnFailure({
        runId: run3.body.id,
        orgId: ctx.orgA,
        runnerId: runner,
        error: done3.body.error,
      }),
    ).resolves.toEqual({
      appended: false,
      reason: 'no_lesson',
    });
    const { body } = await ctx.api.get(`/api/runners/${runner}`);
    expect(body.learnedInstructions).toBe(`${LESSONS_HEADER}\n- Validate the order id before the lookup.`);
  });

  it('does nothing for a runner that has not opted in, or has no model', async () => {
    const off = await failedRun(false);
    await expect(
      activities().reflectOnFailure({ runId: off.runId, orgId: ctx.orgA, runnerId: off.runnerId, error: off.error }),
    ).resolves.toEqual({
      appended: false,
      reason: 'disabled',
    });
    const none = await failedRun(true, undefined, null);
    await expect(
      activities().reflectOnFailure({ runId: none.runId, orgId: ctx.orgA, runnerId: none.runnerId, error: none.error }),
    ).resolves.toEqual({
      appended: false,
      reason: 'no_model',
    });
    expect(llm.requestsFor(none.name)).toHaveLength(0);
  });
});
