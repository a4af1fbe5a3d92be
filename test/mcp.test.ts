import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connectFakeLlm } from './fixtures/fake-llm';
import { startWebhookServer } from './fixtures/webhook-server';
import { useTestContext, waitFor } from './harness';
import { withOrg } from '../src/db/scoped';
import { hashApiKey } from '../src/services/api-keys';

/**
 * The MCP server through the MCP SDK's own client, over Streamable HTTP (`/mcp` on the API) and over
 * stdio (`npm run mcp`'s entry spawned as a child process, bridging to that API): every tool is called
 * at least once on each transport, plus a foreign org's ids, bad arguments and bad keys.
 */

const ctx = useTestContext();
const REPO = path.join(__dirname, '..');

/** The 26 tools the spec lists by name. */
const SPEC_TOOLS = [
  'flapjack_list_runners',
  'flapjack_create_runner',
  'flapjack_get_runner',
  'flapjack_update_runner',
  'flapjack_delete_runner',
  'flapjack_add_runner_step',
  'flapjack_update_runner_step',
  'flapjack_remove_runner_step',
  'flapjack_add_runner_trigger',
  'flapjack_update_runner_trigger',
  'flapjack_remove_runner_trigger',
  'flapjack_trigger_run',
  'flapjack_trigger_run_bulk',
  'flapjack_list_runs',
  'flapjack_get_run',
  'flapjack_cancel_run',
  'flapjack_list_runner_mcps',
  'flapjack_attach_runner_mcp',
  'flapjack_detach_runner_mcp',
  'flapjack_list_runner_integrations',
  'flapjack_attach_runner_integration',
  'flapjack_detach_runner_integration',
  'flapjack_get_runner_web_config',
  'flapjack_update_runner_web_config',
  'flapjack_get_runner_plan_config',
  'flapjack_update_runner_plan_config',
];

let api: Server;
let baseUrl = '';
let hooks: Awaited<ReturnType<typeof startWebhookServer>>;

beforeAll(async () => {
  api = createServer(ctx.app);
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  hooks = await startWebhookServer({
    '/slow': async (_req, res) => {
      // Unref'd: a cancelled run leaves this answer pending, and it must not keep the test process alive.
      await new Promise((r) => setTimeout(r, 20_000).unref());
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    },
  });
});

afterAll(async () => {
  await hooks.close();
  api.closeAllConnections();
  await new Promise((r) => api.close(r));
});

type Transport = 'http' | 'stdio';

/** The API key recorded as the principal of a run (`runner_runs.api_key_id`). */
const startedBy = async (runId: string) =>
  (await withOrg(ctx.db, ctx.orgA, (tx) => tx.runnerRun.findUnique({ where: { id: runId } })))?.apiKeyId ?? null;
const keyIdOf = async (key: string) =>
  (await withOrg(ctx.db, ctx.orgA, (tx) => tx.apiKey.findFirst({ where: { secretHash: hashApiKey(key) } })))?.id;

async function connect(transport: Transport, key: string): Promise<Client> {
  const client = new Client({ name: 'flapjack-test', version: '1.0.0' });
  if (transport === 'http') {
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${key}` } },
      }),
    );
  } else {
    await client.connect(
      new StdioClientTransport({
        command: path.join(REPO, 'node_modules', '.bin', 'tsx'),
        args: [path.join(REPO, 'src', 'bin', 'mcp-stdio.ts')],
        cwd: REPO,
        env: {
          ...(process.env as Record<string, string>),
          FLAPJACK_BASE_URL: baseUrl,
          FLAPJACK_API_KEY: key,
          LOG_LEVEL: 'silent',
        },
        stderr: 'pipe',
      }),
    );
  }
  return client;
}

interface ToolError {
  error: { code: string; message: string; status: number; details?: { path: string; message: string }[] };
}

describe.each<Transport>(['http', 'stdio'])('MCP over %s', (transport) => {
  let mcp: Client;
  let foreign: Client;
  let toolNames: string[] = [];
  const called = new Set<string>();

  /** Calls a tool that must succeed; returns its structured content (checked against its output schema by the client). */
  async function ok<T = Record<string, unknown>>(
    name: string,
    args: Record<string, unknown> = {},
    client = mcp,
  ): Promise<T> {
    called.add(name);
    const r = await client.callTool({ name, arguments: args });
    if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
    const text = (r.content as { type: string; text: string }[])[0]?.text ?? '';
    expect(JSON.parse(text)).toEqual(r.structuredContent);
    return r.structuredContent as T;
  }
  /** Calls a tool that must fail; returns the error result's text (and parsed API error when there is one). */
  async function fails(
    name: string,
    args: Record<string, unknown>,
    client = mcp,
  ): Promise<{ text: string; api?: ToolError['error'] }> {
    called.add(name);
    const r = await client.callTool({ name, arguments: args });
    expect(r.isError).toBe(true);
    const text = (r.content as { type: string; text: string }[])[0]?.text ?? '';
    try {
      return { text, api: (JSON.parse(text) as ToolError).error };
    } catch {
      return { text };
    }
  }

  beforeAll(async () => {
    mcp = await connect(transport, ctx.keyA);
    foreign = await connect(transport, ctx.keyB);
  }, 60_000);
  afterAll(async () => {
    await mcp?.close();
    await foreign?.close();
  });

  it('lists every tool with a description that has an example, and input and output schemas', async () => {
    const { tools } = await mcp.listTools();
    toolNames = tools.map((t) => t.name);
    expect(toolNames).toEqual(expect.arrayContaining(SPEC_TOOLS));
    for (const extra of [
      'flapjack_get_runner_budget',
      'flapjack_update_runner_budget',
      'flapjack_upload_knowledge',
      'flapjack_search_knowledge',
      'flapjack_list_runner_tools',
      'flapjack_attach_runner_skill',
      'flapjack_create_agent',
      'flapjack_list_mcp_servers',
      'flapjack_list_runner_triggers',
      'flapjack_get_runner_trigger',
      'flapjack_get_runs_status',
      'flapjack_resume_run',
      'flapjack_get_runner_analytics',
      'flapjack_get_analytics',
    ]) {
      expect(toolNames).toContain(extra);
    }
    for (const t of tools) {
      expect(t.description).toMatch(/Example: \{/);
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
    }
  });

  it('runner, step and run tools: create, read, update, run to completion, idempotency, pagination, cancel, delete', async () => {
    const runner = await ok<{ id: string; name: string }>('flapjack_create_runner', {
      name: `mcp ${transport}`,
      inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
    });
    expect((await ok<{ id: string }>('flapjack_get_runner', { runnerId: runner.id })).id).toBe(runner.id);
    expect(await ok('flapjack_update_runner', { runnerId: runner.id, description: 'doubles n' })).toMatchObject({
      description: 'doubles n',
    });

    const step = await ok<{ id: string }>('flapjack_add_runner_step', {
      runnerId: runner.id,
      name: 'double',
      kind: 'computer',
      orderIndex: 0,
      inputMapping: { n: '$.input.n' },
      computer: { runtime: 'javascript', code: 'return { n: input.n * 2 };' },
    });
    const extra = await ok<{ id: string }>('flapjack_add_runner_step', {
      runnerId: runner.id,
      name: 'extra',
      kind: 'computer',
      orderIndex: 1,
      computer: { runtime: 'javascript', code: 'return 1;' },
    });
    expect(
      await ok('flapjack_update_runner_step', { runnerId: runner.id, stepId: extra.id, orderIndex: 5 }),
    ).toMatchObject({ orderIndex: 5 });
    expect(await ok('flapjack_remove_runner_step', { runnerId: runner.id, stepId: extra.id })).toEqual({
      deleted: true,
      id: extra.id,
    });
    const steps = await ok<{ data: { id: string }[] }>('flapjack_list_runner_steps', { runnerId: runner.id });
    expect(steps.data.map((s) => s.id)).toEqual([step.id]);

    const run = await ok<{ id: string; status: string }>('flapjack_trigger_run', {
      runnerId: runner.id,
      input: { n: 21 },
      idempotencyKey: 'same',
    });
    const again = await ok<{ id: string }>('flapjack_trigger_run', {
      runnerId: runner.id,
      input: { n: 21 },
      idempotencyKey: 'same',
    });
    expect(again.id).toBe(run.id);
    const done = await waitFor(
      () => ok<{ status: string; output: unknown }>('flapjack_get_run', { runnerId: runner.id, runId: run.id }),
      (r) => r.status !== 'pending' && r.status !== 'running',
      120_000,
      250,
    );
    expect(done).toMatchObject({ status: 'completed', output: { n: 42 } });
    // Started by the key the MCP client authenticated with, as through REST (the ledger's principal).
    expect(await startedBy(run.id)).toEqual(await keyIdOf(ctx.keyA));
    const bad = await fails('flapjack_trigger_run', { runnerId: runner.id, input: { n: 'x' } });
    expect(bad.api).toMatchObject({ code: 'validation_failed', status: 422 });

    await ok('flapjack_trigger_run', { runnerId: runner.id, input: { n: 1 } });
    const page1 = await ok<{ data: { id: string }[]; nextCursor: string | null }>('flapjack_list_runs', {
      runnerId: runner.id,
      limit: 1,
    });
    expect(page1.data).toHaveLength(1);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = await ok<{ data: { id: string }[]; nextCursor: string | null }>('flapjack_list_runs', {
      runnerId: runner.id,
      limit: 1,
      cursor: page1.nextCursor,
    });
    expect(page2.data).toHaveLength(1);
    expect(page2.data[0]?.id).not.toBe(page1.data[0]?.id);
    const completed = await ok<{ data: { status: string }[] }>('flapjack_list_runs', {
      runnerId: runner.id,
      status: 'completed',
    });
    expect(completed.data.every((r) => r.status === 'completed')).toBe(true);
    const runners = await ok<{ data: unknown[] }>('flapjack_list_runners', { limit: 1 });
    expect(runners.data).toHaveLength(1);

    // cancel a run held by a slow webhook; a second cancel is a conflict
    const slow = await ok<{ id: string }>('flapjack_create_runner', { name: `slow ${transport}` });
    await ok('flapjack_add_runner_step', {
      runnerId: slow.id,
      name: 'wait',
      kind: 'webhook',
      orderIndex: 0,
      webhookUrl: hooks.url('/slow'),
    });
    const slowRun = await ok<{ id: string }>('flapjack_trigger_run', { runnerId: slow.id, input: {} });
    await waitFor(
      async () => hooks.requests.some((r) => r.headers['idempotency-key'] === `${slowRun.id}:wait`),
      Boolean,
      120_000,
    );
    expect(await ok('flapjack_cancel_run', { runnerId: slow.id, runId: slowRun.id })).toMatchObject({
      status: 'cancelled',
    });
    expect((await fails('flapjack_cancel_run', { runnerId: slow.id, runId: slowRun.id })).api).toMatchObject({
      code: 'conflict',
      status: 409,
    });

    // another org sees none of it: not found, never the object
    for (const [name, args] of [
      ['flapjack_get_runner', { runnerId: runner.id }],
      ['flapjack_get_run', { runnerId: runner.id, runId: run.id }],
      ['flapjack_trigger_run', { runnerId: runner.id, input: { n: 1 } }],
      ['flapjack_update_runner', { runnerId: runner.id, name: 'mine now' }],
      ['flapjack_delete_runner', { runnerId: runner.id }],
    ] as const) {
      expect((await fails(name, args, foreign)).api).toMatchObject({ code: 'not_found', status: 404 });
    }

    expect(await ok('flapjack_delete_runner', { runnerId: slow.id })).toEqual({ deleted: true, id: slow.id });
    expect((await fails('flapjack_get_runner', { runnerId: slow.id })).api?.code).toBe('not_found');
  }, 240_000);

  it('bad arguments are tool errors that name the argument', async () => {
    const notUuid = await fails('flapjack_get_runner', { runnerId: 'not-a-uuid' });
    expect(notUuid.text).toMatch(/runnerId/);
    const unknown = await fails('flapjack_create_runner', { name: 'x', colour: 'blue' });
    expect(unknown.text).toMatch(/colour/);
    const runner = await ok<{ id: string }>('flapjack_create_runner', { name: `args ${transport}` });
    const missing = await fails('flapjack_add_runner_step', {
      runnerId: runner.id,
      name: 'hook',
      kind: 'webhook',
      orderIndex: 0,
    });
    expect(missing.api).toMatchObject({ code: 'validation_failed', status: 422 });
    expect(missing.api?.details?.map((d) => d.path)).toContain('webhookUrl');
    const badPath = await fails('flapjack_add_runner_step', {
      runnerId: runner.id,
      name: 'cond',
      kind: 'condition',
      orderIndex: 0,
      conditionExpr: 'not a jsonpath',
    });
    expect(badPath.text).toMatch(/conditionExpr/);
    const badBudget = await fails('flapjack_update_runner_budget', {
      runnerId: runner.id,
      enabled: true,
      budgetUsd: -1,
    });
    expect(badBudget.text).toMatch(/budgetUsd/);
    await ok('flapjack_delete_runner', { runnerId: runner.id });
  }, 120_000);

  it('org resources and runner connections: CRUD, attach, list, detach, configs', async () => {
    const runner = await ok<{ id: string }>('flapjack_create_runner', { name: `connections ${transport}` });
    const made: Record<string, string> = {};
    const resources: [string, string, Record<string, unknown>, Record<string, unknown>][] = [
      [
        'agent',
        'agentId',
        { name: `agent ${transport}`, preamble: 'You help.', model: 'gpt-4o-mini' },
        { model: 'gpt-4o' },
      ],
      [
        'mcp_server',
        'mcpServerId',
        {
          slug: `srv-${transport}`,
          transport: 'http',
          url: 'https://mcp.example.com/mcp',
          headers: { Authorization: 'Bearer s3cr3t-value' },
        },
        { name: 'Renamed' },
      ],
      [
        'integration',
        'integrationId',
        {
          name: `db ${transport}`,
          kind: 'postgres',
          connectionString: 'postgres://reader:pw-secret@db.example.com/analytics',
        },
        { readOnly: true },
      ],
      [
        'tool',
        'toolId',
        { name: `lookup_${transport}`, url: 'https://api.example.com/sku', method: 'POST' },
        { description: 'Find a SKU' },
      ],
      [
        'skill',
        'skillId',
        { name: `skill ${transport}`, instructions: 'Round prices.' },
        { instructions: 'Round prices to .99' },
      ],
    ];
    for (const [one, idArg, create, update] of resources) {
      const r = await ok<{ id: string }>(`flapjack_create_${one}`, create);
      made[one] = r.id;
      expect((await ok<{ id: string }>(`flapjack_get_${one}`, { [idArg]: r.id })).id).toBe(r.id);
      expect(await ok(`flapjack_update_${one}`, { [idArg]: r.id, ...update })).toMatchObject(update);
      const plural = one === 'mcp_server' ? 'mcp_servers' : `${one}s`;
      const list = await ok<{ data: { id: string }[] }>(`flapjack_list_${plural}`, { limit: 200 });
      expect(list.data.map((x) => x.id)).toContain(r.id);
      expect((await fails(`flapjack_get_${one}`, { [idArg]: r.id }, foreign)).api?.code).toBe('not_found');
    }
    // secrets stay masked through MCP as over REST
    const srv = await ok<{ headers: Record<string, string> }>('flapjack_get_mcp_server', {
      mcpServerId: made.mcp_server,
    });
    expect(JSON.stringify(srv)).not.toContain('s3cr3t-value');

    const attach: [string, string, string][] = [
      ['mcp', 'mcps', 'mcp_server'],
      ['integration', 'integrations', 'integration'],
      ['tool', 'tools', 'tool'],
      ['skill', 'skills', 'skill'],
    ];
    const idField: Record<string, string> = {
      mcp: 'mcpServerId',
      integration: 'integrationId',
      tool: 'toolId',
      skill: 'skillId',
    };
    for (const [one, plural, resource] of attach) {
      const rid = made[resource] as string;
      const a = await ok(`flapjack_attach_runner_${one}`, { runnerId: runner.id, [idField[one] as string]: rid });
      expect(a).toMatchObject({ runnerId: runner.id, [idField[one] as string]: rid });
      await ok(`flapjack_attach_runner_${one}`, { runnerId: runner.id, [idField[one] as string]: rid });
      const list = await ok<{ data: unknown[] }>(`flapjack_list_runner_${plural}`, { runnerId: runner.id });
      expect(list.data).toHaveLength(1);
      // a foreign org can neither see the runner's attachments nor attach to it
      expect((await fails(`flapjack_list_runner_${plural}`, { runnerId: runner.id }, foreign)).api?.code).toBe(
        'not_found',
      );
      expect(
        (await fails(`flapjack_attach_runner_${one}`, { runnerId: runner.id, [idField[one] as string]: rid }, foreign))
          .api?.code,
      ).toBe('not_found');
      expect(await ok(`flapjack_detach_runner_${one}`, { runnerId: runner.id, [idField[one] as string]: rid })).toEqual(
        {
          deleted: true,
          id: rid,
        },
      );
      expect(
        (await ok<{ data: unknown[] }>(`flapjack_list_runner_${plural}`, { runnerId: runner.id })).data,
      ).toHaveLength(0);
    }

    expect(await ok('flapjack_get_runner_web_config', { runnerId: runner.id })).toMatchObject({ enabled: false });
    expect(
      await ok('flapjack_update_runner_web_config', { runnerId: runner.id, enabled: true, searchEnabled: true }),
    ).toMatchObject({
      enabled: true,
      searchEnabled: true,
    });
    expect(await ok('flapjack_get_runner_plan_config', { runnerId: runner.id })).toMatchObject({ enabled: false });
    expect(await ok('flapjack_update_runner_plan_config', { runnerId: runner.id, enabled: true })).toMatchObject({
      enabled: true,
    });
    expect(await ok('flapjack_get_runner_budget', { runnerId: runner.id })).toMatchObject({
      enabled: false,
      warningThreshold1: 0.8,
    });
    expect(
      await ok('flapjack_update_runner_budget', {
        runnerId: runner.id,
        enabled: true,
        budgetUsd: 5,
        onExceed: 'pause',
      }),
    ).toMatchObject({
      enabled: true,
      budgetUsd: 5,
      onExceed: 'pause',
    });
    expect((await fails('flapjack_get_runner_budget', { runnerId: runner.id }, foreign)).api?.code).toBe('not_found');

    for (const [one, idArg] of resources.map(([o, i]) => [o, i] as const)) {
      expect(await ok(`flapjack_delete_${one}`, { [idArg]: made[one] })).toEqual({ deleted: true, id: made[one] });
    }
    await ok('flapjack_delete_runner', { runnerId: runner.id });
  }, 240_000);

  it('knowledge: upload to a runner, search, list, get, delete', async () => {
    const runner = await ok<{ id: string }>('flapjack_create_runner', { name: `knowledge ${transport}` });
    const doc = await ok<{ id: string; chunks: number; scopeId: string }>('flapjack_upload_knowledge', {
      scopeType: 'runner',
      scopeId: runner.id,
      title: 'Returns',
      filename: 'returns.md',
      content: '# Returns\n\nElectronics can be returned within 30 days with the original receipt.',
    });
    expect(doc).toMatchObject({ scopeId: runner.id });
    expect(doc.chunks).toBeGreaterThan(0);
    const hits = await ok<{ data: { docId: string; content: string }[] }>('flapjack_search_knowledge', {
      q: 'electronics returned',
      runnerId: runner.id,
    });
    expect(hits.data[0]?.docId).toBe(doc.id);
    const list = await ok<{ data: { id: string }[] }>('flapjack_list_knowledge', {
      scopeType: 'runner',
      scopeId: runner.id,
    });
    expect(list.data.map((d) => d.id)).toEqual([doc.id]);
    expect(await ok('flapjack_get_knowledge', { docId: doc.id })).toMatchObject({ id: doc.id, title: 'Returns' });
    expect((await fails('flapjack_get_knowledge', { docId: doc.id }, foreign)).api?.code).toBe('not_found');
    expect(
      (
        await fails(
          'flapjack_upload_knowledge',
          { scopeType: 'runner', scopeId: runner.id, filename: 'x.txt', content: 'x' },
          foreign,
        )
      ).api?.code,
    ).toBe('not_found');
    expect((await fails('flapjack_upload_knowledge', { scopeType: 'org', filename: 'x.txt' })).api?.code).toBe(
      'validation_failed',
    );
    expect(await ok('flapjack_delete_knowledge', { docId: doc.id })).toEqual({ deleted: true, id: doc.id });
    await ok('flapjack_delete_runner', { runnerId: runner.id });
  }, 120_000);

  it('triggers, bulk runs, resume and analytics: the same services as REST', async () => {
    const runner = await ok<{ id: string }>('flapjack_create_runner', {
      name: `late ${transport}`,
      inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
    });
    await ok('flapjack_add_runner_step', {
      runnerId: runner.id,
      name: 'double',
      kind: 'computer',
      orderIndex: 0,
      inputMapping: { n: '$.input.n' },
      computer: { runtime: 'javascript', code: 'return { n: input.n * 2 };' },
    });

    // triggers: add (cron and webhook), list, get, update, remove
    const cron = await ok<{ id: string; kind: string; cronExpression: string; nextFireTimes: string[] }>(
      'flapjack_add_runner_trigger',
      {
        runnerId: runner.id,
        kind: 'cron',
        cronExpression: '0 9 * * 1',
        cronTimezone: 'Europe/Paris',
        input: { n: 1 },
      },
    );
    expect(cron).toMatchObject({ kind: 'cron', cronExpression: '0 9 * * 1', cronTimezone: 'Europe/Paris' });
    const hook = await ok<{ id: string; token: string; url: string }>('flapjack_add_runner_trigger', {
      runnerId: runner.id,
      kind: 'webhook',
    });
    expect(hook.url).toContain(hook.token);
    const got = await ok<{ id: string; nextFireTimes: string[] }>('flapjack_get_runner_trigger', {
      runnerId: runner.id,
      triggerId: cron.id,
    });
    expect(got.id).toBe(cron.id);
    expect(got.nextFireTimes).toHaveLength(5);
    const listed = await ok<{ data: { id: string; token?: string }[] }>('flapjack_list_runner_triggers', {
      runnerId: runner.id,
    });
    expect(listed.data.map((t) => t.id).sort()).toEqual([cron.id, hook.id].sort());
    expect(listed.data.find((t) => t.id === hook.id)?.token).toBeUndefined();
    expect(
      await ok('flapjack_update_runner_trigger', { runnerId: runner.id, triggerId: cron.id, enabled: false }),
    ).toMatchObject({
      id: cron.id,
      enabled: false,
    });
    const badCron = await fails('flapjack_add_runner_trigger', {
      runnerId: runner.id,
      kind: 'cron',
      cronExpression: 'every tuesday',
    });
    expect(badCron.text).toMatch(/cronExpression/);
    const noCron = await fails('flapjack_add_runner_trigger', { runnerId: runner.id, kind: 'cron' });
    expect(noCron.api).toMatchObject({ code: 'validation_failed', status: 422 });
    expect(noCron.api?.details?.map((d) => d.path)).toContain('cronExpression');
    const wrongKind = await fails('flapjack_update_runner_trigger', {
      runnerId: runner.id,
      triggerId: hook.id,
      cronExpression: '0 9 * * 1',
    });
    expect(wrongKind.text).toMatch(/cronExpression/);
    expect(
      (await fails('flapjack_get_runner_trigger', { runnerId: runner.id, triggerId: cron.id }, foreign)).api?.code,
    ).toBe('not_found');
    expect(
      (await fails('flapjack_add_runner_trigger', { runnerId: runner.id, kind: 'webhook' }, foreign)).api?.code,
    ).toBe('not_found');
    expect(
      (await fails('flapjack_remove_runner_trigger', { runnerId: runner.id, triggerId: hook.id }, foreign)).api?.code,
    ).toBe('not_found');
    expect(await ok('flapjack_remove_runner_trigger', { runnerId: runner.id, triggerId: cron.id })).toEqual({
      deleted: true,
      id: cron.id,
    });
    expect(await ok('flapjack_remove_runner_trigger', { runnerId: runner.id, triggerId: hook.id })).toEqual({
      deleted: true,
      id: hook.id,
    });
    expect((await ok<{ data: unknown[] }>('flapjack_list_runner_triggers', { runnerId: runner.id })).data).toHaveLength(
      0,
    );

    // bulk: valid items start runs, an invalid one is listed by index, a used key gives its run
    const bulk = await ok<{
      data: { id: string; idempotencyKey: string | null }[];
      created: number;
      existing: number;
      invalid: { index: number }[];
    }>('flapjack_trigger_run_bulk', {
      runnerId: runner.id,
      items: [{ input: { n: 1 }, idempotencyKey: 'b1' }, { input: { n: 'x' } }, { input: { n: 3 } }],
    });
    expect(bulk).toMatchObject({ created: 2, existing: 0 });
    expect(bulk.invalid.map((i) => i.index)).toEqual([1]);
    for (const r of bulk.data) expect(await startedBy(r.id)).toEqual(await keyIdOf(ctx.keyA));
    const again = await ok<{ data: { id: string }[]; created: number; existing: number }>('flapjack_trigger_run_bulk', {
      runnerId: runner.id,
      items: [{ input: { n: 1 }, idempotencyKey: 'b1' }],
    });
    expect(again).toMatchObject({ created: 0, existing: 1 });
    expect(again.data[0]?.id).toBe(bulk.data[0]?.id);
    const ids = bulk.data.map((r) => r.id);
    const settled = await waitFor(
      () => ok<{ data: { id: string; status: string }[] }>('flapjack_get_runs_status', { runnerId: runner.id, ids }),
      (r) => r.data.length === 2 && r.data.every((x) => x.status === 'completed'),
      120_000,
      250,
    );
    expect(settled.data.map((r) => r.id)).toEqual(ids);
    expect((await fails('flapjack_trigger_run_bulk', { runnerId: runner.id, items: [] })).text).toMatch(/items/);
    expect(
      (await fails('flapjack_trigger_run_bulk', { runnerId: runner.id, items: [{ input: { n: 1 } }] }, foreign)).api
        ?.code,
    ).toBe('not_found');

    // resume: only a run paused on its budget can resume (a completed one is a conflict)
    const resumed = await fails('flapjack_resume_run', { runnerId: runner.id, runId: ids[0], additionalBudgetUsd: 1 });
    expect(resumed.api).toMatchObject({ code: 'conflict', status: 409 });
    expect((await fails('flapjack_resume_run', { runnerId: runner.id, runId: ids[0] }, foreign)).api?.code).toBe(
      'not_found',
    );
    expect(
      (await fails('flapjack_resume_run', { runnerId: runner.id, runId: ids[0], additionalBudgetUsd: 'lots' })).text,
    ).toMatch(/additionalBudgetUsd/);

    // analytics: the runs just made are counted today
    const ra = await ok<{ runner: { id: string }; period: string; summary: { total_runs: number }; daily: unknown[] }>(
      'flapjack_get_runner_analytics',
      { runnerId: runner.id, period: '7d' },
    );
    expect(ra).toMatchObject({ runner: { id: runner.id }, period: '7d' });
    expect(ra.summary.total_runs).toBe(2);
    expect(ra.daily).toHaveLength(7);
    const oa = await ok<{ period: string; summary: { total_runs: number } }>('flapjack_get_analytics', {});
    expect(oa.period).toBe('30d');
    expect(oa.summary.total_runs).toBeGreaterThanOrEqual(2);
    expect((await fails('flapjack_get_analytics', { period: '1y' })).text).toMatch(/period/);
    expect((await fails('flapjack_get_runner_analytics', { runnerId: runner.id }, foreign)).api?.code).toBe(
      'not_found',
    );

    await ok('flapjack_delete_runner', { runnerId: runner.id });
  }, 240_000);

  it('resumes a run really paused on its budget: it completes with one model call', async () => {
    // The test stack's worker calls the scripted OpenAI-compatible server; the token routes this step's calls.
    const openai = connectFakeLlm(ctx.env.fakeOpenAiOrigin, '/v1');
    const token = `tok-${randomUUID()}`;
    await openai.script(token, [{ text: 'resumed', usage: { inputTokens: 1000, outputTokens: 100 } }]);
    const runner = await ok<{ id: string }>('flapjack_create_runner', {
      name: `budget ${transport}`,
      defaultModel: 'gpt-5.4',
    });
    await ok('flapjack_add_runner_step', {
      runnerId: runner.id,
      name: 'think',
      kind: 'agent',
      orderIndex: 0,
      preambleOverride: `Answer briefly. ${token}`,
    });
    // Far below one call's worst case: the run pauses before its first call.
    await ok('flapjack_update_runner_budget', {
      runnerId: runner.id,
      enabled: true,
      budgetUsd: 0.000001,
      onExceed: 'pause',
    });
    const run = await ok<{ id: string }>('flapjack_trigger_run', { runnerId: runner.id, input: { q: 'hi' } });
    type RunView = { status: string; budgetUsd: number; output: unknown; events: { type: string }[] };
    const getRun = () => ok<RunView>('flapjack_get_run', { runnerId: runner.id, runId: run.id });
    const paused = await waitFor(getRun, (r) => r.status === 'paused_budget', 120_000, 250);
    expect(paused.events.map((e) => e.type)).toEqual(['budget_paused']);
    expect(await openai.requestsFor(token)).toHaveLength(0);
    expect((await fails('flapjack_resume_run', { runnerId: runner.id, runId: run.id }, foreign)).api?.code).toBe(
      'not_found',
    );

    const resumed = await ok<RunView>('flapjack_resume_run', {
      runnerId: runner.id,
      runId: run.id,
      additionalBudgetUsd: 1,
    });
    expect(['running', 'completed']).toContain(resumed.status);
    expect(resumed.budgetUsd).toBeCloseTo(1.000001, 8);
    const done = await waitFor(getRun, (r) => r.status === 'completed', 120_000, 250);
    expect(done.output).toEqual({ text: 'resumed' });
    expect(done.events.map((e) => e.type)).toEqual(['budget_paused', 'budget_resumed']);
    expect(await openai.requestsFor(token)).toHaveLength(1);
    expect((await fails('flapjack_resume_run', { runnerId: runner.id, runId: run.id })).api).toMatchObject({
      code: 'conflict',
      status: 409,
    });
    await ok('flapjack_delete_runner', { runnerId: runner.id });
  }, 240_000);

  it('every listed tool was called at least once', () => {
    expect(toolNames.filter((n) => !called.has(n))).toEqual([]);
  });
});

describe('MCP authentication', () => {
  it('Streamable HTTP without a key or with a wrong key is refused with 401', async () => {
    for (const headers of [{}, { Authorization: 'Bearer fj_live_not-a-real-key-aaaaaaaaaaaaaaaa' }] as Record<
      string,
      string
    >[]) {
      const res = await fetch(`${baseUrl}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    const get = await fetch(`${baseUrl}/mcp`, { headers: { Authorization: `Bearer ${ctx.keyA}` } });
    expect(get.status).toBe(405);
  });

  it('the stdio server with a wrong key fails the handshake with a clear message', async () => {
    await expect(connect('stdio', 'fj_live_not-a-real-key-aaaaaaaaaaaaaaaa')).rejects.toThrow(
      /refused FLAPJACK_API_KEY \(401\)/,
    );
  }, 30_000);
});
