import { describe, expect, it } from '@jest/globals';
import {
  composePreamble,
  mergeByKey,
  resolveStepConfig,
  type AgentStepContext,
  type ResolvedIntegration,
  type ResolvedMcpServer,
  type ResolvedTool,
  type RunnerStepContext,
} from './step-config';

const mcp = (id: string, slug: string, extra: Partial<ResolvedMcpServer> = {}): ResolvedMcpServer => ({
  id,
  slug,
  name: `${slug} (${id})`,
  transport: 'http',
  url: `https://${slug}.example.com/mcp`,
  ...extra,
});
const integ = (id: string, extra: Partial<ResolvedIntegration> = {}): ResolvedIntegration => ({
  id,
  name: `db ${id}`,
  kind: 'postgres',
  readOnly: true,
  allowedSchemas: [],
  ...extra,
});
const tool = (id: string, name: string, extra: Partial<ResolvedTool> = {}): ResolvedTool => ({
  id,
  name,
  description: `${name} from ${id}`,
  parameters: { type: 'object' },
  url: `https://tools.example.com/${id}`,
  method: 'POST',
  ...extra,
});

const runner: RunnerStepContext = {
  learnedInstructions: 'Learned: prefer metric units.',
  defaultModel: 'runner-model',
  mcpServers: [mcp('r1', 'github'), mcp('r2', 'linear')],
  integrations: [integ('i1'), integ('i2', { readOnly: false })],
  tools: [tool('t1', 'lookup'), tool('t2', 'notify')],
  skills: [{ id: 's1', name: 'tone', instructions: 'Be brief.' }],
  webConfig: { enabled: true, searchEnabled: true, researchEnabled: false },
  planEnabled: true,
};

const agent: AgentStepContext = {
  id: 'agent-1',
  name: 'Researcher',
  preamble: 'You are a researcher.',
  model: 'agent-model',
  mcpServers: [mcp('a1', 'github', { transport: 'stdio', command: 'gh-mcp', url: null }), mcp('a2', 'slack')],
  integrations: [integ('i2', { readOnly: true, allowedSchemas: ['public'] }), integ('i3')],
  tools: [tool('t9', 'notify'), tool('t3', 'search')],
  webConfig: { enabled: true, searchEnabled: false, researchEnabled: true },
};

describe('resolveStepConfig: steps without an agent', () => {
  it("uses the runner's connections alone", () => {
    const r = resolveStepConfig(runner, null);
    expect(r.agentId).toBeNull();
    expect(r.mcpServers.map((m) => m.id)).toEqual(['r1', 'r2']);
    expect(r.integrations.map((i) => i.id)).toEqual(['i1', 'i2']);
    expect(r.tools.map((t) => t.id)).toEqual(['t1', 't2']);
    expect(r.skills.map((s) => s.id)).toEqual(['s1']);
    expect(r.webConfig).toEqual({ enabled: true, searchEnabled: true, researchEnabled: false });
    expect(r.planEnabled).toBe(true);
  });

  it('treats undefined like null', () => {
    expect(resolveStepConfig(runner)).toEqual(resolveStepConfig(runner, null));
  });

  it('the preamble is learned instructions then preambleOverride (the whole preamble of an inline step)', () => {
    const r = resolveStepConfig(runner, null, { preambleOverride: 'Extract the prices.' });
    expect(r.preamble).toBe('Learned: prefer metric units.\n\nExtract the prices.');
    expect(
      resolveStepConfig({ ...runner, learnedInstructions: null }, null, { preambleOverride: 'Only this.' }).preamble,
    ).toBe('Only this.');
    expect(resolveStepConfig({}, null, {}).preamble).toBe('');
  });

  it('model: modelOverride, else runner default, else null', () => {
    expect(resolveStepConfig(runner, null, { modelOverride: 'step-model' }).model).toBe('step-model');
    expect(resolveStepConfig(runner, null).model).toBe('runner-model');
    expect(resolveStepConfig({}, null).model).toBeNull();
  });

  it('defaults: no connections, web disabled, plan disabled', () => {
    const r = resolveStepConfig({});
    expect(r).toEqual({
      agentId: null,
      preamble: '',
      model: null,
      mcpServers: [],
      integrations: [],
      tools: [],
      skills: [],
      webConfig: { enabled: false, searchEnabled: false, researchEnabled: false },
      planEnabled: false,
    });
  });
});

describe('resolveStepConfig: steps with an agent', () => {
  const r = resolveStepConfig(runner, agent, { preambleOverride: 'Focus on pricing.' });

  it('records the agent', () => {
    expect(r.agentId).toBe('agent-1');
  });

  it('MCP servers are combined and deduplicated by slug, the agent winning in place', () => {
    expect(r.mcpServers.map((m) => [m.slug, m.id])).toEqual([
      ['github', 'a1'],
      ['linear', 'r2'],
      ['slack', 'a2'],
    ]);
    expect(r.mcpServers[0]).toMatchObject({ transport: 'stdio', command: 'gh-mcp' });
  });

  it('MCP servers with different ids but the same slug count as one (agent wins)', () => {
    const out = resolveStepConfig({ mcpServers: [mcp('x', 'same')] }, { id: 'a', mcpServers: [mcp('y', 'same')] });
    expect(out.mcpServers.map((m) => m.id)).toEqual(['y']);
  });

  it('integrations are combined; the agent overrides the runner for the same id', () => {
    expect(r.integrations.map((i) => i.id)).toEqual(['i1', 'i2', 'i3']);
    expect(r.integrations[1]).toMatchObject({ id: 'i2', readOnly: true, allowedSchemas: ['public'] });
  });

  it('integrations with the same name but different ids are both kept', () => {
    const out = resolveStepConfig(
      { integrations: [integ('x', { name: 'db' })] },
      { id: 'a', integrations: [integ('y', { name: 'db' })] },
    );
    expect(out.integrations.map((i) => i.id)).toEqual(['x', 'y']);
  });

  it('tools are combined and deduplicated by name, the agent winning', () => {
    expect(r.tools.map((t) => [t.name, t.id])).toEqual([
      ['lookup', 't1'],
      ['notify', 't9'],
      ['search', 't3'],
    ]);
  });

  it("web config comes from the agent when the agent's is enabled", () => {
    expect(r.webConfig).toEqual({ enabled: true, searchEnabled: false, researchEnabled: true });
  });

  it("web config stays the runner's when the agent's is disabled or absent", () => {
    const disabled = resolveStepConfig(runner, {
      ...agent,
      webConfig: { enabled: false, searchEnabled: true, researchEnabled: true },
    });
    expect(disabled.webConfig).toEqual(runner.webConfig);
    expect(resolveStepConfig(runner, { ...agent, webConfig: null }).webConfig).toEqual(runner.webConfig);
    expect(resolveStepConfig({}, { id: 'a' }).webConfig).toEqual({
      enabled: false,
      searchEnabled: false,
      researchEnabled: false,
    });
  });

  it("an enabled agent web config wins even over a runner's that enables more", () => {
    const out = resolveStepConfig(
      { webConfig: { enabled: true, searchEnabled: true, researchEnabled: true } },
      { id: 'a', webConfig: { enabled: true, searchEnabled: false, researchEnabled: false } },
    );
    expect(out.webConfig).toEqual({ enabled: true, searchEnabled: false, researchEnabled: false });
  });

  it('skills and plan come from the runner', () => {
    expect(r.skills.map((s) => s.id)).toEqual(['s1']);
    expect(r.planEnabled).toBe(true);
  });

  it('preamble: learned instructions, then preambleOverride, then the agent preamble', () => {
    expect(r.preamble).toBe('Learned: prefer metric units.\n\nFocus on pricing.\n\nYou are a researcher.');
    expect(resolveStepConfig(runner, agent).preamble).toBe('Learned: prefer metric units.\n\nYou are a researcher.');
    expect(resolveStepConfig({}, agent).preamble).toBe('You are a researcher.');
    expect(resolveStepConfig({}, { id: 'a', preamble: '' }, { preambleOverride: 'P' }).preamble).toBe('P');
  });

  it('model: modelOverride over the agent model over the runner default', () => {
    expect(resolveStepConfig(runner, agent, { modelOverride: 'step-model' }).model).toBe('step-model');
    expect(resolveStepConfig(runner, agent).model).toBe('agent-model');
    expect(resolveStepConfig(runner, { ...agent, model: null }).model).toBe('runner-model');
    expect(resolveStepConfig(runner, { ...agent, model: '' }, { modelOverride: '  ' }).model).toBe('runner-model');
    expect(resolveStepConfig({}, { id: 'a' }).model).toBeNull();
  });

  it("an agent with no connections gets the runner's", () => {
    const out = resolveStepConfig(runner, { id: 'bare' });
    expect(out.mcpServers.map((m) => m.id)).toEqual(['r1', 'r2']);
    expect(out.integrations.map((i) => i.id)).toEqual(['i1', 'i2']);
    expect(out.tools.map((t) => t.id)).toEqual(['t1', 't2']);
  });

  it("a runner with no connections gets the agent's", () => {
    const out = resolveStepConfig({}, agent);
    expect(out.mcpServers.map((m) => m.id)).toEqual(['a1', 'a2']);
    expect(out.integrations.map((i) => i.id)).toEqual(['i2', 'i3']);
    expect(out.tools.map((t) => t.id)).toEqual(['t9', 't3']);
  });

  it('does not mutate its inputs and returns fresh arrays', () => {
    const snapshot = JSON.stringify({ runner, agent });
    const out = resolveStepConfig(runner, agent);
    out.mcpServers.push(mcp('z', 'z'));
    out.webConfig.enabled = false;
    expect(JSON.stringify({ runner, agent })).toBe(snapshot);
    expect(resolveStepConfig(runner, agent).webConfig.enabled).toBe(true);
  });
});

describe('mergeByKey', () => {
  const k = (x: { k: string }) => x.k;
  it('keeps base order, replaces in place and appends new override items', () => {
    expect(
      mergeByKey(
        [
          { k: 'a', v: 1 },
          { k: 'b', v: 1 },
        ],
        [
          { k: 'c', v: 2 },
          { k: 'a', v: 2 },
        ],
        k,
      ),
    ).toEqual([
      { k: 'a', v: 2 },
      { k: 'b', v: 1 },
      { k: 'c', v: 2 },
    ]);
  });
  it('deduplicates within one side, first occurrence wins', () => {
    expect(
      mergeByKey(
        [
          { k: 'a', v: 1 },
          { k: 'a', v: 2 },
        ],
        [],
        k,
      ),
    ).toEqual([{ k: 'a', v: 1 }]);
    expect(
      mergeByKey(
        [],
        [
          { k: 'a', v: 1 },
          { k: 'a', v: 2 },
        ],
        k,
      ),
    ).toEqual([{ k: 'a', v: 1 }]);
    expect(
      mergeByKey(
        [{ k: 'a', v: 0 }],
        [
          { k: 'a', v: 1 },
          { k: 'a', v: 2 },
        ],
        k,
      ),
    ).toEqual([{ k: 'a', v: 1 }]);
  });
  it('handles empty lists', () => {
    expect(mergeByKey([], [], k)).toEqual([]);
  });
});

describe('composePreamble', () => {
  it('drops empty and blank parts and trims the rest', () => {
    expect(composePreamble([null, '  ', undefined, ' a ', '', 'b\n'])).toBe('a\n\nb');
  });
});
