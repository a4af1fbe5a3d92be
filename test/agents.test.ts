import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { withOrg } from '../src/db/scoped';
import { loadAgentStepContext } from '../src/services/agents';
import { loadRunnerStepContext } from '../src/services/connections';
import { resolveStepConfig } from '../src/shared/step-config';
import { createTestContext, type TestContext } from './harness';

/** /api/agents and the merge of an agent's connections with its runner's (stored data end to end). */

const missing = '00000000-0000-4000-8000-000000000000';
let ctx: TestContext;
const ids = { mcpGithub: '', mcpSlack: '', intA: '', intB: '', toolNotify: '', toolSearch: '' };
let foreignMcp = '';

beforeAll(async () => {
  ctx = await createTestContext();
  const post = async (path: string, body: unknown) => {
    const r = await ctx.api.post(path, body);
    expect(r.status).toBe(201);
    return r.body.id as string;
  };
  ids.mcpGithub = await post('/api/mcp-servers', { slug: 'github', transport: 'http', url: 'https://gh.example/mcp' });
  ids.mcpSlack = await post('/api/mcp-servers', { slug: 'slack', transport: 'http', url: 'https://slack.example/mcp' });
  ids.intA = await post('/api/integrations', { name: 'a', kind: 'postgres', connectionString: 'postgres://h/a' });
  ids.intB = await post('/api/integrations', { name: 'b', kind: 'postgres', connectionString: 'postgres://h/b' });
  ids.toolNotify = await post('/api/tools', { name: 'notify', url: 'https://n.example' });
  ids.toolSearch = await post('/api/tools', { name: 'search', url: 'https://s.example' });
  foreignMcp = (
    await ctx.as(ctx.keyB).post('/api/mcp-servers', { slug: 'x', transport: 'http', url: 'https://x.example' })
  ).body.id;
});
afterAll(async () => {
  await ctx?.client.connection.close().catch(() => undefined);
  await ctx?.db.$disconnect();
});

describe('/api/agents', () => {
  it('creates an agent with its own connections, keeping their order', async () => {
    const r = await ctx.api.post('/api/agents', {
      name: 'Researcher',
      description: 'Finds things',
      preamble: 'You are a careful researcher.',
      model: 'claude-sonnet-4-6',
      mcpServerIds: [ids.mcpSlack, ids.mcpGithub],
      integrationIds: [ids.intB],
      toolIds: [ids.toolSearch, ids.toolNotify],
      webConfig: { enabled: true, searchEnabled: true },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      name: 'Researcher',
      description: 'Finds things',
      preamble: 'You are a careful researcher.',
      model: 'claude-sonnet-4-6',
      mcpServerIds: [ids.mcpSlack, ids.mcpGithub],
      integrationIds: [ids.intB],
      toolIds: [ids.toolSearch, ids.toolNotify],
      webConfig: { enabled: true, searchEnabled: true, researchEnabled: false },
    });
    const g = await ctx.api.get(`/api/agents/${r.body.id}`);
    expect(g.body).toEqual(r.body);
  });

  it('applies defaults for a minimal agent', async () => {
    const r = await ctx.api.post('/api/agents', { name: 'Bare' });
    expect(r.body).toMatchObject({
      description: null,
      preamble: '',
      model: null,
      webConfig: null,
      mcpServerIds: [],
      integrationIds: [],
      toolIds: [],
    });
  });

  it('422s references that are not in the org, naming the field and index', async () => {
    const r = await ctx.api.post('/api/agents', {
      name: 'Bad refs',
      mcpServerIds: [ids.mcpGithub, foreignMcp],
      integrationIds: [missing],
      toolIds: [ids.mcpGithub],
    });
    expect(r.status).toBe(422);
    expect(r.body.error.details).toEqual([
      { path: 'mcpServerIds.1', message: 'no MCP server with this id exists in your org' },
      { path: 'integrationIds.0', message: 'no integration with this id exists in your org' },
      { path: 'toolIds.0', message: 'no tool with this id exists in your org' },
    ]);
    const list = await ctx.api.get('/api/agents?limit=200');
    expect(list.body.data.map((a: { name: string }) => a.name)).not.toContain('Bad refs');
  });

  it('422s bad fields, duplicates and unknown fields', async () => {
    const cases: [unknown, string][] = [
      [{}, 'name'],
      [{ name: '  ' }, 'name'],
      [{ name: 'x', mcpServerIds: ['nope'] }, 'mcpServerIds.0'],
      [{ name: 'x', toolIds: [ids.toolNotify, ids.toolNotify] }, 'toolIds'],
      [{ name: 'x', webConfig: { searchEnabled: true } }, 'webConfig.enabled'],
      [{ name: 'x', webConfig: { enabled: true, deep: true } }, 'webConfig.deep'],
      [{ name: 'x', temperature: 0.2 }, 'temperature'],
    ];
    for (const [body, path] of cases) {
      const r = await ctx.api.post('/api/agents', body);
      expect(r.status).toBe(422);
      expect(r.body.error.details[0].path).toBe(path);
    }
  });

  it('updates fields and replaces id lists; an omitted list is left alone', async () => {
    const c = await ctx.api.post('/api/agents', {
      name: 'Upd',
      mcpServerIds: [ids.mcpGithub],
      toolIds: [ids.toolNotify],
    });
    const u = await ctx.api.patch(`/api/agents/${c.body.id}`, {
      model: 'gpt-5.4',
      mcpServerIds: [ids.mcpSlack],
      webConfig: null,
    });
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({
      model: 'gpt-5.4',
      mcpServerIds: [ids.mcpSlack],
      toolIds: [ids.toolNotify],
      webConfig: null,
    });
    const cleared = await ctx.api.patch(`/api/agents/${c.body.id}`, { toolIds: [] });
    expect(cleared.body.toolIds).toEqual([]);
    const bad = await ctx.api.patch(`/api/agents/${c.body.id}`, { integrationIds: [missing] });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].path).toBe('integrationIds.0');
  });

  it('lists with pagination and isolates orgs', async () => {
    const p1 = await ctx.api.get('/api/agents?limit=1');
    expect(p1.body.data).toHaveLength(1);
    expect(p1.body.data[0]).toHaveProperty('mcpServerIds');
    const p2 = await ctx.api.get(`/api/agents?limit=1&cursor=${p1.body.nextCursor}`);
    expect(p2.body.data[0].id).not.toBe(p1.body.data[0].id);
    const b = ctx.as(ctx.keyB);
    expect((await b.get('/api/agents')).body.data).toEqual([]);
    const id = p1.body.data[0].id;
    expect((await b.get(`/api/agents/${id}`)).status).toBe(404);
    expect((await b.patch(`/api/agents/${id}`, { name: 'x' })).status).toBe(404);
    expect((await b.delete(`/api/agents/${id}`)).status).toBe(404);
    expect((await ctx.api.get(`/api/agents/${missing}`)).status).toBe(404);
    expect((await ctx.api.get('/api/agents/123')).status).toBe(404);
  });

  it('refuses to delete an agent a live step uses (409), deletes it once unused', async () => {
    const a = await ctx.api.post('/api/agents', { name: 'InUse' });
    const runner = await ctx.api.post('/api/runners', { name: 'uses agent' });
    const step = await ctx.api.post(`/api/runners/${runner.body.id}/steps`, {
      name: 'think',
      kind: 'agent',
      orderIndex: 0,
      agentId: a.body.id,
    });
    expect(step.status).toBe(201);
    const blocked = await ctx.api.delete(`/api/agents/${a.body.id}`);
    expect(blocked.status).toBe(409);
    expect(blocked.body.error.message).toContain('"think"');
    expect((await ctx.api.delete(`/api/runners/${runner.body.id}`)).status).toBe(204);
    expect((await ctx.api.delete(`/api/agents/${a.body.id}`)).status).toBe(204);
    expect((await ctx.api.get(`/api/agents/${a.body.id}`)).status).toBe(404);
  });

  it('drops a deleted MCP server from the agent', async () => {
    const m = await ctx.api.post('/api/mcp-servers', { slug: 'temp', transport: 'http', url: 'https://t.example' });
    const a = await ctx.api.post('/api/agents', { name: 'Temp user', mcpServerIds: [m.body.id, ids.mcpGithub] });
    await ctx.api.delete(`/api/mcp-servers/${m.body.id}`);
    expect((await ctx.api.get(`/api/agents/${a.body.id}`)).body.mcpServerIds).toEqual([ids.mcpGithub]);
  });
});

describe('the merge on stored data', () => {
  it("combines a runner's connections with an agent's exactly as the spec's table says", async () => {
    const runner = await ctx.api.post('/api/runners', {
      name: 'merge',
      learnedInstructions: 'Always cite sources.',
      defaultModel: 'runner-default',
    });
    const rid = runner.body.id as string;
    for (const [path, body] of [
      ['mcps', { mcpServerId: ids.mcpGithub }],
      ['integrations', { integrationId: ids.intA }],
      ['integrations', { integrationId: ids.intB }],
      ['tools', { toolId: ids.toolNotify }],
    ] as const) {
      expect((await ctx.api.post(`/api/runners/${rid}/${path}`, body)).status).toBe(201);
    }
    await ctx.api.put(`/api/runners/${rid}/web-config`, { enabled: true, searchEnabled: true, researchEnabled: false });
    await ctx.api.put(`/api/runners/${rid}/plan-config`, { enabled: true });
    const agent = await ctx.api.post('/api/agents', {
      name: 'Merger',
      preamble: 'You are the merger.',
      model: 'agent-model',
      // github is on both sides (one entry results); slack only on the agent's.
      mcpServerIds: [ids.mcpSlack, ids.mcpGithub],
      integrationIds: [ids.intB],
      toolIds: [ids.toolSearch, ids.toolNotify],
      webConfig: { enabled: true, researchEnabled: true },
    });

    const { runnerCtx, agentCtx } = await withOrg(ctx.db, ctx.orgA, async (tx) => ({
      runnerCtx: await loadRunnerStepContext(tx, rid),
      agentCtx: await loadAgentStepContext(tx, agent.body.id),
    }));
    expect(runnerCtx.mcpServers?.map((m) => m.slug)).toEqual(['github']);
    expect(runnerCtx.planEnabled).toBe(true);
    expect(agentCtx?.mcpServers?.map((m) => m.slug)).toEqual(['slack', 'github']);

    const inline = resolveStepConfig(runnerCtx, null, { preambleOverride: 'Summarise.' });
    expect(inline).toMatchObject({
      agentId: null,
      preamble: 'Always cite sources.\n\nSummarise.',
      model: 'runner-default',
      webConfig: { enabled: true, searchEnabled: true, researchEnabled: false },
      planEnabled: true,
    });
    expect(inline.mcpServers.map((m) => m.slug)).toEqual(['github']);
    expect(inline.integrations.map((i) => i.id)).toEqual([ids.intA, ids.intB]);
    expect(inline.tools.map((t) => t.name)).toEqual(['notify']);

    const merged = resolveStepConfig(runnerCtx, agentCtx, {
      preambleOverride: 'Focus on prices.',
      modelOverride: null,
    });
    expect(merged.agentId).toBe(agent.body.id);
    expect(merged.preamble).toBe('Always cite sources.\n\nFocus on prices.\n\nYou are the merger.');
    expect(merged.model).toBe('agent-model');
    expect(merged.mcpServers.map((m) => m.slug)).toEqual(['github', 'slack']);
    expect(merged.integrations.map((i) => i.id)).toEqual([ids.intA, ids.intB]);
    expect(merged.tools.map((t) => t.name)).toEqual(['notify', 'search']);
    expect(merged.webConfig).toEqual({ enabled: true, searchEnabled: false, researchEnabled: true });
    expect(resolveStepConfig(runnerCtx, agentCtx, { modelOverride: 'step-model' }).model).toBe('step-model');

    // An agent whose web config is off leaves the runner's in force.
    await ctx.api.patch(`/api/agents/${agent.body.id}`, { webConfig: { enabled: false, researchEnabled: true } });
    const off = await withOrg(ctx.db, ctx.orgA, (tx) => loadAgentStepContext(tx, agent.body.id));
    expect(resolveStepConfig(runnerCtx, off).webConfig).toEqual({
      enabled: true,
      searchEnabled: true,
      researchEnabled: false,
    });
  });

  it('returns null for an agent of another org', async () => {
    const a = await ctx.api.post('/api/agents', { name: 'private' });
    expect(await withOrg(ctx.db, ctx.orgB, (tx) => loadAgentStepContext(tx, a.body.id))).toBeNull();
  });
});
