/**
 * The agent's tools end to end: runs of real runners on the real stack, the agent loop driven by the
 * workflow, the real provider code talking to the scripted fake OpenAI / Anthropic servers, which call
 * the tools: a real MCP server over stdio and Streamable HTTP, a custom HTTP tool, read-only SQL on a
 * real PostgreSQL integration (a write refused), knowledge in the context with its sources, the plan
 * tool, web tools absent without a provider; and reflectOnFailure appending a lesson after a failed run.
 *
 * The stack's worker runs them; its providers point at the stack's fake servers, scripted here over HTTP
 * by a token unique to each test (in the step's preamble or the runner's name).
 */
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client as PgClient } from 'pg';
import { LESSONS_HEADER } from '../src/agent/reflect';
import { withOrg } from '../src/db/scoped';
import { connectFakeLlm, type FakeLlmRemote } from './fixtures/fake-llm';
import { MCP_STDIO_FIXTURE, startHttpTestServer, type HttpTestServer } from './fixtures/mcp-test-server';
import { dropDatabase, ensureDatabase } from '../src/db/migrate';
import { useTestContext, waitFor } from './harness';

const ctx = useTestContext();

let openai: FakeLlmRemote;
let anthropic: FakeLlmRemote;
let mcpHttp: HttpTestServer;
let hooks: {
  server: Server;
  url: string;
  requests: { url: string; headers: IncomingMessage['headers']; body: string }[];
};
let integrationDb: string;
const integrationUrl = () => {
  const u = new URL(ctx.env.databaseUrl);
  u.pathname = `/${integrationDb}`;
  return u.toString();
};

beforeAll(async () => {
  openai = connectFakeLlm(ctx.env.fakeOpenAiOrigin, '/v1');
  anthropic = connectFakeLlm(ctx.env.fakeAnthropicOrigin, '');
  mcpHttp = await startHttpTestServer({ token: 'loop-mcp-token-0123456789' });
  const requests: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ url: req.url ?? '', headers: req.headers, body });
      if (req.url === '/broken') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'order not found' }));
        return;
      }
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ticket: 'T-42', received: JSON.parse(body || 'null') }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hooks = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };

  integrationDb = `agent_loop_it_${Date.now()}_${process.pid}`;
  await ensureDatabase(integrationUrl());
  const c = new PgClient({ connectionString: integrationUrl() });
  await c.connect();
  await c.query(`CREATE TABLE public.products (id int PRIMARY KEY, name text);
    INSERT INTO public.products SELECT g, 'waffle iron ' || g FROM generate_series(1, 12) g;`);
  await c.end();
});

afterAll(async () => {
  await Promise.all([mcpHttp?.close(), new Promise((r) => hooks?.server.close(r))]);
  if (integrationDb) await dropDatabase(integrationUrl());
});

async function created(res: { status: number; body: { id?: string; error?: unknown } }): Promise<string> {
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

async function runToEnd(runnerId: string, input: unknown) {
  const run = await ctx.api.post(`/api/runners/${runnerId}/runs`, { input });
  expect(run.status).toBe(201);
  return waitFor(
    () => ctx.api.get(`/api/runners/${runnerId}/runs/${run.body.id}`),
    (r) => ['completed', 'failed', 'cancelled'].includes(r.body.status),
    90_000,
  );
}

type Msg = { role: string; content?: unknown; tool_call_id?: string; name?: string };
const toolMessages = (body: Record<string, unknown>): Msg[] =>
  ((body.messages as Msg[]) ?? []).filter((m) => m.role === 'tool');

describe('a tool loop (OpenAI-compatible provider)', () => {
  it('calls MCP tools over stdio and HTTP, an HTTP tool, SQL (a write refused), knowledge and the plan', async () => {
    const token = `loop-${crypto.randomUUID()}`;
    const runnerId = await created(
      await ctx.api.post('/api/runners', { name: `loop ${token}`, defaultModel: 'gpt-5.4' }),
    );
    const stdio = await created(
      await ctx.api.post('/api/mcp-servers', {
        slug: `local-${token.slice(5, 13)}`,
        transport: 'stdio',
        command: MCP_STDIO_FIXTURE.command,
        args: [...MCP_STDIO_FIXTURE.args],
        env: { LOOP_SECRET: 'stdio-secret-value-9876543210' },
      }),
    );
    const remote = await created(
      await ctx.api.post('/api/mcp-servers', {
        slug: `remote-${token.slice(5, 13)}`,
        transport: 'http',
        url: mcpHttp.url,
        headers: { Authorization: 'Bearer loop-mcp-token-0123456789' },
      }),
    );
    const tool = await created(
      await ctx.api.post('/api/tools', {
        name: `open_ticket_${token.slice(5, 13)}`,
        parameters: { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] },
        url: `${hooks.url}/tickets`,
        headers: { 'X-Api-Key': 'http-tool-secret-1234567890' },
      }),
    );
    const integ = await created(
      await ctx.api.post('/api/integrations', {
        name: `Shop ${token.slice(5, 13)}`,
        kind: 'postgres',
        connectionString: integrationUrl(),
      }),
    );
    for (const [kind, field, id] of [
      ['mcps', 'mcpServerId', stdio],
      ['mcps', 'mcpServerId', remote],
      ['tools', 'toolId', tool],
      ['integrations', 'integrationId', integ],
    ] as const) {
      expect((await ctx.api.post(`/api/runners/${runnerId}/${kind}`, { [field]: id })).status).toBe(201);
    }
    expect((await ctx.api.put(`/api/runners/${runnerId}/plan-config`, { enabled: true })).status).toBe(200);
    expect(
      (await ctx.api.put(`/api/runners/${runnerId}/web-config`, { enabled: true, searchEnabled: true })).status,
    ).toBe(200);
    const doc = await ctx.api
      .post('/api/knowledge/upload')
      .field('scopeType', 'runner')
      .field('scopeId', runnerId)
      .field('title', 'Waffle iron manual')
      .attach('file', Buffer.from('A waffle iron must preheat for eight minutes before the first waffle.'), {
        filename: 'manual.txt',
        contentType: 'text/plain',
      });
    expect(doc.status).toBe(201);
    await created(
      await ctx.api.post(`/api/runners/${runnerId}/steps`, {
        name: 'support',
        kind: 'agent',
        orderIndex: 0,
        preambleOverride: `You answer support questions. (${token})`,
      }),
    );

    const slug = (s: string) => `${s}-${token.slice(5, 13)}`;
    const sqlName = `sql_shop_${token.slice(5, 13)}`;
    const ticketName = `open_ticket_${token.slice(5, 13)}`;
    const plan = [
      { text: 'Check the manual', status: 'done' },
      { text: 'Answer the customer', status: 'doing' },
    ];
    await openai.script(token, [
      {
        toolCalls: [
          { name: `${slug('local')}__add`, arguments: { a: 2, b: 3 } },
          { name: `${slug('local')}__get_env`, arguments: { name: 'LOOP_SECRET' } },
          { name: `${slug('remote')}__whoami`, arguments: {} },
        ],
      },
      {
        toolCalls: [
          { name: ticketName, arguments: { title: 'Preheat question' } },
          { name: sqlName, arguments: { query: 'SELECT count(*)::int AS n FROM products' } },
          { name: sqlName, arguments: { query: 'DELETE FROM products' } },
        ],
      },
      {
        toolCalls: [
          { name: 'update_plan', arguments: { items: plan } },
          { name: 'search_knowledge', arguments: { query: 'preheat' } },
          { name: 'web_search', arguments: { query: 'waffles' } },
        ],
      },
      { text: 'Preheat the iron for eight minutes.' },
    ]);

    const done = await runToEnd(runnerId, { question: 'How long should the waffle iron preheat?' });
    expect(done.body.status).toBe('completed');
    expect(JSON.stringify(done.body.output)).toContain('Preheat the iron for eight minutes.');

    const reqs = await openai.requestsFor(token);
    expect(reqs).toHaveLength(4);
    // Before the first call: the knowledge chunk with its source, and the tools offered.
    const first = reqs[0]!.body;
    const system = JSON.stringify(first.messages);
    expect(system).toContain('Waffle iron manual');
    expect(system).toContain('preheat for eight minutes');
    const offered = ((first.tools as { function: { name: string } }[]) ?? []).map((t) => t.function.name);
    expect(offered).toEqual(
      expect.arrayContaining([
        `${slug('local')}__add`,
        `${slug('remote')}__whoami`,
        ticketName,
        sqlName,
        'search_knowledge',
        'update_plan',
      ]),
    );
    expect(offered).not.toContain('web_search');
    expect(JSON.stringify(first)).not.toMatch(/stdio-secret-value|loop-mcp-token|http-tool-secret/);

    // The tool results the model got back (each request carries the whole conversation: take the new ones).
    const r1 = toolMessages(reqs[1]!.body).map((m) => String(m.content));
    expect(r1).toHaveLength(3);
    expect(r1[0]).toBe('5');
    expect(r1[1]).toBe('stdio-secret-value-9876543210');
    expect(JSON.parse(r1[2]!)).toEqual({ authorization: true });
    const r2 = toolMessages(reqs[2]!.body)
      .slice(3)
      .map((m) => String(m.content));
    expect(JSON.parse(r2[0]!)).toEqual({ ticket: 'T-42', received: { title: 'Preheat question' } });
    expect(JSON.parse(r2[1]!)).toMatchObject({ rows: [{ n: 12 }] });
    expect(r2[2]).toMatch(/read-only/);
    const r3 = toolMessages(reqs[3]!.body)
      .slice(6)
      .map((m) => String(m.content));
    expect(r3[0]).toContain('Plan saved (1/2 done)');
    expect(r3[1]).toContain('Waffle iron manual');
    expect(r3[2]).toMatch(/web_search/);
    expect(r3[2]).toMatch(/Unknown tool|not offered/);

    // The HTTP tool got its decrypted header; the integration was not written to.
    expect(hooks.requests.find((r) => r.url === '/tickets')?.headers['x-api-key']).toBe('http-tool-secret-1234567890');
    const check = new PgClient({ connectionString: integrationUrl() });
    await check.connect();
    expect((await check.query('SELECT count(*)::int AS n FROM products')).rows[0].n).toBe(12);
    await check.end();

    // The step's record: notes (web tools absent), the plan, knowledge sources, tools offered.
    const step = done.body.steps[0];
    expect(step.details.notes).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Web tools not offered: .*no web search provider/)]),
    );
    expect(step.details.plan).toEqual(plan);
    expect(step.details.knowledgeSources).toEqual([expect.objectContaining({ title: 'Waffle iron manual' })]);
    expect(step.details.tools).toEqual(expect.arrayContaining([sqlName, 'update_plan']));
    expect(step.details.toolCalls).toBe(9);
    expect(step.details.modelCalls).toBe(4);
  });
});

describe('a tool loop (Anthropic provider)', () => {
  it('calls an MCP tool over Streamable HTTP and an MCP tool error comes back as a tool result', async () => {
    const token = `loop-a-${crypto.randomUUID()}`;
    const runnerId = await created(
      await ctx.api.post('/api/runners', { name: `anthropic ${token}`, defaultModel: 'claude-sonnet-4-6' }),
    );
    const remote = await created(
      await ctx.api.post('/api/mcp-servers', {
        slug: `tools-${token.slice(7, 15)}`,
        transport: 'http',
        url: mcpHttp.url,
        headers: { Authorization: 'Bearer loop-mcp-token-0123456789' },
      }),
    );
    expect((await ctx.api.post(`/api/runners/${runnerId}/mcps`, { mcpServerId: remote })).status).toBe(201);
    await created(
      await ctx.api.post(`/api/runners/${runnerId}/steps`, {
        name: 'calc',
        kind: 'agent',
        orderIndex: 0,
        preambleOverride: token,
      }),
    );
    const name = (t: string) => `tools-${token.slice(7, 15)}__${t}`;
    await anthropic.script(token, [
      {
        toolCalls: [
          { name: name('add'), arguments: { a: 20, b: 22 } },
          { name: name('fail'), arguments: { message: 'boom' } },
        ],
      },
      { text: 'The answer is 42.' },
    ]);
    const done = await runToEnd(runnerId, { a: 20, b: 22 });
    expect(done.body.status).toBe('completed');
    const reqs = await anthropic.requestsFor(token);
    expect(reqs).toHaveLength(2);
    const results = ((reqs[1]!.body.messages as { role: string; content: unknown }[]) ?? [])
      .flatMap((m) => (Array.isArray(m.content) ? m.content : []))
      .filter((b: { type?: string }) => b.type === 'tool_result') as { content: unknown; is_error?: boolean }[];
    expect(results).toHaveLength(2);
    expect(JSON.stringify(results[0]!.content)).toContain('42');
    expect(results[1]!.is_error).toBe(true);
    expect(JSON.stringify(results[1]!.content)).toContain('boom');
  });
});

describe('reflectOnFailure end to end', () => {
  it('appends one lesson to learnedInstructions after a failed run, booked in the ledger', async () => {
    const token = `reflect-${crypto.randomUUID()}`;
    const runnerId = await created(
      await ctx.api.post('/api/runners', {
        name: `orders ${token}`,
        defaultModel: 'gpt-5.4',
        reflectOnFailure: true,
        learnedInstructions: 'Be brief.',
      }),
    );
    await created(
      await ctx.api.post(`/api/runners/${runnerId}/steps`, {
        name: 'lookup',
        kind: 'webhook',
        orderIndex: 0,
        webhookUrl: `${hooks.url}/broken`,
      }),
    );
    await openai.script(token, [{ text: 'Lesson: Confirm the order exists before the lookup webhook.' }]);
    const done = await runToEnd(runnerId, { orderId: 404 });
    expect(done.body.status).toBe('failed');
    const runner = await waitFor(
      () => ctx.api.get(`/api/runners/${runnerId}`),
      (r) => r.body.learnedInstructions !== 'Be brief.',
      30_000,
    );
    expect(runner.body.learnedInstructions).toBe(
      `Be brief.\n\n${LESSONS_HEADER}\n- Confirm the order exists before the lookup webhook.`,
    );
    const ledger = await withOrg(ctx.db, ctx.orgA, (tx) => tx.modelCall.findMany({ where: { runId: done.body.id } }));
    expect(ledger.map((l) => [l.stepName, l.model])).toEqual([['(reflect on failure)', 'gpt-5.4']]);
    // The run keeps its own failure.
    const again = await ctx.api.get(`/api/runners/${runnerId}/runs/${done.body.id}`);
    expect(again.body.error).toMatchObject({ code: 'webhook_http_error', step: 'lookup' });
    expect(await openai.requestsFor(token)).toHaveLength(1);
  });
});
