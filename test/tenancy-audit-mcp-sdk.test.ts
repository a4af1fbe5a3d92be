import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { FlapjackApiError, FlapjackClient, NotFoundError } from '../sdk/src/index';
import { echoStep, MARK, seed, snapshot, type Org } from './fixtures/tenancy-seed';
import { useTestContext } from './harness';

/**
 * Tenancy audit of the two other doors into an org: every MCP tool (`POST /mcp`, the list the server
 * itself announces) and every method of the SDK's FlapjackClient (its prototype), called with org B's
 * key and org A's ids. The answer is a 404 (`not_found`) or a list without A's objects, never the
 * object, and A's state is unchanged afterwards. A tool or method missing from the tables below fails
 * the test until someone writes down how it is audited.
 */

const ctx = useTestContext();

/** denied: 404 not_found; refused: another 4xx; list: answered without A's objects; own: acts on B's own data. */
type Expect = 'denied' | 'refused' | 'list' | 'own';
interface Case {
  /** MCP: the tool's arguments. SDK: the method's arguments. */
  args: unknown;
  expect: Expect;
}
type Plan = (a: Org, b: Org) => Case[];
const deny = (args: unknown): Case => ({ args, expect: 'denied' });

/* --------------------------------------------------------------------------------------------- MCP */

const intruderStep = { ...echoStep, name: 'intruder' };
const MCP: Record<string, Plan> = {
  flapjack_list_runners: () => [{ args: {}, expect: 'list' }],
  flapjack_create_runner: () => [{ args: { name: 'b-own-mcp' }, expect: 'own' }],
  flapjack_get_runner: (a) => [deny({ runnerId: a.ids.runner })],
  flapjack_update_runner: (a) => [deny({ runnerId: a.ids.runner, name: 'hijacked' })],
  flapjack_delete_runner: (a) => [deny({ runnerId: a.ids.runner })],
  flapjack_list_runner_steps: (a) => [deny({ runnerId: a.ids.runner })],
  flapjack_add_runner_step: (a) => [deny({ runnerId: a.ids.runner, ...intruderStep })],
  flapjack_update_runner_step: (a, b) => [
    deny({ runnerId: a.ids.runner, stepId: a.ids.step, name: 'hijacked' }),
    deny({ runnerId: b.ids.runner, stepId: a.ids.step, name: 'hijacked' }),
  ],
  flapjack_remove_runner_step: (a, b) => [
    deny({ runnerId: a.ids.runner, stepId: a.ids.step }),
    deny({ runnerId: b.ids.runner, stepId: a.ids.step }),
  ],
  flapjack_trigger_run: (a) => [deny({ runnerId: a.ids.runner, input: {} })],
  flapjack_trigger_run_bulk: (a) => [deny({ runnerId: a.ids.runner, items: [{ input: {} }] })],
  flapjack_list_runs: (a) => [deny({ runnerId: a.ids.runner })],
  flapjack_get_run: (a, b) => [
    deny({ runnerId: a.ids.runner, runId: a.ids.run }),
    deny({ runnerId: b.ids.runner, runId: a.ids.run }),
  ],
  flapjack_cancel_run: (a, b) => [
    deny({ runnerId: a.ids.runner, runId: a.ids.run }),
    deny({ runnerId: b.ids.runner, runId: a.ids.run }),
  ],
  flapjack_resume_run: (a, b) => [
    deny({ runnerId: a.ids.runner, runId: a.ids.run }),
    deny({ runnerId: b.ids.runner, runId: a.ids.run }),
  ],
  flapjack_get_runs_status: (a, b) => [
    deny({ runnerId: a.ids.runner, ids: [a.ids.run] }),
    { args: { runnerId: b.ids.runner, ids: [a.ids.run] }, expect: 'list' },
  ],
  flapjack_add_runner_trigger: (a) => [deny({ runnerId: a.ids.runner, kind: 'webhook' })],
  flapjack_list_runner_triggers: (a) => [deny({ runnerId: a.ids.runner })],
  flapjack_get_runner_trigger: (a, b) => [
    deny({ runnerId: a.ids.runner, triggerId: a.ids.trigger }),
    deny({ runnerId: b.ids.runner, triggerId: a.ids.cron }),
  ],
  flapjack_update_runner_trigger: (a, b) => [
    deny({ runnerId: a.ids.runner, triggerId: a.ids.cron, enabled: false }),
    deny({ runnerId: b.ids.runner, triggerId: a.ids.cron, enabled: false }),
  ],
  flapjack_remove_runner_trigger: (a, b) => [
    deny({ runnerId: a.ids.runner, triggerId: a.ids.trigger }),
    deny({ runnerId: b.ids.runner, triggerId: a.ids.trigger }),
  ],
  flapjack_get_runner_analytics: (a) => [deny({ runnerId: a.ids.runner })],
  flapjack_get_analytics: () => [{ args: {}, expect: 'own' }],
  flapjack_upload_knowledge: (a) => [
    deny({
      scopeType: 'runner',
      scopeId: a.ids.runner,
      title: 'intruder',
      filename: 'x.txt',
      content: 'intruder text',
    }),
  ],
  flapjack_search_knowledge: (a) => [
    { args: { q: `${MARK} refunds` }, expect: 'list' },
    deny({ q: `${MARK} refunds`, runnerId: a.ids.runner }),
  ],
  flapjack_list_knowledge: (a) => [
    { args: {}, expect: 'list' },
    { args: { scopeType: 'runner', scopeId: a.ids.runner }, expect: 'list' },
  ],
  flapjack_get_knowledge: (a) => [deny({ docId: a.ids.kb })],
  flapjack_delete_knowledge: (a) => [deny({ docId: a.ids.kb })],
};
const MCP_ATTACH: Record<string, [string, string]> = {
  mcp: ['mcpServerId', 'mcp'],
  integration: ['integrationId', 'integ'],
  tool: ['toolId', 'tool'],
  skill: ['skillId', 'skill'],
};
for (const [one, [field, key]] of Object.entries(MCP_ATTACH)) {
  MCP[`flapjack_list_runner_${one}s`] = (a) => [deny({ runnerId: a.ids.runner })];
  for (const verb of ['attach', 'detach']) {
    MCP[`flapjack_${verb}_runner_${one}`] = (a, b) => [
      deny({ runnerId: a.ids.runner, [field]: b.ids[key] }),
      deny({ runnerId: b.ids.runner, [field]: a.ids[key] }),
    ];
  }
}
for (const cfg of ['web_config', 'plan_config', 'budget']) {
  MCP[`flapjack_get_runner_${cfg}`] = (a) => [deny({ runnerId: a.ids.runner })];
  MCP[`flapjack_update_runner_${cfg}`] = (a) => [
    deny(
      cfg === 'budget'
        ? { runnerId: a.ids.runner, enabled: false, budgetUsd: 1, onExceed: 'pause' }
        : { runnerId: a.ids.runner, enabled: false },
    ),
  ];
}
const MCP_RESOURCES: Record<
  string,
  { plural: string; idArg: string; key: string; create: unknown; patch: Record<string, unknown> }
> = {
  agent: {
    plural: 'agents',
    idArg: 'agentId',
    key: 'agent',
    create: { name: 'b-agent-mcp' },
    patch: { name: 'hijacked' },
  },
  mcp_server: {
    plural: 'mcp_servers',
    idArg: 'mcpServerId',
    key: 'mcp',
    create: { slug: 'b-srv-mcp', transport: 'http', url: 'https://mcp.example.com/mcp' },
    patch: { name: 'hijacked' },
  },
  integration: {
    plural: 'integrations',
    idArg: 'integrationId',
    key: 'integ',
    create: { name: 'b-db-mcp', kind: 'postgres', connectionString: 'postgres://h/db' },
    patch: { name: 'hijacked' },
  },
  tool: {
    plural: 'tools',
    idArg: 'toolId',
    key: 'tool',
    create: { name: 'b_tool_mcp', url: 'https://api.example.com' },
    patch: { name: 'hijacked' },
  },
  skill: {
    plural: 'skills',
    idArg: 'skillId',
    key: 'skill',
    create: { name: 'b-skill-mcp', instructions: 'x' },
    patch: { name: 'hijacked' },
  },
};
for (const [one, r] of Object.entries(MCP_RESOURCES)) {
  MCP[`flapjack_list_${r.plural}`] = () => [{ args: {}, expect: 'list' }];
  MCP[`flapjack_create_${one}`] = () => [{ args: r.create, expect: 'own' }];
  MCP[`flapjack_get_${one}`] = (a) => [deny({ [r.idArg]: a.ids[r.key] })];
  MCP[`flapjack_update_${one}`] = (a) => [deny({ [r.idArg]: a.ids[r.key], ...r.patch })];
  MCP[`flapjack_delete_${one}`] = (a) => [deny({ [r.idArg]: a.ids[r.key] })];
}

/* --------------------------------------------------------------------------------------------- SDK */

const SDK: Record<string, Plan> = {
  health: () => [{ args: [], expect: 'own' }],
  info: () => [{ args: [], expect: 'own' }],
  createRunner: () => [{ args: [{ name: 'b-own-sdk' }], expect: 'own' }],
  getRunner: (a) => [deny([a.ids.runner])],
  listRunners: () => [{ args: [], expect: 'list' }],
  updateRunner: (a) => [deny([a.ids.runner, { name: 'hijacked' }])],
  deleteRunner: (a) => [deny([a.ids.runner])],
  addRunnerStep: (a) => [deny([a.ids.runner, intruderStep])],
  listRunnerSteps: (a) => [deny([a.ids.runner])],
  updateRunnerStep: (a, b) => [
    deny([a.ids.runner, a.ids.step, { name: 'hijacked' }]),
    deny([b.ids.runner, a.ids.step, { name: 'hijacked' }]),
  ],
  removeRunnerStep: (a, b) => [deny([a.ids.runner, a.ids.step]), deny([b.ids.runner, a.ids.step])],
  addRunnerTrigger: (a) => [deny([a.ids.runner, { kind: 'webhook' }])],
  updateRunnerTrigger: (a, b) => [
    deny([a.ids.runner, a.ids.cron, { enabled: false }]),
    deny([b.ids.runner, a.ids.cron, { enabled: false }]),
  ],
  removeRunnerTrigger: (a, b) => [deny([a.ids.runner, a.ids.trigger]), deny([b.ids.runner, a.ids.trigger])],
  listRunnerTriggers: (a) => [deny([a.ids.runner])],
  getRunnerTrigger: (a, b) => [deny([a.ids.runner, a.ids.trigger]), deny([b.ids.runner, a.ids.cron])],
  // The token is the credential: A's ids in its place start nothing.
  deliverWebhook: (a) => [
    deny([a.ids.trigger, { x: 1 }]),
    deny([a.ids.runner, { x: 1 }]),
    deny([`${a.ids.token!.slice(0, -2)}xx`, { x: 1 }]),
  ],
  getButtonPage: (a) => [deny([a.ids.runner])],
  getButtonEmbedScript: (a) => [deny([a.ids.runner])],
  startButtonRun: (a) => [{ args: [a.ids.runner, { input: {} }], expect: 'refused' }],
  getButtonRunStatus: (a) => [{ args: [a.ids.runner, a.ids.run, 'not-the-status-token'], expect: 'refused' }],
  triggerRun: (a) => [deny([a.ids.runner, { input: {} }])],
  triggerRunBulk: (a) => [deny([a.ids.runner, { items: [{ input: {} }] }])],
  getRunsStatus: (a, b) => [deny([a.ids.runner, [a.ids.run]]), { args: [b.ids.runner, [a.ids.run]], expect: 'list' }],
  getRun: (a, b) => [deny([a.ids.runner, a.ids.run]), deny([b.ids.runner, a.ids.run])],
  listRuns: (a) => [deny([a.ids.runner])],
  cancelRun: (a, b) => [deny([a.ids.runner, a.ids.run]), deny([b.ids.runner, a.ids.run])],
  resumeRun: (a, b) => [deny([a.ids.runner, a.ids.run]), deny([b.ids.runner, a.ids.run])],
  waitForRun: (a, b) => [
    deny([a.ids.runner, a.ids.run, { timeoutMs: 5_000 }]),
    deny([b.ids.runner, a.ids.run, { timeoutMs: 5_000 }]),
  ],
  getRunnerAnalytics: (a) => [deny([a.ids.runner])],
  getAnalytics: () => [{ args: [], expect: 'own' }],
  getRunnerWebConfig: (a) => [deny([a.ids.runner])],
  updateRunnerWebConfig: (a) => [deny([a.ids.runner, { enabled: false }])],
  getRunnerPlanConfig: (a) => [deny([a.ids.runner])],
  updateRunnerPlanConfig: (a) => [deny([a.ids.runner, { enabled: false }])],
  getRunnerBudget: (a) => [deny([a.ids.runner])],
  updateRunnerBudget: (a) => [deny([a.ids.runner, { enabled: false, budgetUsd: 1, onExceed: 'pause' }])],
  uploadKnowledge: (a) => [
    deny([
      {
        scopeType: 'runner',
        scopeId: a.ids.runner,
        title: 'intruder',
        file: new Blob(['intruder text'], { type: 'text/plain' }),
        filename: 'x.txt',
      },
    ]),
  ],
  listKnowledge: (a) => [
    { args: [], expect: 'list' },
    { args: [{ scopeType: 'runner', scopeId: a.ids.runner }], expect: 'list' },
  ],
  getKnowledge: (a) => [deny([a.ids.kb])],
  deleteKnowledge: (a) => [deny([a.ids.kb])],
  searchKnowledge: () => [{ args: [{ q: `${MARK} refunds` }], expect: 'list' }],
};
const SDK_ATTACH: Record<string, string> = { Mcp: 'mcp', Integration: 'integ', Tool: 'tool', Skill: 'skill' };
for (const [Kind, key] of Object.entries(SDK_ATTACH)) {
  SDK[`listRunner${Kind}s`] = (a) => [deny([a.ids.runner])];
  for (const verb of ['attach', 'detach']) {
    SDK[`${verb}Runner${Kind}`] = (a, b) => [deny([a.ids.runner, b.ids[key]]), deny([b.ids.runner, a.ids[key]])];
  }
}
const SDK_RESOURCES: Record<string, { key: string; create: unknown }> = {
  Agent: { key: 'agent', create: { name: 'b-agent-sdk' } },
  McpServer: { key: 'mcp', create: { slug: 'b-srv-sdk', transport: 'http', url: 'https://mcp.example.com/mcp' } },
  Integration: { key: 'integ', create: { name: 'b-db-sdk', kind: 'postgres', connectionString: 'postgres://h/db' } },
  Tool: { key: 'tool', create: { name: 'b_tool_sdk', url: 'https://api.example.com' } },
  Skill: { key: 'skill', create: { name: 'b-skill-sdk', instructions: 'x' } },
};
for (const [Kind, r] of Object.entries(SDK_RESOURCES)) {
  SDK[`create${Kind}`] = () => [{ args: [r.create], expect: 'own' }];
  SDK[`list${Kind}s`] = () => [{ args: [], expect: 'list' }];
  SDK[`get${Kind}`] = (a) => [deny([a.ids[r.key]])];
  SDK[`update${Kind}`] = (a) => [deny([a.ids[r.key], { name: 'hijacked' }])];
  SDK[`delete${Kind}`] = (a) => [deny([a.ids[r.key]])];
}

/* ----------------------------------------------------------------------------------------- checks */

let A: Org;
let B: Org;
let server: Server;
let baseUrl = '';

beforeAll(async () => {
  A = await seed(ctx, ctx.keyA, 'a');
  B = await seed(ctx, ctx.keyB, 'b');
  server = createServer(ctx.app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 300_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

/** What in an answer would betray A: its ids (outside a 404 for an id that was asked about) or its markers. */
function leaks(text: string, asked: unknown, notFound: boolean): string[] {
  const askedText = JSON.stringify(asked ?? '');
  const ids = Object.entries(A.ids).filter(
    ([k, v]) => k !== 'token' && text.includes(v) && !(notFound && askedText.includes(v)),
  );
  const marks = [`${MARK}-runner-a`, `${MARK}-agent-a`, '(a).'].filter((m) => text.includes(m));
  return [...ids.map(([k]) => k), ...marks];
}

/** TypeScript-private helpers of FlapjackClient (on the prototype at run time, not callable by users). */
const SDK_PRIVATE = new Set(['constructor', 'req', 'list', 'attach', 'detach']);

/** The public methods of FlapjackClient: its prototype's functions (getters excluded) minus the private helpers. */
function sdkMethods(): string[] {
  const proto = FlapjackClient.prototype;
  return Object.getOwnPropertyNames(proto).filter(
    (n) => !SDK_PRIVATE.has(n) && typeof Object.getOwnPropertyDescriptor(proto, n)?.value === 'function',
  );
}

describe('tenancy audit over every MCP tool', () => {
  let mcp: Client;
  let tools: string[] = [];

  beforeAll(async () => {
    mcp = new Client({ name: 'tenancy-audit', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${B.key}` } },
      }),
    );
    tools = (await mcp.listTools()).tools.map((t) => t.name);
  });
  afterAll(() => mcp?.close());

  it('knows how to audit every tool the server announces', () => {
    expect(tools.length).toBeGreaterThan(60);
    expect(tools.filter((t) => !(t in MCP))).toEqual([]);
    expect(Object.keys(MCP).filter((t) => !tools.includes(t))).toEqual([]);
  });

  it("never shows or changes org A's objects when called with org B's key", async () => {
    const before = await snapshot(ctx, A);
    const failures: string[] = [];
    let calls = 0;
    for (const name of tools) {
      for (const c of (MCP[name] ?? (() => []))(A, B)) {
        calls++;
        const res = await mcp.callTool({ name, arguments: c.args as Record<string, unknown> });
        const text = JSON.stringify(res.content);
        let error: { status?: number; code?: string } | undefined;
        if (res.isError) {
          const first = (res.content as { type: string; text?: string }[])[0];
          error = (JSON.parse(first?.text ?? '{}') as { error?: { status?: number; code?: string } }).error;
        }
        const where = `${name} ${JSON.stringify(c.args).slice(0, 160)}: ${res.isError ? `${error?.status} ${error?.code}` : 'ok'}`;
        const leaked = leaks(JSON.stringify([res.content, res.structuredContent]), c.args, error?.status === 404);
        if (leaked.length) failures.push(`${where} leaks ${leaked.join(',')}`);
        if ((error?.status ?? 0) >= 500) failures.push(`${where} (server error)`);
        if (c.expect === 'denied' && (error?.status !== 404 || error.code !== 'not_found'))
          failures.push(`${where} (expected not_found) ${text.slice(0, 200)}`);
        if (c.expect === 'refused' && !(error && (error.status ?? 0) >= 400 && (error.status ?? 0) < 500))
          failures.push(`${where} (expected a 4xx)`);
        if ((c.expect === 'list' || c.expect === 'own') && res.isError)
          failures.push(`${where} (expected an answer) ${text.slice(0, 200)}`);
        if (c.expect === 'list' && !Array.isArray((res.structuredContent as { data?: unknown } | undefined)?.data))
          failures.push(`${where} (expected a list)`);
      }
    }
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(tools.length);
    expect(await snapshot(ctx, A)).toEqual(before);
    const runs = await ctx.as(A.key).get(`/api/runners/${A.ids.runner}/runs`);
    expect(runs.body.data).toHaveLength(1);
  }, 300_000);
});

describe('tenancy audit over every SDK method', () => {
  let fj: FlapjackClient;
  beforeAll(() => {
    // No retries: a refused call must fail at once, not be tried again.
    fj = new FlapjackClient({ apiKey: B.key, baseUrl, maxRetries: 0 });
  });

  it('knows how to audit every public method of FlapjackClient', () => {
    const methods = sdkMethods();
    expect(methods.length).toBeGreaterThan(60);
    expect(methods.filter((m) => !(m in SDK))).toEqual([]);
    expect(Object.keys(SDK).filter((m) => !methods.includes(m))).toEqual([]);
  });

  it("never shows or changes org A's objects when called with org B's key", async () => {
    const before = await snapshot(ctx, A);
    const failures: string[] = [];
    let calls = 0;
    const methods = fj as unknown as Record<string, (...args: unknown[]) => PromiseLike<unknown>>;
    for (const name of sdkMethods()) {
      for (const c of (SDK[name] ?? (() => []))(A, B)) {
        calls++;
        const args = c.args as unknown[];
        let value: unknown;
        let error: unknown;
        try {
          value = await methods[name]!.apply(fj, args);
        } catch (e) {
          error = e;
        }
        const apiError = error instanceof FlapjackApiError ? error : undefined;
        const status = apiError?.status;
        const where = `${name}(${JSON.stringify(args).slice(0, 160)}): ${error ? `${status ?? String(error)}` : 'ok'}`;
        const shown = apiError
          ? JSON.stringify({ message: apiError.message, details: apiError.details })
          : JSON.stringify(value ?? null);
        const leaked = leaks(shown ?? '', args, status === 404);
        if (leaked.length) failures.push(`${where} leaks ${leaked.join(',')}`);
        if (error !== undefined && !apiError) failures.push(`${where} (not an API error: ${String(error)})`);
        if ((status ?? 0) >= 500) failures.push(`${where} (server error)`);
        if (c.expect === 'denied' && !(error instanceof NotFoundError))
          failures.push(`${where} (expected NotFoundError)`);
        if (c.expect === 'refused' && !(status !== undefined && status >= 400 && status < 500))
          failures.push(`${where} (expected a 4xx)`);
        if ((c.expect === 'list' || c.expect === 'own') && error !== undefined)
          failures.push(`${where} (expected an answer)`);
        if (c.expect === 'list' && !Array.isArray((value as { data?: unknown } | undefined)?.data))
          failures.push(`${where} (expected a page)`);
      }
    }
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(sdkMethods().length);
    expect(await snapshot(ctx, A)).toEqual(before);
    const runs = await ctx.as(A.key).get(`/api/runners/${A.ids.runner}/runs`);
    expect(runs.body.data).toHaveLength(1);
  }, 300_000);
});
