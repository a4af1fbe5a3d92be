import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestContext, type TestContext } from './harness';

/** Runner connections: attachments (mcps, integrations, tools, skills), web/plan config and budget. */

const SECRET = 'attach-secret-0123456789abcdef';
const missing = '00000000-0000-4000-8000-000000000000';
const bodies: string[] = [];

let ctx: TestContext;
let runnerId: string;
let foreignRunnerId: string;
const mine: Record<'mcps' | 'integrations' | 'tools' | 'skills', string> = {
  mcps: '',
  integrations: '',
  tools: '',
  skills: '',
};
const theirs: typeof mine = { mcps: '', integrations: '', tools: '', skills: '' };

const ID_FIELD = { mcps: 'mcpServerId', integrations: 'integrationId', tools: 'toolId', skills: 'skillId' } as const;
const RESOURCE_FIELD = { mcps: 'mcpServer', integrations: 'integration', tools: 'tool', skills: 'skill' } as const;
const KINDS = Object.keys(ID_FIELD) as (keyof typeof ID_FIELD)[];

async function createResources(api: TestContext['api'], out: typeof mine, suffix: string) {
  const m = await api.post('/api/mcp-servers', {
    slug: `srv-${suffix}`,
    transport: 'http',
    url: 'https://mcp.example.com/mcp',
    headers: { Authorization: SECRET },
  });
  const i = await api.post('/api/integrations', {
    name: `db-${suffix}`,
    kind: 'postgres',
    connectionString: `postgres://u:${SECRET}@db.example.com/x`,
  });
  const t = await api.post('/api/tools', {
    name: `tool_${suffix}`,
    url: 'https://api.example.com',
    headers: { 'X-Key': SECRET },
  });
  const s = await api.post('/api/skills', { name: `skill-${suffix}`, instructions: 'Be brief.' });
  for (const r of [m, i, t, s]) expect(r.status).toBe(201);
  out.mcps = m.body.id;
  out.integrations = i.body.id;
  out.tools = t.body.id;
  out.skills = s.body.id;
}

beforeAll(async () => {
  ctx = await createTestContext();
  runnerId = (await ctx.api.post('/api/runners', { name: 'connected' })).body.id;
  foreignRunnerId = (await ctx.as(ctx.keyB).post('/api/runners', { name: 'theirs' })).body.id;
  await createResources(ctx.api, mine, 'a');
  await createResources(ctx.as(ctx.keyB), theirs, 'b');
});
afterAll(async () => {
  expect(bodies.join('\n')).not.toContain(SECRET);
  await ctx?.client.connection.close().catch(() => undefined);
  await ctx?.db.$disconnect();
});

const seen = <T extends { text: string }>(r: T): T => {
  bodies.push(r.text ?? '');
  return r;
};

describe.each(KINDS)('/api/runners/:id/%s', (kind) => {
  const idField = ID_FIELD[kind];
  const base = () => `/api/runners/${runnerId}/${kind}`;

  it('attaches (201), re-attaching is idempotent (200, same attachment), lists with the resource summary', async () => {
    const a = seen(await ctx.api.post(base(), { [idField]: mine[kind] }));
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ runnerId, [idField]: mine[kind], attachedAt: expect.any(String) });
    expect(a.body[RESOURCE_FIELD[kind]].id).toBe(mine[kind]);
    const again = seen(await ctx.api.post(base(), { [idField]: mine[kind] }));
    expect(again.status).toBe(200);
    expect(again.body).toEqual(a.body);
    const list = seen(await ctx.api.get(base()));
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ data: [a.body], nextCursor: null });
  });

  it('404s attaching an unknown id or another org’s resource', async () => {
    for (const id of [missing, theirs[kind]]) {
      const r = seen(await ctx.api.post(base(), { [idField]: id }));
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
  });

  it('404s every attachment route for another org’s runner or an unknown runner', async () => {
    for (const rid of [foreignRunnerId, missing, 'nope']) {
      expect(seen(await ctx.api.get(`/api/runners/${rid}/${kind}`)).status).toBe(404);
      expect(seen(await ctx.api.post(`/api/runners/${rid}/${kind}`, { [idField]: mine[kind] })).status).toBe(404);
      expect(seen(await ctx.api.delete(`/api/runners/${rid}/${kind}/${mine[kind]}`)).status).toBe(404);
    }
    // Org B cannot see A's attachments either.
    expect(seen(await ctx.as(ctx.keyB).get(base())).status).toBe(404);
  });

  it('422s a missing, malformed or extra body field', async () => {
    for (const body of [{}, { [idField]: 'not-a-uuid' }, { [idField]: mine[kind], extra: true }]) {
      const r = seen(await ctx.api.post(base(), body));
      expect(r.status).toBe(422);
      expect(r.body.error.details[0].path).toBe(Object.keys(body).length === 2 ? 'extra' : idField);
    }
  });

  it('detaches (204), then 404 when not attached', async () => {
    expect(seen(await ctx.api.delete(`${base()}/${mine[kind]}`)).status).toBe(204);
    expect(seen(await ctx.api.get(base())).body.data).toEqual([]);
    const again = seen(await ctx.api.delete(`${base()}/${mine[kind]}`));
    expect(again.status).toBe(404);
    expect(again.body.error.message).toMatch(/not attached/);
    expect(seen(await ctx.api.delete(`${base()}/not-a-uuid`)).status).toBe(404);
  });
});

describe('attachment lists', () => {
  it('paginate, most recently attached first, and lose an attachment when its resource is deleted', async () => {
    const rid = (await ctx.api.post('/api/runners', { name: 'many' })).body.id;
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      const s = await ctx.api.post('/api/skills', { name: `paged-${n}`, instructions: 'x' });
      ids.push(s.body.id);
      expect((await ctx.api.post(`/api/runners/${rid}/skills`, { skillId: s.body.id })).status).toBe(201);
    }
    const p1 = await ctx.api.get(`/api/runners/${rid}/skills?limit=2`);
    expect(p1.body.data.map((a: { skillId: string }) => a.skillId)).toEqual([ids[2], ids[1]]);
    const p2 = await ctx.api.get(`/api/runners/${rid}/skills?limit=2&cursor=${p1.body.nextCursor}`);
    expect(p2.body).toEqual({ data: [expect.objectContaining({ skillId: ids[0] })], nextCursor: null });
    expect((await ctx.api.delete(`/api/skills/${ids[1]}`)).status).toBe(204);
    const after = await ctx.api.get(`/api/runners/${rid}/skills`);
    expect(after.body.data.map((a: { skillId: string }) => a.skillId)).toEqual([ids[2], ids[0]]);
  });

  it('show secrets masked in the resource summaries', async () => {
    await ctx.api.post(`/api/runners/${runnerId}/mcps`, { mcpServerId: mine.mcps });
    await ctx.api.post(`/api/runners/${runnerId}/integrations`, { integrationId: mine.integrations });
    const m = seen(await ctx.api.get(`/api/runners/${runnerId}/mcps`));
    expect(m.body.data[0].mcpServer.headers).toEqual({ Authorization: '****cdef' });
    const i = seen(await ctx.api.get(`/api/runners/${runnerId}/integrations`));
    expect(i.body.data[0].integration.connectionString).toBe('postgres://u:****@db.example.com/x');
  });
});

describe('/api/runners/:id/web-config', () => {
  it('returns defaults before anything is stored', async () => {
    const rid = (await ctx.api.post('/api/runners', { name: 'web' })).body.id;
    const r = await ctx.api.get(`/api/runners/${rid}/web-config`);
    expect(r.body).toEqual({
      runnerId: rid,
      enabled: false,
      searchEnabled: false,
      researchEnabled: false,
      updatedAt: null,
    });
  });

  it('stores a full config, then a partial PUT keeps the fields left out', async () => {
    const rid = (await ctx.api.post('/api/runners', { name: 'web2' })).body.id;
    const full = await ctx.api.put(`/api/runners/${rid}/web-config`, {
      enabled: true,
      searchEnabled: true,
      researchEnabled: true,
    });
    expect(full.status).toBe(200);
    expect(full.body).toMatchObject({
      enabled: true,
      searchEnabled: true,
      researchEnabled: true,
      updatedAt: expect.any(String),
    });
    const partial = await ctx.api.put(`/api/runners/${rid}/web-config`, { enabled: false });
    expect(partial.body).toMatchObject({ enabled: false, searchEnabled: true, researchEnabled: true });
    expect((await ctx.api.get(`/api/runners/${rid}/web-config`)).body).toEqual(partial.body);
  });

  it('422s bad bodies and 404s foreign runners', async () => {
    for (const body of [{}, { enabled: 'yes' }, { enabled: true, turbo: true }]) {
      expect((await ctx.api.put(`/api/runners/${runnerId}/web-config`, body)).status).toBe(422);
    }
    expect((await ctx.api.get(`/api/runners/${foreignRunnerId}/web-config`)).status).toBe(404);
    expect((await ctx.api.put(`/api/runners/${foreignRunnerId}/web-config`, { enabled: true })).status).toBe(404);
  });
});

describe('/api/runners/:id/plan-config', () => {
  it('defaults to disabled, stores, 422s and 404s', async () => {
    const rid = (await ctx.api.post('/api/runners', { name: 'plan' })).body.id;
    expect((await ctx.api.get(`/api/runners/${rid}/plan-config`)).body).toEqual({
      runnerId: rid,
      enabled: false,
      updatedAt: null,
    });
    const p = await ctx.api.put(`/api/runners/${rid}/plan-config`, { enabled: true });
    expect(p.body).toMatchObject({ runnerId: rid, enabled: true });
    expect((await ctx.api.get(`/api/runners/${rid}/plan-config`)).body.enabled).toBe(true);
    expect((await ctx.api.put(`/api/runners/${rid}/plan-config`, { enabled: true, steps: 3 })).status).toBe(422);
    expect((await ctx.as(ctx.keyB).get(`/api/runners/${rid}/plan-config`)).status).toBe(404);
  });
});

describe('/api/runners/:id/budget', () => {
  it('returns the defaults before anything is stored', async () => {
    const rid = (await ctx.api.post('/api/runners', { name: 'budget' })).body.id;
    const r = await ctx.api.get(`/api/runners/${rid}/budget`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      runnerId: rid,
      enabled: false,
      budgetUsd: null,
      onExceed: 'pause',
      warningThreshold1: 0.8,
      warningThreshold2: 0.95,
      budgetWarningWebhookUrl: null,
      updatedAt: null,
    });
  });

  it('stores the spec example, applying the default thresholds', async () => {
    const rid = (await ctx.api.post('/api/runners', { name: 'budget2' })).body.id;
    const r = await ctx.api.put(`/api/runners/${rid}/budget`, { enabled: true, budgetUsd: 5.0, onExceed: 'pause' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      enabled: true,
      budgetUsd: 5,
      onExceed: 'pause',
      warningThreshold1: 0.8,
      warningThreshold2: 0.95,
    });
    const u = await ctx.api.put(`/api/runners/${rid}/budget`, {
      enabled: true,
      onExceed: 'fail',
      warningThreshold1: 0.5,
      warningThreshold2: 0.75,
    });
    expect(u.body).toMatchObject({ budgetUsd: 5, onExceed: 'fail', warningThreshold1: 0.5, warningThreshold2: 0.75 });
    const hook = await ctx.api.put(`/api/runners/${rid}/budget`, {
      enabled: true,
      budgetWarningWebhookUrl: 'https://hooks.example.com/b',
    });
    expect(hook.body).toMatchObject({ budgetUsd: 5, budgetWarningWebhookUrl: 'https://hooks.example.com/b' });
    expect((await ctx.api.put(`/api/runners/${rid}/budget`, { enabled: true })).body.budgetWarningWebhookUrl).toBe(
      'https://hooks.example.com/b',
    );
    const unlimited = await ctx.api.put(`/api/runners/${rid}/budget`, {
      enabled: true,
      budgetUsd: null,
      budgetWarningWebhookUrl: null,
    });
    expect(unlimited.body.budgetUsd).toBeNull();
    expect((await ctx.api.get(`/api/runners/${rid}/budget`)).body).toEqual(unlimited.body);
  });

  it('422s invalid amounts, thresholds and fields', async () => {
    const cases: [unknown, string][] = [
      [{ enabled: true, budgetUsd: 0 }, 'budgetUsd'],
      [{ enabled: true, budgetUsd: -1 }, 'budgetUsd'],
      [{ enabled: true, onExceed: 'explode' }, 'onExceed'],
      [{ enabled: true, warningThreshold1: 0 }, 'warningThreshold1'],
      [{ enabled: true, warningThreshold2: 1.5 }, 'warningThreshold2'],
      [{ enabled: true, warningThreshold1: 0.9, warningThreshold2: 0.5 }, 'warningThreshold1'],
      [{ budgetUsd: 5 }, 'enabled'],
      [{ enabled: true, currency: 'EUR' }, 'currency'],
      [{ enabled: true, budgetWarningWebhookUrl: 'ftp://example.com/hook' }, 'budgetWarningWebhookUrl'],
      [{ enabled: true, budgetWarningWebhookUrl: 'not a url' }, 'budgetWarningWebhookUrl'],
    ];
    for (const [body, field] of cases) {
      const r = await ctx.api.put(`/api/runners/${runnerId}/budget`, body);
      expect(r.status).toBe(422);
      expect(r.body.error.details[0].path).toBe(field);
    }
    // threshold1 above a stored threshold2 is caught on the merged config.
    await ctx.api.put(`/api/runners/${runnerId}/budget`, {
      enabled: true,
      warningThreshold1: 0.5,
      warningThreshold2: 0.6,
    });
    const merged = await ctx.api.put(`/api/runners/${runnerId}/budget`, { enabled: true, warningThreshold1: 0.7 });
    expect(merged.status).toBe(422);
  });

  it('404s other orgs’ and unknown runners', async () => {
    expect((await ctx.api.get(`/api/runners/${foreignRunnerId}/budget`)).status).toBe(404);
    expect((await ctx.api.put(`/api/runners/${foreignRunnerId}/budget`, { enabled: true })).status).toBe(404);
    expect((await ctx.api.get(`/api/runners/${missing}/budget`)).status).toBe(404);
  });

  it('404s a deleted runner', async () => {
    const rid = (await ctx.api.post('/api/runners', { name: 'gone' })).body.id;
    expect((await ctx.api.delete(`/api/runners/${rid}`)).status).toBe(204);
    expect((await ctx.api.get(`/api/runners/${rid}/budget`)).status).toBe(404);
    expect((await ctx.api.post(`/api/runners/${rid}/skills`, { skillId: mine.skills })).status).toBe(404);
  });
});
