/**
 * The agent's tools on the real stack, below the loop: `buildToolset` / `executeTool` / `knowledgeContext`
 * against a real MCP server (stdio and Streamable HTTP), a real HTTP endpoint, a real PostgreSQL
 * integration, real knowledge documents, and the plan and web tools. The configs are built the way a run
 * snapshot carries them: connection definitions with their secrets as ciphertext read from the database.
 * (The loop driving them through a scripted model is covered in agent-tools-loop.test.ts.)
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client as PgClient } from 'pg';
import { dropDatabase, ensureDatabase } from '../src/db/migrate';
import { buildToolset, closeMcpConnections, executeTool, knowledgeContext } from '../src/agent/tools';
import { createSearxngProvider } from '../src/agent/tools/web';
import type { ToolContext, ToolsetDeps } from '../src/agent/tool-types';
import { withOrg } from '../src/db/scoped';
import { connectMcp } from '../src/mcp-client/client';
import { parseAllowlist } from '../src/net/address-rules';
import { createEgressGuard } from '../src/net/egress';
import { retrieveKnowledge } from '../src/services/knowledge';
import { resolveStepConfig, type ResolvedStepConfig, WEB_CONFIG_DISABLED } from '../src/shared/step-config';
import { MCP_STDIO_FIXTURE, startHttpTestServer, type HttpTestServer } from './fixtures/mcp-test-server';
import { useTestContext } from './harness';

const ctx = useTestContext();

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let mcpHttp: HttpTestServer;
let api: { server: Server; url: string; requests: Recorded[] };
let search: { server: Server; url: string };
let deps: ToolsetDeps;
let integrationDb: string;
const pgBase = () => new URL(ctx.env.databaseUrl);
/** The URL of the database playing the user's integration. */
const integrationUrl = () => {
  const u = pgBase();
  u.pathname = `/${integrationDb}`;
  return u.toString();
};

function startServer(handler: (r: Recorded, res: import('node:http').ServerResponse) => void) {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(r);
      handler(r, res);
    });
  });
  return new Promise<{ server: Server; url: string; requests: Recorded[] }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }),
    ),
  );
}

const toolCtx = (over: Partial<ToolContext> = {}): ToolContext => ({
  runId: over.runId ?? crypto.randomUUID(),
  orgId: ctx.orgA,
  runnerId: over.runnerId ?? crypto.randomUUID(),
  stepName: 'agent',
  stepInput: {},
  deps,
  tools: [],
  ...over,
});

/** The runner-level config of a runner, with ciphertexts, as a run snapshot carries it. */
async function configOf(runnerId: string, web = WEB_CONFIG_DISABLED, planEnabled = false): Promise<ResolvedStepConfig> {
  return withOrg(ctx.db, ctx.orgA, async (tx) => {
    const mcps = await tx.runnerMcp.findMany({
      where: { runnerId },
      include: { mcpServer: true },
      orderBy: { createdAt: 'asc' },
    });
    const ints = await tx.runnerIntegration.findMany({
      where: { runnerId },
      include: { integration: true },
      orderBy: { createdAt: 'asc' },
    });
    const tools = await tx.runnerTool.findMany({
      where: { runnerId },
      include: { tool: true },
      orderBy: { createdAt: 'asc' },
    });
    return resolveStepConfig({
      mcpServers: mcps.map(({ mcpServer: m }) => ({
        id: m.id,
        slug: m.slug,
        name: m.name,
        transport: m.transport as 'stdio' | 'http',
        command: m.command,
        args: (m.args as string[] | null) ?? null,
        url: m.url,
        envCiphertext: m.envEncrypted,
        headersCiphertext: m.headersEncrypted,
      })),
      integrations: ints.map(({ integration: i }) => ({
        id: i.id,
        name: i.name,
        kind: 'postgres' as const,
        readOnly: i.readOnly,
        allowedSchemas: i.allowedSchemas,
        connectionCiphertext: i.connectionEncrypted,
      })),
      tools: tools.map(({ tool: t }) => ({
        id: t.id,
        name: t.name,
        description: t.description,
        parameters: t.parameters as Record<string, unknown>,
        url: t.url,
        method: t.method,
        headersCiphertext: t.headersEncrypted,
      })),
      webConfig: web,
      planEnabled,
    });
  });
}

async function newRunner(): Promise<string> {
  const r = await ctx.api.post('/api/runners', { name: `tools-${crypto.randomUUID().slice(0, 8)}` });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

async function attach(runnerId: string, kind: 'mcps' | 'integrations' | 'tools', idField: string, id: string) {
  const r = await ctx.api.post(`/api/runners/${runnerId}/${kind}`, { [idField]: id });
  expect(r.status).toBe(201);
}

beforeAll(async () => {
  const guard = createEgressGuard(parseAllowlist('127.0.0.1'));
  deps = {
    db: ctx.db,
    log: ctx.services.log,
    secrets: ctx.services.secrets,
    guard,
    connectMcp,
    retrieveKnowledge: (orgId, runnerId, query, k) => retrieveKnowledge(ctx.services, orgId, runnerId, query, k),
    webSearch: null,
  };
  mcpHttp = await startHttpTestServer({ token: 'mcp-secret-token-1234567890' });
  api = await startServer((r, res) => {
    if (r.url.startsWith('/fail')) {
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'down for maintenance' }));
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ ok: true, method: r.method, url: r.url, body: r.body ? JSON.parse(r.body) : null }));
  });
  search = await startServer((r, res) => {
    const u = new URL(r.url, 'http://x');
    if (u.pathname === '/search') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          results: [
            { title: 'Waffle guide', url: `${search.url}/page/waffles`, content: `About ${u.searchParams.get('q')}` },
          ],
        }),
      );
      return;
    }
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<html><body><h1>Waffles</h1><p>Cook 4 minutes &amp; serve.</p></body></html>');
  });

  // A real PostgreSQL database playing the user's integration.
  integrationDb = `agent_tools_it_${Date.now()}_${process.pid}`;
  await ensureDatabase(integrationUrl());
  const c = new PgClient({ connectionString: integrationUrl() });
  await c.connect();
  await c.query(`CREATE SCHEMA shop; CREATE TABLE shop.products (id int PRIMARY KEY, name text, price numeric);
    INSERT INTO shop.products SELECT g, 'product ' || g, g * 1.5 FROM generate_series(1, 250) g;
    CREATE TABLE public.payroll (name text, salary int); INSERT INTO public.payroll VALUES ('ceo', 1000000);`);
  await c.end();
});

afterAll(async () => {
  if (deps) await closeMcpConnections(deps);
  await mcpHttp?.close();
  await new Promise((r) => api?.server.close(r));
  await new Promise((r) => search?.server.close(r));
  if (integrationDb) await dropDatabase(integrationUrl());
});

describe('MCP tools', () => {
  it('offers and calls the tools of a stdio server and a Streamable HTTP server, secrets decrypted only to connect', async () => {
    const runnerId = await newRunner();
    const stdio = await ctx.api.post('/api/mcp-servers', {
      slug: 'local',
      transport: 'stdio',
      command: MCP_STDIO_FIXTURE.command,
      args: [...MCP_STDIO_FIXTURE.args],
      env: { TOOL_SECRET: 'stdio-env-secret-value-42' },
    });
    expect(stdio.status).toBe(201);
    const remote = await ctx.api.post('/api/mcp-servers', {
      slug: 'remote-api',
      transport: 'http',
      url: mcpHttp.url,
      headers: { Authorization: 'Bearer mcp-secret-token-1234567890', 'X-Test-Tenant': 'acme' },
    });
    expect(remote.status).toBe(201);
    await attach(runnerId, 'mcps', 'mcpServerId', stdio.body.id);
    await attach(runnerId, 'mcps', 'mcpServerId', remote.body.id);
    const config = await configOf(runnerId);
    const runId = crypto.randomUUID();

    const set = await buildToolset(config, toolCtx({ runId, runnerId }));
    const names = set.tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'local__echo',
        'local__add',
        'local__get_env',
        'remote-api__whoami',
        'remote-api__echo',
        'search_knowledge',
      ]),
    );
    expect(names.every((n) => /^[a-zA-Z0-9_-]{1,64}$/.test(n))).toBe(true);
    expect(set.notes).toEqual([]);
    // No secret in the definitions (they travel in workflow history).
    expect(JSON.stringify(set)).not.toMatch(/stdio-env-secret|mcp-secret-token/);
    const add = set.tools.find((t) => t.name === 'local__add');
    expect(add?.source).toEqual({ kind: 'mcp', id: stdio.body.id, remoteName: 'add' });
    expect(add?.inputSchema).toMatchObject({
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
    });

    const tc = toolCtx({ runId, runnerId, tools: set.tools });
    await expect(executeTool({ name: 'local__add', arguments: { a: 2, b: 40 } }, config, tc)).resolves.toMatchObject({
      content: '42',
      isError: false,
    });
    await expect(
      executeTool({ name: 'local__get_env', arguments: { name: 'TOOL_SECRET' } }, config, tc),
    ).resolves.toMatchObject({
      content: 'stdio-env-secret-value-42',
      isError: false,
    });
    const who = await executeTool({ name: 'remote-api__whoami', arguments: {} }, config, tc);
    expect(who.isError).toBe(false);
    expect(JSON.parse(who.content)).toEqual({ authorization: true, 'x-test-tenant': 'acme' });
    // A tool's own failure is a tool result, not a thrown error.
    await expect(executeTool({ name: 'local__fail', arguments: { message: 'nope' } }, config, tc)).resolves.toEqual({
      content: 'nope',
      isError: true,
    });
    // Bad arguments are refused before reaching the server.
    const bad = await executeTool({ name: 'local__add', arguments: { a: 'two' } }, config, tc);
    expect(bad.isError).toBe(true);
    expect(bad.content).toMatch(/^Invalid arguments for "local__add": /);
    expect(bad.content).toContain('arguments.a must be number');
    expect(bad.content).toContain("arguments.b must have required property 'b'");
    await expect(executeTool({ name: 'nope__tool', arguments: {} }, config, tc)).resolves.toMatchObject({
      isError: true,
      content: expect.stringMatching(/Unknown tool/),
    });
  });

  it('leaves out a server it cannot reach, with a note, and answers its calls with an error result', async () => {
    const runnerId = await newRunner();
    const dead = await ctx.api.post('/api/mcp-servers', {
      slug: 'dead',
      transport: 'http',
      url: 'http://127.0.0.1:9/mcp',
    });
    await attach(runnerId, 'mcps', 'mcpServerId', dead.body.id);
    const config = await configOf(runnerId);
    const set = await buildToolset(config, toolCtx({ runnerId }));
    expect(set.tools.map((t) => t.name)).toEqual(['search_knowledge']);
    expect(set.notes).toEqual([expect.stringMatching(/^MCP server "dead" not offered: /)]);
    const fake = {
      name: 'dead__echo',
      description: '',
      inputSchema: { type: 'object' },
      source: { kind: 'mcp' as const, id: dead.body.id, remoteName: 'echo' },
    };
    const res = await executeTool({ name: 'dead__echo', arguments: {} }, config, toolCtx({ runnerId, tools: [fake] }));
    expect(res.isError).toBe(true);
    expect(res.content).toMatch(/MCP server "dead"/);
  });
});

describe('custom HTTP tools', () => {
  it('calls the tool through the egress guard with its decrypted headers; GET arguments in the query; errors as results', async () => {
    const runnerId = await newRunner();
    const post = await ctx.api.post('/api/tools', {
      name: 'create_ticket',
      description: 'Creates a ticket',
      parameters: { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] },
      url: `${api.url}/tickets`,
      headers: { Authorization: 'Bearer http-tool-secret-abcdef123456' },
    });
    expect(post.status).toBe(201);
    const get = await ctx.api.post('/api/tools', { name: 'lookup', url: `${api.url}/lookup?v=1`, method: 'GET' });
    const failing = await ctx.api.post('/api/tools', { name: 'flaky', url: `${api.url}/fail` });
    for (const t of [post, get, failing]) await attach(runnerId, 'tools', 'toolId', t.body.id);
    const config = await configOf(runnerId);
    const set = await buildToolset(config, toolCtx({ runnerId }));
    expect(set.tools.slice(0, 3).map((t) => [t.name, t.source.kind])).toEqual([
      ['create_ticket', 'http'],
      ['lookup', 'http'],
      ['flaky', 'http'],
    ]);
    expect(JSON.stringify(set)).not.toContain('http-tool-secret');
    const tc = toolCtx({ runnerId, tools: set.tools });

    const created = await executeTool(
      { name: 'create_ticket', arguments: { title: 'Broken waffle iron' } },
      config,
      tc,
    );
    expect(created.isError).toBe(false);
    expect(JSON.parse(created.content)).toMatchObject({
      method: 'POST',
      url: '/tickets',
      body: { title: 'Broken waffle iron' },
    });
    const seen = api.requests.find((r) => r.url === '/tickets');
    expect(seen?.headers.authorization).toBe('Bearer http-tool-secret-abcdef123456');

    const looked = await executeTool({ name: 'lookup', arguments: { q: 'waffles', n: 3 } }, config, tc);
    expect(JSON.parse(looked.content)).toMatchObject({ method: 'GET', url: '/lookup?v=1&q=waffles&n=3', body: null });

    const failed = await executeTool({ name: 'flaky', arguments: {} }, config, tc);
    expect(failed.isError).toBe(true);
    expect(failed.content).toMatch(/answered HTTP 503/);
    expect(failed.content).toContain('down for maintenance');

    const missing = await executeTool({ name: 'create_ticket', arguments: {} }, config, tc);
    expect(missing).toMatchObject({ isError: true, content: expect.stringMatching(/arguments\.title/) });
  });

  it('refuses a private target that is not allowlisted (as a tool result)', async () => {
    const runnerId = await newRunner();
    const t = await ctx.api.post('/api/tools', { name: 'metadata', url: 'http://169.254.169.254/latest' });
    await attach(runnerId, 'tools', 'toolId', t.body.id);
    const config = await configOf(runnerId);
    const set = await buildToolset(config, toolCtx({ runnerId }));
    const res = await executeTool({ name: 'metadata', arguments: {} }, config, toolCtx({ runnerId, tools: set.tools }));
    expect(res.isError).toBe(true);
    expect(res.content).toMatch(/Egress to address 169\.254\.169\.254 refused/);
  });
});

describe('read-only SQL tools', () => {
  it('answers queries on the allowed schemas, caps rows, and refuses writes and other schemas', async () => {
    const runnerId = await newRunner();
    const integ = await ctx.api.post('/api/integrations', {
      name: 'Shop DB',
      kind: 'postgres',
      connectionString: integrationUrl(),
      allowedSchemas: ['shop'],
    });
    expect(integ.status).toBe(201);
    await attach(runnerId, 'integrations', 'integrationId', integ.body.id);
    const config = await configOf(runnerId);
    const set = await buildToolset(config, toolCtx({ runnerId }));
    const def = set.tools.find((t) => t.source.kind === 'sql');
    expect(def?.name).toBe('sql_shop_db');
    expect(def?.description).toMatch(/Only the schemas shop may be read; writes are refused/);
    const tc = toolCtx({ runnerId, tools: set.tools });
    const q = (query: string) => executeTool({ name: 'sql_shop_db', arguments: { query } }, config, tc);

    const one = await q('SELECT id, name, price FROM products WHERE id = 3');
    expect(one.isError).toBe(false);
    expect(JSON.parse(one.content)).toEqual({
      columns: ['id', 'name', 'price'],
      rows: [{ id: 3, name: 'product 3', price: '4.5' }],
      rowCount: 1,
      truncated: false,
    });

    const many = await q('SELECT id FROM shop.products ORDER BY id');
    expect(JSON.parse(many.content)).toMatchObject({ rowCount: 200, truncated: true });

    for (const write of [
      "INSERT INTO products VALUES (999, 'evil', 0)",
      'DELETE FROM products',
      'WITH gone AS (DELETE FROM products RETURNING id) SELECT count(*) FROM gone',
      'DROP TABLE products',
      'SELECT 1; DELETE FROM products',
    ]) {
      const r = await q(write);
      expect(r.isError).toBe(true);
      expect(r.content).toMatch(/read-only|Refused|multiple commands/);
    }
    const other = await q('SELECT * FROM public.payroll');
    expect(other).toMatchObject({
      isError: true,
      content: expect.stringMatching(/public\.payroll, outside the allowed schemas \(shop\)/),
    });

    // Nothing was written.
    const check = new PgClient({ connectionString: integrationUrl() });
    await check.connect();
    const { rows } = await check.query('SELECT count(*)::int AS n FROM shop.products');
    await check.end();
    expect(rows[0].n).toBe(250);
    // The connection string never reaches what the model or the history sees.
    expect(JSON.stringify(set)).not.toContain(integrationDb);
  });
});

describe('knowledge', () => {
  it('puts the top chunks for the step input in the context with their sources, and searches on demand', async () => {
    const runnerId = await newRunner();
    const otherRunner = await newRunner();
    const up = (scopeType: string, scopeId: string | undefined, title: string, text: string) => {
      const r = ctx.api.post('/api/knowledge/upload').field('scopeType', scopeType).field('title', title);
      if (scopeId) r.field('scopeId', scopeId);
      return r.attach('file', Buffer.from(text), { filename: `${title}.txt`, contentType: 'text/plain' });
    };
    expect(
      (await up('runner', runnerId, 'Waffle manual', 'Belgian waffles cook for four minutes at 190 degrees.')).status,
    ).toBe(201);
    expect(
      (await up('org', undefined, 'Company policy', 'Refunds for burnt waffles are granted within 30 days.')).status,
    ).toBe(201);
    expect(
      (await up('runner', otherRunner, 'Other runner doc', 'Waffles secret recipe of another runner.')).status,
    ).toBe(201);

    const config = await configOf(runnerId);
    const kc = await knowledgeContext(
      config,
      toolCtx({ runnerId, stepInput: { question: 'How long do Belgian waffles cook?' } }),
    );
    expect(kc.sources.map((s) => s.title)).toEqual(['Waffle manual', 'Company policy']);
    expect(kc.text).toMatch(/^Knowledge that may help/);
    expect(kc.text).toContain('[1] Waffle manual (runner knowledge');
    expect(kc.text).toContain('four minutes');
    expect(kc.text).not.toContain('another runner');

    const none = await knowledgeContext(config, toolCtx({ runnerId, stepInput: { q: 'zebra xylophone' } }));
    expect(none).toEqual({ text: '', sources: [] });

    const set = await buildToolset(config, toolCtx({ runnerId }));
    const found = await executeTool(
      { name: 'search_knowledge', arguments: { query: 'refunds' } },
      config,
      toolCtx({ runnerId, tools: set.tools }),
    );
    expect(found.isError).toBe(false);
    expect(found.content).toContain('Company policy');
    expect((found.data as { sources: { title: string }[] }).sources).toHaveLength(1);
  });
});

describe('web and plan tools', () => {
  it('does not offer web tools without a provider, and says so', async () => {
    const runnerId = await newRunner();
    const config = await configOf(runnerId, { enabled: true, searchEnabled: true, researchEnabled: true });
    const set = await buildToolset(config, toolCtx({ runnerId }));
    expect(set.tools.map((t) => t.name)).toEqual(['search_knowledge']);
    expect(set.notes).toEqual([
      expect.stringMatching(/^Web tools not offered: .*no web search provider is configured/),
    ]);
    const res = await executeTool(
      { name: 'web_search', arguments: { query: 'x' } },
      config,
      toolCtx({ runnerId, tools: set.tools }),
    );
    expect(res.isError).toBe(true);
  });

  it('offers web_search and web_research with a provider', async () => {
    const runnerId = await newRunner();
    const withWeb: ToolsetDeps = {
      ...deps,
      webSearch: createSearxngProvider({ baseUrl: search.url, guard: deps.guard }),
    };
    const config = await configOf(runnerId, { enabled: true, searchEnabled: true, researchEnabled: true });
    const set = await buildToolset(config, toolCtx({ runnerId, deps: withWeb }));
    expect(set.tools.map((t) => t.name)).toEqual(['search_knowledge', 'web_search', 'web_research']);
    expect(set.notes).toEqual([]);
    const tc = toolCtx({ runnerId, deps: withWeb, tools: set.tools });
    const s = await executeTool({ name: 'web_search', arguments: { query: 'waffle timing' } }, config, tc);
    expect(JSON.parse(s.content)).toEqual([
      { title: 'Waffle guide', url: `${search.url}/page/waffles`, snippet: 'About waffle timing' },
    ]);
    const r = await executeTool({ name: 'web_research', arguments: { question: 'waffles' } }, config, tc);
    expect(JSON.parse(r.content).sources[0]).toMatchObject({
      title: 'Waffle guide',
      text: 'Waffles\n Cook 4 minutes & serve.',
    });
  });

  it('keeps a checklist through update_plan', async () => {
    const runnerId = await newRunner();
    const off = await buildToolset(await configOf(runnerId), toolCtx({ runnerId }));
    expect(off.tools.map((t) => t.name)).not.toContain('update_plan');
    const config = await configOf(runnerId, WEB_CONFIG_DISABLED, true);
    const set = await buildToolset(config, toolCtx({ runnerId }));
    expect(set.tools.map((t) => t.name)).toContain('update_plan');
    const items = [
      { text: 'Look up the order', status: 'done' },
      { text: 'Draft the reply', status: 'doing' },
    ];
    const res = await executeTool(
      { name: 'update_plan', arguments: { items } },
      config,
      toolCtx({ runnerId, tools: set.tools }),
    );
    expect(res.isError).toBe(false);
    expect(res.recordPatch).toEqual({ plan: items });
    expect(res.content).toBe('Plan saved (1/2 done):\n- [x] Look up the order\n- [~] Draft the reply');
    const bad = await executeTool(
      { name: 'update_plan', arguments: { items: [{ text: 'x', status: 'maybe' }] } },
      config,
      toolCtx({ runnerId, tools: set.tools }),
    );
    expect(bad.isError).toBe(true);
  });
});
