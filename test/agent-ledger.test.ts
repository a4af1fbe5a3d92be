import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createActivities } from '../activities';
import { createRunWrites } from '../activities/run-writes';
import { createApp } from '../api/app';
import { createKeyResolver } from '../src/services/api-keys';
import type {
  AgentStepRecord,
  CallModelArgs,
  CallModelResult,
  CallToolArgs,
  CallToolResult,
} from '../src/shared/agent-types';
import { MODEL_CALL_SUPERSEDED } from '../src/shared/step-placement';
import { connectFakeLlm, type FakeLlmRemote } from './fixtures/fake-llm';
import { request, useTestContext } from './harness';

/**
 * A local model call that asks for tools answers before its `model_calls` row is written
 * (activities/run-writes.ts); the tool calls that follow wait for the row, or write it themselves when
 * their process never had the call. The activities run here directly, on the real database and the
 * fake OpenAI-compatible server, for a run recorded on a task queue no worker polls (so no workflow
 * touches it).
 */
const ctx = useTestContext();
let openai: FakeLlmRemote;
let runId: string;
const quiet = { log: () => {}, trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const local = () => new MockActivityEnvironment({ isLocal: true, attempt: 1 }, { logger: quiet });

beforeAll(async () => {
  openai = connectFakeLlm(ctx.env.fakeOpenAiOrigin, '/v1');
  const app = createApp({
    services: { ...ctx.services, temporal: { ...ctx.services.temporal, taskQueue: `nobody-${randomUUID()}` } },
    resolveApiKey: createKeyResolver(ctx.db),
  });
  const post = (p: string, body: unknown) =>
    request(app)
      .post(p)
      .set('Authorization', `Bearer ${ctx.keyA}`)
      .send(body as object);
  const runner = await post('/api/runners', { name: `ledger-${randomUUID()}` });
  await post(`/api/runners/${runner.body.id}/steps`, {
    name: 'think',
    kind: 'agent',
    orderIndex: 0,
    modelOverride: 'gpt-5.4',
  });
  const run = await post(`/api/runners/${runner.body.id}/runs`, { input: {} });
  expect(run.status).toBe(201);
  runId = run.body.id as string;
});
afterAll(async () => {
  await ctx.client.workflow
    .getHandle(runId)
    .terminate('test done')
    .catch(() => undefined);
});

const activitiesWith = (runWrites = createRunWrites()) =>
  createActivities({
    db: ctx.db,
    egressAllowlist: ['127.0.0.1'],
    llm: { openai: { apiKey: 'sk-test', baseUrl: openai.url } },
    runWrites,
  });

const baseRecord: AgentStepRecord = {
  model: 'gpt-5.4',
  provider: 'openai',
  notes: [],
  tools: ['lookup'],
  knowledgeSources: [],
  modelCalls: 0,
  toolCalls: 0,
  costUnknown: false,
};

const rowsOf = (key: string) => ctx.systemDb.modelCall.findMany({ where: { callKey: key } });

const toolArgs = (callIndex: number, text: string): CallToolArgs => ({
  runId,
  orgId: ctx.orgA,
  runnerId: 'unused',
  stepName: 'think',
  stepIndex: 0,
  // An arguments error answers without running a tool: only the ledger part runs.
  call: { id: 'c1', name: 'lookup', arguments: {}, argumentsError: 'bad arguments' },
  stepInput: {},
  config: {} as CallToolArgs['config'],
  tools: [],
  record: {},
  ledger: {
    callIndex,
    provider: 'openai',
    model: 'gpt-5.4',
    latencyMs: 12,
    costUsd: 0.001,
    priceVersion: 'test',
    record: { ...baseRecord, modelCalls: callIndex },
    answer: {
      text,
      toolCalls: [{ id: 'c1', name: 'lookup', arguments: {} }],
      stopReason: 'tool_use',
      usage: { inputTokens: 10, outputTokens: 2, cachedTokens: 0 },
    },
  },
});

describe('a model call’s ledger row written after it answered', () => {
  it('is written by the tool call when this process never had the call, once, and a different answer is refused', async () => {
    const acts = activitiesWith();
    const key = `${runId}:think:7`;
    expect(await rowsOf(key)).toHaveLength(0);

    const r = await local().run(acts.callTool, toolArgs(7, 'the answer'));
    expect(r).toEqual({ content: 'bad arguments', isError: true });
    const rows = await rowsOf(key);
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]?.costUsd)).toBeCloseTo(0.001, 9);
    expect(rows[0]?.inputTokens).toBe(10);

    // The same call again (a retried tool call): nothing new.
    await local().run(acts.callTool, toolArgs(7, 'the answer'));
    expect(await rowsOf(key)).toHaveLength(1);

    // Another attempt of the call answered differently: the recorded answer stands, the tool call fails
    // with the type that makes the workflow retry its task.
    const err = await local()
      .run(acts.callTool, toolArgs(7, 'another answer'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe(MODEL_CALL_SUPERSEDED);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    const after = await rowsOf(key);
    expect(after).toHaveLength(1);
    expect((after[0]?.response as { text: string }).text).toBe('the answer');
  });

  it('is in flight when a local call that asks for tools answers, and lands before the tool call goes on', async () => {
    const tok = `tok-${randomUUID()}`;
    await openai.script(tok, [
      { toolCalls: [{ name: 'lookup', arguments: { q: 1 } }], usage: { inputTokens: 300, outputTokens: 30 } },
    ]);
    const writes = createRunWrites();
    const acts = activitiesWith(writes);
    const args: CallModelArgs = {
      runId,
      orgId: ctx.orgA,
      runnerId: 'unused',
      stepName: 'think',
      stepIndex: 0,
      callIndex: 1,
      model: 'gpt-5.4',
      system: `Scenario ${tok}.`,
      messages: [{ role: 'user', content: '{}' }],
      tools: [{ name: 'lookup', description: 'Looks up', inputSchema: { type: 'object' }, source: { kind: 'http' } }],
      maxTokens: 100,
      outputSchema: null,
      record: { ...baseRecord, modelCalls: 1 },
      maxIterations: 10,
      firstTask: true,
    };
    const r: CallModelResult = await local().run(acts.callModel, args);
    expect(r.toolCalls).toHaveLength(1);
    expect(r.ledger).toMatchObject({ callIndex: 1, provider: 'openai', model: 'gpt-5.4' });
    const key = `${runId}:think:1`;
    expect(writes.state(key)).toBeDefined();

    // The same call run again in this process (its workflow task retried here) while the row may still be
    // in flight: it waits for the row and returns the recorded answer, without asking the provider again.
    const again: CallModelResult = await local().run(acts.callModel, args);
    expect(again.toolCalls).toEqual(r.toolCalls);
    expect(await openai.requestsFor(tok)).toHaveLength(1);

    // The tool call of the same process waits for the row (it does not write it a second time).
    const t: CallToolResult = await local().run(acts.callTool, {
      ...toolArgs(1, r.text ?? ''),
      ledger: {
        ...r.ledger!,
        answer: { text: r.text, toolCalls: r.toolCalls, stopReason: r.stopReason, usage: r.usage },
      },
    });
    expect(t.isError).toBe(true);
    expect(writes.state(key)).toBe('recorded');
    const rows = await rowsOf(key);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.inputTokens).toBe(300);
    // gpt-5.4: $2.50 in, $15 out per million.
    expect(Number(rows[0]?.costUsd)).toBeCloseTo((300 * 2.5 + 30 * 15) / 1e6, 9);

    // The last call allowed, or a regular activity, writes its row before answering.
    const last = `tok-${randomUUID()}`;
    await openai.script(last, [{ toolCalls: [{ name: 'lookup', arguments: {} }] }]);
    const r2: CallModelResult = await local().run(acts.callModel, {
      ...args,
      callIndex: 10,
      system: `Scenario ${last}.`,
    });
    expect(r2.ledger).toBeUndefined();
    expect(await rowsOf(`${runId}:think:10`)).toHaveLength(1);
  });
});
