import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectFakeLlm, type FakeLlmRemote, type FakeReply, type RecordedRequest } from './fixtures/fake-llm';
import { startHttpTestServer, type HttpTestServer } from './fixtures/mcp-test-server';
import { json, startWebhookServer } from './fixtures/webhook-server';
import { useTestContext, waitFor } from './harness';
import { recordHistory } from './record-history';

/**
 * Agent steps end to end: the real provider code over HTTP against the scripted fake OpenAI and
 * Anthropic servers the test worker points at, the real workflow and activities, the real ledger.
 */
const ctx = useTestContext();
let openai: FakeLlmRemote;
let anthropic: FakeLlmRemote;

beforeAll(() => {
  openai = connectFakeLlm(ctx.env.fakeOpenAiOrigin, '/v1');
  anthropic = connectFakeLlm(ctx.env.fakeAnthropicOrigin, '');
});

interface RunBody {
  id: string;
  status: string;
  output: unknown;
  error: { code: string; message: string; step?: string } | null;
  costUsd: number;
  steps: {
    name: string;
    status: string;
    output: unknown;
    error: { code: string; message: string } | null;
    costUsd: number;
    details: Record<string, unknown> | null;
  }[];
}

const token = () => `tok-${randomUUID()}`;

async function makeRunner(body: Record<string, unknown>, steps: Record<string, unknown>[]): Promise<string> {
  const r = await ctx.api.post('/api/runners', { name: `agent-${randomUUID()}`, ...body });
  expect(r.status).toBe(201);
  for (const s of steps) {
    const st = await ctx.api.post(`/api/runners/${r.body.id}/steps`, s);
    expect(st.status).toBe(201);
  }
  return r.body.id as string;
}

async function startRun(runnerId: string, input: unknown): Promise<string> {
  const r = await ctx.api.post(`/api/runners/${runnerId}/runs`, { input });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

const getRun = async (runnerId: string, runId: string): Promise<RunBody> =>
  (await ctx.api.get(`/api/runners/${runnerId}/runs/${runId}`)).body as RunBody;

const settled = (runnerId: string, runId: string, timeoutMs = 60_000) =>
  waitFor(
    () => getRun(runnerId, runId),
    (b) => ['completed', 'failed', 'cancelled'].includes(b.status),
    timeoutMs,
    150,
  );

const ledger = (runId: string) => ctx.systemDb.modelCall.findMany({ where: { runId }, orderBy: { callIndex: 'asc' } });

/** One agent step (inline unless `agentId` is given), scripted by a token in its preamble. */
async function oneStepRun(
  fake: FakeLlmRemote,
  replies: FakeReply[],
  step: Record<string, unknown>,
  input: unknown = { q: 'hi' },
  opts: { repeat?: boolean; runner?: Record<string, unknown> } = {},
) {
  const tok = token();
  await fake.script(tok, replies, { repeat: opts.repeat });
  const runnerId = await makeRunner(opts.runner ?? {}, [
    { name: 'ask', kind: 'agent', orderIndex: 0, preambleOverride: `Scenario ${tok}.`, ...step },
  ]);
  const runId = await startRun(runnerId, input);
  return { tok, runnerId, runId };
}

const systemOf = (r: RecordedRequest): string => {
  const b = r.body as { system?: string; messages?: { role: string; content: unknown }[] };
  return b.system ?? String(b.messages?.find((m) => m.role === 'system')?.content ?? '');
};

describe('an agent step', () => {
  it('answers in plain text through an OpenAI-compatible provider: preamble order, input as JSON, one ledger row, costs', async () => {
    const tok = token();
    await openai.script(tok, [
      { text: 'Hello there', usage: { inputTokens: 1001, outputTokens: 200, cachedTokens: 400 } },
    ]);
    const agent = await ctx.api.post('/api/agents', { name: `a-${tok}`, preamble: 'AGENT-PREAMBLE', model: 'gpt-4.1' });
    expect(agent.status).toBe(201);
    const runnerId = await makeRunner({ learnedInstructions: 'LEARNED-LESSON', defaultModel: 'gpt-4o' }, [
      {
        name: 'ask',
        kind: 'agent',
        orderIndex: 0,
        agentId: agent.body.id,
        preambleOverride: `OVERRIDE ${tok}`,
        modelOverride: 'gpt-5.4',
      },
    ]);
    const input = { question: 'What is 2+2?', n: [1, 2] };
    const runId = await startRun(runnerId, input);
    const run = await settled(runnerId, runId);
    expect(run.status).toBe('completed');
    expect(run.output).toEqual({ text: 'Hello there' });

    const [req, ...more] = await openai.requestsFor(tok);
    expect(more).toHaveLength(0);
    expect(req?.path).toBe('/v1/chat/completions');
    expect(req?.headers.authorization).toBe('Bearer sk-test-openai');
    expect(req?.headers['idempotency-key']).toBe(`${runId}:ask:1`);
    const body = req?.body as { model: string; messages: { role: string; content: string }[] };
    expect(body.model).toBe('gpt-5.4');
    const system = systemOf(req as RecordedRequest);
    expect(system.indexOf('LEARNED-LESSON')).toBeGreaterThanOrEqual(0);
    expect(system.indexOf('LEARNED-LESSON')).toBeLessThan(system.indexOf('OVERRIDE'));
    expect(system.indexOf('OVERRIDE')).toBeLessThan(system.indexOf('AGENT-PREAMBLE'));
    const user = body.messages.find((m) => m.role === 'user');
    expect(JSON.parse(user?.content ?? 'null')).toEqual(input);

    const rows = await ledger(runId);
    expect(rows).toHaveLength(1);
    const row = rows[0];
    const key = await ctx.systemDb.apiKey.findFirst({ where: { orgId: ctx.orgA } });
    expect(row).toMatchObject({
      callKey: `${runId}:ask:1`,
      stepName: 'ask',
      provider: 'openai',
      model: 'gpt-5.4',
      inputTokens: 1001,
      outputTokens: 200,
      cachedTokens: 400,
      orgId: ctx.orgA,
      runnerId,
      apiKeyId: key?.id,
      triggerKind: 'api',
    });
    // 601 fresh × $2.50 + 400 cached × $0.25 + 200 out × $15, per million: 7 decimals, which the run's and
    // the step's cost keep (they are the ledger's sums, not rounded to 6 places).
    expect(Number(row?.costUsd)).toBe(0.0046025);
    expect(run.costUsd).toBe(0.0046025);
    expect(run.steps[0]?.costUsd).toBe(0.0046025);
    expect(run.steps[0]?.details).toMatchObject({
      model: 'gpt-5.4',
      provider: 'openai',
      modelCalls: 1,
      toolCalls: 0,
      costUnknown: false,
    });
  });

  it('talks Anthropic Messages for claude-* models, and a failing tool call goes back to the model as a tool result', async () => {
    const { tok, runnerId, runId } = await oneStepRun(
      anthropic,
      [
        { toolCalls: [{ name: 'lookup', arguments: { q: 'x' } }], usage: { inputTokens: 100, outputTokens: 10 } },
        { text: 'done', usage: { inputTokens: 150, outputTokens: 20 } },
      ],
      { modelOverride: 'claude-sonnet-4-6' },
    );
    const run = await settled(runnerId, runId);
    expect(run.status).toBe('completed');
    expect(run.output).toEqual({ text: 'done' });
    const reqs = await anthropic.requestsFor(tok);
    expect(reqs).toHaveLength(2);
    expect(reqs[0]?.path).toBe('/v1/messages');
    expect(reqs[0]?.headers['x-api-key']).toBe('sk-ant-test');
    expect(reqs[0]?.headers['anthropic-version']).toBe('2023-06-01');
    const second = reqs[1]?.body as { messages: { role: string; content: unknown }[] };
    const last = second.messages[second.messages.length - 1] as {
      role: string;
      content: { type: string; is_error?: boolean }[];
    };
    expect(last.role).toBe('user');
    expect(last.content[0]).toMatchObject({ type: 'tool_result', is_error: true });
    const rows = await ledger(runId);
    expect(rows.map((r) => r.callKey)).toEqual([`${runId}:ask:1`, `${runId}:ask:2`]);
    // claude-sonnet-4-6: $3 in, $15 out per million.
    expect(Number(rows[0]?.costUsd)).toBeCloseTo((100 * 3 + 10 * 15) / 1e6, 8);
    expect(run.costUsd).toBeCloseTo((250 * 3 + 30 * 15) / 1e6, 6);
    expect(run.steps[0]?.details).toMatchObject({ provider: 'anthropic', modelCalls: 2, toolCalls: 1 });
    // The shape (docs/run-shape.md, run shape 3): the preparation, both model calls and the tool call are
    // local activities (markers); nothing goes through a task queue.
    const events = (await ctx.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
    const scheduled = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter((n) => !!n);
    expect(scheduled).toEqual([]);
    const markerTypes = events
      .map((e) => e.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data)
      .filter((d): d is Uint8Array => !!d)
      .map((d) => (JSON.parse(Buffer.from(d).toString('utf8')) as { activity_type?: string }).activity_type);
    // The preparation and the first call share one local activity (no USD limit on this runner), and the
    // last call recorded the step's output and the run's end with its ledger row: no write after it.
    expect(markerTypes).toEqual(['prepareAndCallModel', 'callTool', 'callModel']);
    // Each call shows its summary in the Temporal UI (after the run's own, on its start event).
    const summaries = events
      .map((e) => e.userMetadata?.summary?.data)
      .filter((d): d is Uint8Array => !!d)
      .map((d) => JSON.parse(Buffer.from(d).toString('utf8')) as string);
    expect(summaries.slice(1)).toEqual([
      'ask: prepare, claude-sonnet-4-6 call 1',
      'ask: tool lookup',
      'ask: claude-sonnet-4-6 call 2',
    ]);
    await recordHistory(runId, 'agent-tool-round');
  });

  it('returns structured output after one repair round, asking through response_format', async () => {
    const schema = { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } };
    const { tok, runnerId, runId } = await oneStepRun(
      openai,
      [{ text: '{"n": "five"}' }, { text: '```json\n{"n": 5}\n```' }],
      {
        modelOverride: 'gpt-5.4-mini',
        outputSchema: schema,
      },
    );
    const run = await settled(runnerId, runId);
    expect(run.status).toBe('completed');
    expect(run.output).toEqual({ n: 5 });
    const reqs = await openai.requestsFor(tok);
    expect(reqs).toHaveLength(2);
    expect((reqs[0]?.body as { response_format?: unknown }).response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { schema },
    });
    const repair = (reqs[1]?.body as { messages: { role: string; content: string }[] }).messages.at(-1);
    expect(repair?.role).toBe('user');
    expect(repair?.content).toMatch(/does not match/);
    expect(repair?.content).toMatch(/output\.n/);
    expect(await ledger(runId)).toHaveLength(2);
  });

  it('fails the step with the validation errors when the repaired answer still does not match', async () => {
    const schema = { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } };
    const { runnerId, runId } = await oneStepRun(openai, [{ text: 'not json at all' }, { text: '{"m": 1}' }], {
      modelOverride: 'gpt-5.4',
      outputSchema: schema,
    });
    const run = await settled(runnerId, runId);
    expect(run.status).toBe('failed');
    expect(run.error?.code).toBe('output_schema_mismatch');
    expect(run.error?.message).toMatch(/output\.n/);
    expect(run.steps[0]?.status).toBe('failed');
  });

  it('retries a 429 after its Retry-After and bills the call once', async () => {
    const { tok, runnerId, runId } = await oneStepRun(openai, [{ status: 429, retryAfter: '1' }, { text: 'ok' }], {
      modelOverride: 'gpt-5.4',
    });
    const run = await settled(runnerId, runId);
    expect(run.status).toBe('completed');
    expect(run.output).toEqual({ text: 'ok' });
    const reqs = await openai.requestsFor(tok);
    expect(reqs.map((r) => r.status)).toEqual([429, 200]);
    expect((reqs[1]?.at ?? 0) - (reqs[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(await ledger(runId)).toHaveLength(1);
  });

  it('does not retry a 400 and fails the step with the provider message', async () => {
    const { tok, runnerId, runId } = await oneStepRun(
      openai,
      [{ status: 400, errorMessage: 'max_tokens is too large' }, { text: 'never' }],
      {
        modelOverride: 'gpt-5.4',
      },
    );
    const run = await settled(runnerId, runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'provider_error', step: 'ask' });
    expect(run.error?.message).toMatch(/400.*max_tokens is too large/);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await openai.requestsFor(tok)).toHaveLength(1);
    expect(await ledger(runId)).toHaveLength(0);
  });

  it('fails an unknown model before any call, saying which names work', async () => {
    const { tok, runnerId, runId } = await oneStepRun(openai, [{ text: 'never' }], {
      modelOverride: 'mystery-model-9',
    });
    const run = await settled(runnerId, runId);
    expect(run.status).toBe('failed');
    expect(run.error?.code).toBe('unknown_model');
    expect(run.error?.message).toMatch(/mystery-model-9/);
    expect(run.error?.message).toMatch(/openai\/<model>/);
    expect(await openai.requestsFor(tok)).toHaveLength(0);
  });

  it('fails a step with no model at all, naming where to set one', async () => {
    const { runnerId, runId } = await oneStepRun(openai, [{ text: 'never' }], {});
    const run = await settled(runnerId, runId);
    expect(run.status).toBe('failed');
    expect(run.error?.code).toBe('unknown_model');
    expect(run.error?.message).toMatch(/defaultModel/);
  });

  it('records cost null, never 0, for a model with no known price, and flags the step', async () => {
    const { tok, runnerId, runId } = await oneStepRun(openai, [{ text: 'local answer' }], {
      modelOverride: 'openai/llama3.1:8b',
    });
    const run = await settled(runnerId, runId);
    expect(run.status).toBe('completed');
    const [req] = await openai.requestsFor(tok);
    expect((req?.body as { model: string }).model).toBe('llama3.1:8b');
    const rows = await ledger(runId);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.costUsd).toBeNull();
    expect(rows[0]?.model).toBe('openai/llama3.1:8b');
    expect(run.steps[0]?.details).toMatchObject({ costUnknown: true });
  });

  it('stops at the iteration limit when the model keeps calling tools', async () => {
    const { tok, runnerId, runId } = await oneStepRun(
      openai,
      [{ toolCalls: [{ name: 'again', arguments: {} }] }],
      { modelOverride: 'gpt-5.4-nano' },
      {},
      {
        repeat: true,
      },
    );
    const run = await settled(runnerId, runId, 120_000);
    expect(run.status).toBe('failed');
    expect(run.error?.code).toBe('agent_iteration_limit');
    expect(run.error?.message).toMatch(/10 model calls/);
    expect(await openai.requestsFor(tok)).toHaveLength(10);
    const rows = await ledger(runId);
    expect(rows.map((r) => r.callIndex)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // The tools of the 10th call are not run: no call is left to read their results.
    expect(run.steps[0]?.details).toMatchObject({ modelCalls: 10, toolCalls: 9 });
  }, 150_000);

  /** A run whose only model call takes a minute, once that call has reached the model. */
  async function runInSlowCall() {
    const r = await oneStepRun(openai, [{ text: 'too late', delayMs: 60_000 }], { modelOverride: 'gpt-5.4' });
    await waitFor(
      () => openai.requestsFor(r.tok),
      (reqs) => reqs.length === 1,
      60_000,
      100,
    );
    return r;
  }

  /** The run ended cancelled, its step failed with `cancelled`, and nothing was billed. */
  async function expectCancelledUnbilled(runnerId: string, runId: string) {
    const run = await settled(runnerId, runId);
    expect(run.status).toBe('cancelled');
    expect(run.steps[0]).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
    expect(await ledger(runId)).toHaveLength(0);
  }

  it('aborts an in-flight model request within about a second when the run is cancelled', async () => {
    const { tok, runnerId, runId } = await runInSlowCall();
    const cancelledAt = Date.now();
    const c = await ctx.api.post(`/api/runners/${runnerId}/runs/${runId}/cancel`);
    expect(c.status).toBe(200);
    const [req] = await waitFor(
      () => openai.requestsFor(tok),
      (r) => r[0]?.aborted === true,
      20_000,
      50,
    );
    const abortedAfter = Date.now() - cancelledAt;
    // About a second (the cancel announcement); generous for a loaded machine.
    expect(abortedAfter).toBeLessThan(5_000);
    expect(req?.status).toBeUndefined();
    await expectCancelledUnbilled(runnerId, runId);
  }, 90_000);

  it('cancels a run whose cancel comes from Temporal itself (no announcement) at the workflow-task heartbeat', async () => {
    // The Temporal UI or CLI cancels without the API's announcement: the local model call holds the
    // workflow task, whose heartbeat (80 % of the 10 s task timeout) lets the cancel in.
    const { tok, runnerId, runId } = await runInSlowCall();
    const cancelledAt = Date.now();
    await ctx.client.workflow.getHandle(runId).cancel();
    await waitFor(
      () => openai.requestsFor(tok),
      (r) => r[0]?.aborted === true,
      40_000,
      100,
    );
    expect(Date.now() - cancelledAt).toBeLessThan(30_000);
    await expectCancelledUnbilled(runnerId, runId);
  }, 120_000);
});

describe('secrets in flight', () => {
  let mcp: HttpTestServer;
  let hooks: Awaited<ReturnType<typeof startWebhookServer>>;
  const secrets = {
    webhook: `whk-${randomUUID()}`,
    mcp: `mcp-${randomUUID()}`,
    tool: `tool-${randomUUID()}`,
    db: `pw${randomUUID().replace(/-/g, '')}`,
  };
  beforeAll(async () => {
    mcp = await startHttpTestServer({ token: secrets.mcp });
    hooks = await startWebhookServer({
      '/hook': (req, res) => json(res, 200, { got: req.headers['x-secret'] === secrets.webhook }),
    });
  });
  afterAll(async () => {
    await mcp.close();
    await hooks.close();
  });

  it("keeps every secret out of the run's Temporal history (ciphertext travels, only activities decrypt)", async () => {
    const post = async (path: string, body: unknown) => {
      const r = await ctx.api.post(path, body);
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    const tok = token();
    await openai.script(tok, [{ text: 'all good' }]);
    const mcpId = await post('/api/mcp-servers', {
      slug: `s${tok.slice(4, 12)}`,
      transport: 'http',
      url: mcp.url,
      headers: { Authorization: `Bearer ${secrets.mcp}` },
    });
    const toolId = await post('/api/tools', {
      name: `t_${tok.slice(4, 12)}`,
      url: hooks.url('/tool'),
      headers: { 'X-Api-Key': secrets.tool },
    });
    const intId = await post('/api/integrations', {
      name: `db-${tok}`,
      kind: 'postgres',
      connectionString: `postgres://reader:${secrets.db}@127.0.0.1:5432/postgres`,
    });
    const agentId = await post('/api/agents', {
      name: `agent-${tok}`,
      preamble: 'Be brief.',
      model: 'gpt-5.4',
      mcpServerIds: [mcpId],
    });
    const runnerId = await makeRunner({}, [
      { name: 'ask', kind: 'agent', orderIndex: 0, agentId, preambleOverride: `Scenario ${tok}.` },
      {
        name: 'notify',
        kind: 'webhook',
        orderIndex: 1,
        webhookUrl: hooks.url('/hook'),
        webhookHeaders: { 'X-Secret': secrets.webhook },
      },
    ]);
    expect((await ctx.api.post(`/api/runners/${runnerId}/tools`, { toolId })).status).toBe(201);
    expect((await ctx.api.post(`/api/runners/${runnerId}/integrations`, { integrationId: intId })).status).toBe(201);

    const runId = await startRun(runnerId, { topic: 'secrets' });
    const run = await settled(runnerId, runId);
    expect(run.status).toBe('completed');
    // The webhook activity did decrypt its header.
    expect(run.output).toEqual({ got: true });

    const history = await ctx.client.workflow.getHandle(runId).fetchHistory();
    // Payload bytes come back base64-encoded (`data`); decode them so the search reads what was stored.
    const text = JSON.stringify(history, (k, v: unknown) => {
      if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
      if (k === 'data' && typeof v === 'string') return Buffer.from(v, 'base64').toString('utf8');
      return v;
    });
    // The search sees payloads: the run's definitions are there, with their secrets as ciphertext.
    expect(text).toContain(mcp.url);
    expect(text).toContain('headersCiphertext');
    expect(text).toContain('connectionCiphertext');
    for (const secret of Object.values(secrets)) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(Buffer.from(secret).toString('base64'));
    }
  }, 90_000);
});
