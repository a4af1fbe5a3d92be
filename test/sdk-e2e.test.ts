import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApp } from '../api/app';
import { createKeyResolver } from '../src/services/api-keys';
import {
  AuthenticationError,
  ConflictError,
  FlapjackClient,
  NotFoundError,
  RateLimitError,
  ValidationError,
  type FetchLike,
} from '../sdk/src/index';
import { connectFakeLlm } from './fixtures/fake-llm';
import { useTestContext } from './harness';

/** The SDK against the real stack: an in-process API listening on an ephemeral port, real Temporal and PostgreSQL. */

const ctx = useTestContext();
const servers: Server[] = [];

async function listen(app: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let baseUrl = '';
let fj: FlapjackClient;
let fjB: FlapjackClient;

beforeAll(async () => {
  baseUrl = await listen(ctx.app);
  fj = new FlapjackClient({ apiKey: ctx.keyA, baseUrl });
  fjB = new FlapjackClient({ apiKey: ctx.keyB, baseUrl });
});

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const double = {
  name: 'double',
  kind: 'computer' as const,
  orderIndex: 0,
  inputMapping: { n: '$.input.n' },
  computer: { runtime: 'javascript' as const, code: 'return { n: input.n * 2 };' },
};

describe('runners, steps and runs', () => {
  it('builds a runner, runs it to completion with waitForRun, and iterates every list', async () => {
    const runner = await fj.createRunner({
      name: 'sdk doubles',
      inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
    });
    expect(await fj.updateRunner(runner.id, { description: 'doubles n' })).toMatchObject({ description: 'doubles n' });
    const step = await fj.addRunnerStep(runner.id, double);
    const tmp = await fj.addRunnerStep(runner.id, { ...double, name: 'tmp', orderIndex: 1 });
    expect(await fj.updateRunnerStep(runner.id, tmp.id, { orderIndex: 7 })).toMatchObject({ orderIndex: 7 });
    await fj.removeRunnerStep(runner.id, tmp.id);
    expect((await fj.listRunnerSteps(runner.id)).data.map((s) => s.id)).toEqual([step.id]);
    const got = await fj.getRunner(runner.id);
    expect(got.steps?.map((s) => s.name)).toEqual(['double']);

    const runs = [];
    for (const n of [1, 2, 3]) runs.push(await fj.triggerRun(runner.id, { input: { n } }));
    const done = await Promise.all(runs.map((r) => fj.waitForRun(runner.id, r.id, { timeoutMs: 180_000 })));
    expect(done.map((r) => [r.status, r.output])).toEqual([
      ['completed', { n: 2 }],
      ['completed', { n: 4 }],
      ['completed', { n: 6 }],
    ]);
    expect(done[0]?.steps.map((s) => s.status)).toEqual(['completed']);

    // async iteration walks page after page (limit 1 → three requests)
    const seen: string[] = [];
    for await (const run of fj.listRuns(runner.id, { limit: 1 })) seen.push(run.id);
    expect(seen.sort()).toEqual(runs.map((r) => r.id).sort());
    const first = await fj.listRuns(runner.id, { limit: 2, status: 'completed' });
    expect(first.data).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const mine: string[] = [];
    for await (const r of fj.listRunners({ limit: 1 })) mine.push(r.id);
    expect(mine).toContain(runner.id);

    await expect(fj.cancelRun(runner.id, runs[0]!.id)).rejects.toBeInstanceOf(ConflictError);
    await fj.deleteRunner(runner.id);
    await expect(fj.getRunner(runner.id)).rejects.toBeInstanceOf(NotFoundError);
  }, 240_000);

  it('idempotencyKey returns the same run; a retried POST whose answer was lost starts no second run', async () => {
    const runner = await fj.createRunner({ name: 'sdk idempotency' });
    await fj.addRunnerStep(runner.id, {
      ...double,
      inputMapping: undefined,
      computer: { runtime: 'javascript', code: 'return 1;' },
    });
    const a = await fj.triggerRun(runner.id, { input: {}, idempotencyKey: 'https://example.com/product-1' });
    const b = await fj.triggerRun(runner.id, { input: {}, idempotencyKey: 'https://example.com/product-1' });
    expect(b.id).toBe(a.id);
    expect(b.idempotencyKey).toBe('https://example.com/product-1');

    // The first attempt reaches the API (the run is created) but its answer is lost on the way back.
    let lost = 0;
    const lossy: FetchLike = async (url, init) => {
      const res = await fetch(url, init);
      if (init.method === 'POST' && url.endsWith('/runs') && lost === 0) {
        lost++;
        await res.text();
        throw new TypeError('socket hang up');
      }
      return res;
    };
    const flaky = new FlapjackClient({ apiKey: ctx.keyA, baseUrl, fetch: lossy, initialRetryDelay: 10 });
    const before = (await fj.listRuns(runner.id)).data.length;
    const run = await flaky.triggerRun(runner.id, { input: {} });
    expect(lost).toBe(1);
    const after = (await fj.listRuns(runner.id, { limit: 200 })).data;
    expect(after).toHaveLength(before + 1);
    expect(after.map((r) => r.id)).toContain(run.id);
    expect(run.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the API honours an Idempotency-Key header when the body has none (and validates it)', async () => {
    const runner = await fj.createRunner({ name: 'header idempotency' });
    const post = (headers: Record<string, string>, body: unknown = { input: {} }) =>
      fetch(`${baseUrl}/api/runners/${runner.id}/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ctx.keyA}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const r1 = await post({ 'Idempotency-Key': 'hdr-1' });
    const r2 = await post({ 'Idempotency-Key': 'hdr-1' });
    expect([r1.status, r2.status]).toEqual([201, 200]);
    const [j1, j2] = (await Promise.all([r1.json(), r2.json()])) as { id: string; idempotencyKey: string }[];
    expect(j2!.id).toBe(j1!.id);
    expect(j1!.idempotencyKey).toBe('hdr-1');
    // the body's key wins over the header
    const r3 = await post({ 'Idempotency-Key': 'hdr-1' }, { input: {}, idempotencyKey: 'body-1' });
    expect(r3.status).toBe(201);
    expect(((await r3.json()) as { idempotencyKey: string }).idempotencyKey).toBe('body-1');
    const tooLong = await post({ 'Idempotency-Key': 'x'.repeat(256) });
    expect(tooLong.status).toBe(422);
    expect(((await tooLong.json()) as { error: { details: { path: string }[] } }).error.details[0]?.path).toBe(
      'headers.idempotency-key',
    );
  });
});

describe('errors', () => {
  it('maps statuses to typed errors carrying status, code, message, details and requestId', async () => {
    const runner = await fj.createRunner({ name: 'sdk errors' });
    const nf = (await fjB.getRunner(runner.id).catch((e: unknown) => e)) as NotFoundError;
    expect(nf).toBeInstanceOf(NotFoundError);
    expect(nf).toMatchObject({ status: 404, code: 'not_found' });
    expect(nf.requestId).toMatch(/./);

    const v = (await fj
      .addRunnerStep(runner.id, { name: 'hook', kind: 'webhook', orderIndex: 0 })
      .catch((e: unknown) => e)) as ValidationError;
    expect(v).toBeInstanceOf(ValidationError);
    expect(v).toMatchObject({ status: 422, code: 'validation_failed' });
    expect(v.fields.map((f) => f.path)).toContain('webhookUrl');

    const bad = new FlapjackClient({ apiKey: 'fj_live_not-a-real-key-aaaaaaaaaaaaaaaa', baseUrl });
    await expect(bad.listRunners()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('honours Retry-After from a rate-limited API and succeeds on retry', async () => {
    const limited = await listen(
      createApp({
        services: ctx.services,
        resolveApiKey: createKeyResolver(ctx.db),
        rateLimit: { ratePerSec: 0.2, burst: 1 },
      }),
    );
    const hits: number[] = [];
    let retryAfter = 0;
    const counting: FetchLike = async (url, init) => {
      const res = await fetch(url, init);
      hits.push(res.status);
      if (res.status === 429) retryAfter = Number(res.headers.get('retry-after'));
      return res;
    };
    const slow = new FlapjackClient({ apiKey: ctx.keyA, baseUrl: limited, fetch: counting });
    await slow.listRunners();
    const started = Date.now();
    await slow.listRunners();
    expect(hits).toEqual([200, 429, 200]);
    // one token per 5 s: the client waited what Retry-After said (≥ 1 s), not its 500 ms backoff
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(retryAfter * 1000 - 50);
    const noRetry = new FlapjackClient({ apiKey: ctx.keyA, baseUrl: limited, maxRetries: 0 });
    const e = (await noRetry.listRunners().catch((x: unknown) => x)) as RateLimitError;
    expect(e).toBeInstanceOf(RateLimitError);
    expect(e.retryAfterMs).toBeGreaterThanOrEqual(1000);
  }, 60_000);
});

describe('connections, org resources, configs and knowledge', () => {
  it('covers every org resource and runner connection through the SDK', async () => {
    const runner = await fj.createRunner({ name: 'sdk connections' });
    const agent = await fj.createAgent({ name: 'sdk agent', preamble: 'You help.', model: 'gpt-4o-mini' });
    const mcp = await fj.createMcpServer({ slug: 'sdk-srv', transport: 'http', url: 'https://mcp.example.com/mcp' });
    const integ = await fj.createIntegration({
      name: 'sdk db',
      kind: 'postgres',
      connectionString: 'postgres://u:pw@db.example.com/x',
    });
    const tool = await fj.createTool({ name: 'sdk_tool', url: 'https://api.example.com/t' });
    const skill = await fj.createSkill({ name: 'sdk skill', instructions: 'Be brief.' });

    expect(await fj.updateAgent(agent.id, { model: 'gpt-4o' })).toMatchObject({ model: 'gpt-4o' });
    expect(await fj.updateMcpServer(mcp.id, { name: 'Renamed' })).toMatchObject({ name: 'Renamed' });
    expect(await fj.updateIntegration(integ.id, { readOnly: true })).toMatchObject({ readOnly: true });
    expect(await fj.updateTool(tool.id, { description: 'd' })).toMatchObject({ description: 'd' });
    expect(await fj.updateSkill(skill.id, { instructions: 'Be briefer.' })).toMatchObject({
      instructions: 'Be briefer.',
    });
    expect((await fj.getAgent(agent.id)).id).toBe(agent.id);
    expect((await fj.getMcpServer(mcp.id)).id).toBe(mcp.id);
    expect((await fj.getIntegration(integ.id)).connectionString).not.toContain('pw@');
    expect((await fj.getTool(tool.id)).id).toBe(tool.id);
    expect((await fj.getSkill(skill.id)).id).toBe(skill.id);
    for (const [list, id] of [
      [fj.listAgents(), agent.id],
      [fj.listMcpServers(), mcp.id],
      [fj.listIntegrations(), integ.id],
      [fj.listTools(), tool.id],
      [fj.listSkills(), skill.id],
    ] as const) {
      expect((await list.toArray()).map((x) => x.id)).toContain(id);
    }
    await expect(fjB.getAgent(agent.id)).rejects.toBeInstanceOf(NotFoundError);

    expect(await fj.attachRunnerMcp(runner.id, mcp.id)).toMatchObject({
      mcpServerId: mcp.id,
      mcpServer: { slug: 'sdk-srv' },
    });
    await fj.attachRunnerMcp(runner.id, mcp.id); // idempotent
    await fj.attachRunnerIntegration(runner.id, integ.id);
    await fj.attachRunnerTool(runner.id, tool.id);
    await fj.attachRunnerSkill(runner.id, skill.id);
    expect((await fj.listRunnerMcps(runner.id)).data.map((a) => a.mcpServerId)).toEqual([mcp.id]);
    expect((await fj.listRunnerIntegrations(runner.id).toArray()).map((a) => a.integrationId)).toEqual([integ.id]);
    expect((await fj.listRunnerTools(runner.id).toArray()).map((a) => a.toolId)).toEqual([tool.id]);
    expect((await fj.listRunnerSkills(runner.id).toArray()).map((a) => a.skillId)).toEqual([skill.id]);
    await fj.detachRunnerMcp(runner.id, mcp.id);
    await fj.detachRunnerIntegration(runner.id, integ.id);
    await fj.detachRunnerTool(runner.id, tool.id);
    await fj.detachRunnerSkill(runner.id, skill.id);
    await expect(fj.detachRunnerSkill(runner.id, skill.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await fj.listRunnerMcps(runner.id)).data).toEqual([]);

    expect(await fj.getRunnerWebConfig(runner.id)).toMatchObject({ enabled: false });
    expect(
      await fj.updateRunnerWebConfig(runner.id, { enabled: true, searchEnabled: true, researchEnabled: true }),
    ).toMatchObject({
      enabled: true,
      researchEnabled: true,
    });
    expect(await fj.getRunnerPlanConfig(runner.id)).toMatchObject({ enabled: false });
    expect(await fj.updateRunnerPlanConfig(runner.id, { enabled: true })).toMatchObject({ enabled: true });
    expect(await fj.getRunnerBudget(runner.id)).toMatchObject({ enabled: false, warningThreshold2: 0.95 });
    expect(await fj.updateRunnerBudget(runner.id, { enabled: true, budgetUsd: 5, onExceed: 'pause' })).toMatchObject({
      budgetUsd: 5,
      onExceed: 'pause',
    });

    const doc = await fj.uploadKnowledge({
      file: 'Electronics can be returned within 30 days with the original receipt.',
      filename: 'returns.txt',
      scopeType: 'runner',
      scopeId: runner.id,
      title: 'Returns',
    });
    expect(doc).toMatchObject({ title: 'Returns', scopeType: 'runner', scopeId: runner.id });
    const pdfless = await fj.uploadKnowledge({
      file: new Blob(['{"a": "catalog of lamps"}'], { type: 'application/json' }),
      filename: 'c.json',
      scopeType: 'org',
    });
    expect(pdfless.chunks).toBeGreaterThan(0);
    const hits = await fj.searchKnowledge({ q: 'returned electronics', runnerId: runner.id });
    expect(hits.data[0]?.docId).toBe(doc.id);
    expect((await fj.listKnowledge({ scopeType: 'runner', scopeId: runner.id })).data.map((d) => d.id)).toEqual([
      doc.id,
    ]);
    expect((await fj.getKnowledge(doc.id)).chunks).toBeGreaterThan(0);
    await fj.deleteKnowledge(doc.id);
    await fj.deleteKnowledge(pdfless.id);
    await expect(fj.getKnowledge(doc.id)).rejects.toBeInstanceOf(NotFoundError);

    await fj.deleteAgent(agent.id);
    await fj.deleteMcpServer(mcp.id);
    await fj.deleteIntegration(integ.id);
    await fj.deleteTool(tool.id);
    await fj.deleteSkill(skill.id);
    await expect(fj.getTool(tool.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await fj.health()).toMatchObject({ ok: true });
  }, 60_000);
});

describe('triggers, webhook delivery, bulk runs, resume and analytics', () => {
  it('manages triggers, delivers a signed webhook byte for byte, starts and polls a bulk, reads analytics', async () => {
    const runner = await fj.createRunner({
      name: 'sdk late routes',
      inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
    });
    await fj.addRunnerStep(runner.id, double);

    const secret = 'whsec-sdk-e2e-0123456789abcdef0123';
    const hook = await fj.addRunnerTrigger(runner.id, { kind: 'webhook', signature: { preset: 'github', secret } });
    expect(hook.token).toEqual(expect.any(String));
    const cron = await fj.addRunnerTrigger(runner.id, { kind: 'cron', cronExpression: '0 9 * * 1', input: { n: 1 } });
    const cronRead = await fj.getRunnerTrigger(runner.id, cron.id);
    expect(cronRead.kind === 'cron' ? cronRead.nextFireTimes : null).toHaveLength(5);
    const ids: string[] = [];
    for await (const t of fj.listRunnerTriggers(runner.id, { limit: 1 })) ids.push(t.id);
    expect(ids.sort()).toEqual([hook.id, cron.id].sort());
    expect(await fj.updateRunnerTrigger(runner.id, cron.id, { enabled: false })).toMatchObject({ enabled: false });
    await expect(fj.addRunnerTrigger(runner.id, { kind: 'cron' } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(fjB.getRunnerTrigger(runner.id, cron.id)).rejects.toBeInstanceOf(NotFoundError);

    // the signature covers the exact bytes: a string body is sent as is
    const raw = '{ "n" : 5 }';
    const sig = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
    const delivered = await fj.deliverWebhook(hook.token!, raw, { 'X-Hub-Signature-256': sig });
    expect(delivered.runId).toEqual(expect.any(String));
    expect(await fj.waitForRun(runner.id, delivered.runId, { timeoutMs: 120_000 })).toMatchObject({
      status: 'completed',
      output: { n: 10 },
    });
    await expect(
      fj.deliverWebhook(hook.token!, { n: 5 }, { 'X-Hub-Signature-256': 'sha256=00' }),
    ).rejects.toBeInstanceOf(AuthenticationError);
    await fj.removeRunnerTrigger(runner.id, hook.id);
    await expect(fj.deliverWebhook(hook.token!, raw, { 'X-Hub-Signature-256': sig })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await fj.removeRunnerTrigger(runner.id, cron.id);

    const bulk = await fj.triggerRunBulk(runner.id, [{ input: { n: 1 } }, { input: { n: 'x' } }, { input: { n: 2 } }]);
    expect(bulk).toMatchObject({ created: 2, existing: 0 });
    expect(bulk.invalid.map((i) => i.index)).toEqual([1]);
    const runIds = bulk.data.map((r) => r.id);
    const deadline = Date.now() + 120_000;
    let status = await fj.getRunsStatus(runner.id, runIds);
    while (!status.data.every((r) => r.status === 'completed') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      status = await fj.getRunsStatus(runner.id, runIds);
    }
    expect(status.data.map((r) => [r.id, r.status])).toEqual(runIds.map((id) => [id, 'completed']));

    await expect(fj.resumeRun(runner.id, runIds[0]!, { additionalBudgetUsd: 1 })).rejects.toBeInstanceOf(ConflictError);

    const ra = await fj.getRunnerAnalytics(runner.id, { period: '7d' });
    expect(ra.runner.id).toBe(runner.id);
    expect(ra.summary.total_runs).toBe(3);
    const oa = await fj.getAnalytics();
    expect(oa.period).toBe('30d');
    expect(oa.summary.total_runs).toBeGreaterThanOrEqual(3);
    await expect(fj.getAnalytics({ period: '1y' as never })).rejects.toBeInstanceOf(ValidationError);
    await fj.deleteRunner(runner.id);
  }, 240_000);
});

describe('a run paused on its budget', () => {
  it('waitForRun stops at paused_budget; resumeRun raises the budget and the run completes with one call', async () => {
    // The test stack's worker calls the scripted OpenAI-compatible server; the token routes this step's calls.
    const openai = connectFakeLlm(ctx.env.fakeOpenAiOrigin, '/v1');
    const token = `tok-${randomUUID()}`;
    await openai.script(token, [{ text: 'resumed', usage: { inputTokens: 1000, outputTokens: 100 } }]);
    const runner = await fj.createRunner({ name: 'sdk budget', defaultModel: 'gpt-5.4' });
    await fj.addRunnerStep(runner.id, {
      name: 'think',
      kind: 'agent',
      orderIndex: 0,
      preambleOverride: `Answer briefly. ${token}`,
    });
    // Far below one call's worst case: the run pauses before its first call.
    await fj.updateRunnerBudget(runner.id, { enabled: true, budgetUsd: 0.000001, onExceed: 'pause' });
    const run = await fj.triggerRun(runner.id, { input: { q: 'hi' } });

    const paused = await fj.waitForRun(runner.id, run.id, { timeoutMs: 120_000 });
    expect(paused.status).toBe('paused_budget');
    expect(paused.budgetPausedAt).toEqual(expect.any(String));
    expect(paused.error).toMatchObject({ code: 'budget_exceeded', step: 'think' });
    expect(await openai.requestsFor(token)).toHaveLength(0);

    const resumed = await fj.resumeRun(runner.id, run.id, { additionalBudgetUsd: 1 });
    expect(['running', 'completed']).toContain(resumed.status);
    expect(resumed.budgetUsd).toBeCloseTo(1.000001, 8);
    const done = await fj.waitForRun(runner.id, run.id, { timeoutMs: 120_000 });
    expect(done).toMatchObject({ status: 'completed', output: { text: 'resumed' }, budgetPausedAt: null, error: null });
    expect(done.events?.map((e) => e.type)).toEqual(['budget_paused', 'budget_resumed']);
    expect(await openai.requestsFor(token)).toHaveLength(1);
    // Not paused any more: a second resume is a conflict.
    await expect(fj.resumeRun(runner.id, run.id, { additionalBudgetUsd: 1 })).rejects.toBeInstanceOf(ConflictError);
    await fj.deleteRunner(runner.id);
  }, 240_000);
});
