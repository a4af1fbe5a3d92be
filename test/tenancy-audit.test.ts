import { describe, expect, it, beforeAll } from '@jest/globals';
import { echoStep, MARK, seed, snapshot, type Org } from './fixtures/tenancy-seed';
import { request, useTestContext } from './harness';

/**
 * Tenancy audit: two orgs with full runners; every route of /api/openapi.json is called with the other
 * org's key (public routes with the other org's ids/tokens). The answer is a 404 or a list without the
 * other org's objects, never the object, and the owner's state is unchanged afterwards.
 * The table `CALLS` must know every (method, path) of the OpenAPI document: a new route fails the test
 * until someone writes down how it is audited.
 */

const ctx = useTestContext();

/** How each route of the OpenAPI document is called by the intruder `b` against the victim `a`. */
interface Call {
  path: string;
  body?: unknown;
  /** 'denied': 404; 'list': 200 with none of a's objects; 'own': allowed but acts on b's own data; 'public'. */
  expect: 'denied' | 'refused' | 'list' | 'own' | 'public';
  auth?: 'none';
}
type Plan = (a: Org, b: Org) => Call[];

const step = { ...echoStep, name: 'intruder' };
const CALLS: Record<string, Plan> = {
  'get /healthz': () => [{ path: '/healthz', expect: 'public', auth: 'none' }],
  'get /': () => [{ path: '/', expect: 'public', auth: 'none' }],
  'post /api/runners': () => [{ path: '/api/runners', body: { name: 'b-own' }, expect: 'own' }],
  'get /api/runners': () => [{ path: '/api/runners', expect: 'list' }],
  'get /api/runners/{id}': (a) => [{ path: `/api/runners/${a.ids.runner}`, expect: 'denied' }],
  'patch /api/runners/{id}': (a) => [
    { path: `/api/runners/${a.ids.runner}`, body: { name: 'hijacked' }, expect: 'denied' },
  ],
  'delete /api/runners/{id}': (a) => [{ path: `/api/runners/${a.ids.runner}`, expect: 'denied' }],
  'post /api/runners/{id}/steps': (a) => [{ path: `/api/runners/${a.ids.runner}/steps`, body: step, expect: 'denied' }],
  'get /api/runners/{id}/steps': (a) => [{ path: `/api/runners/${a.ids.runner}/steps`, expect: 'denied' }],
  'patch /api/runners/{id}/steps/{stepId}': (a, b) => [
    { path: `/api/runners/${a.ids.runner}/steps/${a.ids.step}`, body: { name: 'hijacked' }, expect: 'denied' },
    { path: `/api/runners/${b.ids.runner}/steps/${a.ids.step}`, body: { name: 'hijacked' }, expect: 'denied' },
  ],
  'delete /api/runners/{id}/steps/{stepId}': (a, b) => [
    { path: `/api/runners/${a.ids.runner}/steps/${a.ids.step}`, expect: 'denied' },
    { path: `/api/runners/${b.ids.runner}/steps/${a.ids.step}`, expect: 'denied' },
  ],
  'post /api/runners/{id}/runs': (a) => [
    { path: `/api/runners/${a.ids.runner}/runs`, body: { input: {} }, expect: 'denied' },
  ],
  'get /api/runners/{id}/runs': (a) => [{ path: `/api/runners/${a.ids.runner}/runs`, expect: 'denied' }],
  'get /api/runners/{id}/runs/{runId}': (a, b) => [
    { path: `/api/runners/${a.ids.runner}/runs/${a.ids.run}`, expect: 'denied' },
    { path: `/api/runners/${b.ids.runner}/runs/${a.ids.run}`, expect: 'denied' },
  ],
  'post /api/runners/{id}/runs/{runId}/cancel': (a, b) => [
    { path: `/api/runners/${a.ids.runner}/runs/${a.ids.run}/cancel`, expect: 'denied' },
    { path: `/api/runners/${b.ids.runner}/runs/${a.ids.run}/cancel`, expect: 'denied' },
  ],
  'post /api/runners/webhooks/{token}': (a) => [
    // the token is the credential; other org ids in its place must not start anything
    { path: `/api/runners/webhooks/${a.ids.trigger}`, body: { x: 1 }, expect: 'denied', auth: 'none' },
    { path: `/api/runners/webhooks/${a.ids.runner}`, body: { x: 1 }, expect: 'denied', auth: 'none' },
    { path: `/api/runners/webhooks/${a.ids.token!.slice(0, -2)}xx`, body: { x: 1 }, expect: 'denied', auth: 'none' },
  ],
  'post /api/runners/{id}/triggers': (a) => [
    { path: `/api/runners/${a.ids.runner}/triggers`, body: { kind: 'webhook' }, expect: 'denied' },
  ],
  'get /api/runners/{id}/triggers': (a) => [{ path: `/api/runners/${a.ids.runner}/triggers`, expect: 'denied' }],
  'get /api/runners/{id}/triggers/{triggerId}': (a, b) => [
    { path: `/api/runners/${a.ids.runner}/triggers/${a.ids.trigger}`, expect: 'denied' },
    { path: `/api/runners/${b.ids.runner}/triggers/${a.ids.cron}`, expect: 'denied' },
  ],
  'patch /api/runners/{id}/triggers/{triggerId}': (a, b) => [
    { path: `/api/runners/${a.ids.runner}/triggers/${a.ids.cron}`, body: { enabled: false }, expect: 'denied' },
    { path: `/api/runners/${b.ids.runner}/triggers/${a.ids.cron}`, body: { enabled: false }, expect: 'denied' },
  ],
  'delete /api/runners/{id}/triggers/{triggerId}': (a, b) => [
    { path: `/api/runners/${a.ids.runner}/triggers/${a.ids.trigger}`, expect: 'denied' },
    { path: `/api/runners/${b.ids.runner}/triggers/${a.ids.trigger}`, expect: 'denied' },
  ],
  'post /api/runners/{id}/runs/bulk': (a) => [
    { path: `/api/runners/${a.ids.runner}/runs/bulk`, body: { items: [{ input: {} }] }, expect: 'denied' },
  ],
  'post /api/runners/{id}/runs/bulk/status': (a, b) => [
    { path: `/api/runners/${a.ids.runner}/runs/bulk/status`, body: { ids: [a.ids.run] }, expect: 'denied' },
    { path: `/api/runners/${b.ids.runner}/runs/bulk/status`, body: { ids: [a.ids.run] }, expect: 'list' },
  ],
  'post /api/runners/{id}/runs/{runId}/resume': (a, b) => [
    { path: `/api/runners/${a.ids.runner}/runs/${a.ids.run}/resume`, body: {}, expect: 'denied' },
    { path: `/api/runners/${b.ids.runner}/runs/${a.ids.run}/resume`, body: {}, expect: 'denied' },
  ],
  'get /api/runners/{id}/analytics': (a) => [{ path: `/api/runners/${a.ids.runner}/analytics`, expect: 'denied' }],
  'get /api/analytics': () => [{ path: '/api/analytics', expect: 'public' }],
  'get /api/runners/{id}/button': (a) => [
    { path: `/api/runners/${a.ids.runner}/button`, expect: 'denied', auth: 'none' },
  ],
  'get /api/runners/{id}/embed.js': (a) => [
    { path: `/api/runners/${a.ids.runner}/embed.js`, expect: 'denied', auth: 'none' },
  ],
  // without the page's start token / the run's status token these are refused (422/404), never served
  'post /api/runners/{id}/button/runs': (a) => [
    { path: `/api/runners/${a.ids.runner}/button/runs`, body: { input: {} }, expect: 'refused', auth: 'none' },
  ],
  'get /api/runners/{id}/button/runs/{runId}': (a) => [
    { path: `/api/runners/${a.ids.runner}/button/runs/${a.ids.run}`, expect: 'refused', auth: 'none' },
  ],
  'post /api/knowledge/upload': () => [], // multipart: audited in the dedicated test below
  'get /api/knowledge/search': () => [
    { path: `/api/knowledge/search?q=${encodeURIComponent(`${MARK} refunds`)}`, expect: 'list' },
  ],
  'get /api/knowledge': () => [{ path: '/api/knowledge', expect: 'list' }],
  'get /api/knowledge/{id}': (a) => [{ path: `/api/knowledge/${a.ids.kb}`, expect: 'denied' }],
  'delete /api/knowledge/{id}': (a) => [{ path: `/api/knowledge/${a.ids.kb}`, expect: 'denied' }],
};

// Org-level resources share one shape.
const RESOURCES: Record<string, { key: string; create: unknown; patch: unknown }> = {
  agents: { key: 'agent', create: { name: 'b-agent' }, patch: { name: 'hijacked' } },
  'mcp-servers': {
    key: 'mcp',
    create: { slug: 'b-srv', transport: 'http', url: 'https://mcp.example.com/mcp' },
    patch: { name: 'hijacked' },
  },
  integrations: {
    key: 'integ',
    create: { name: 'b-db', kind: 'postgres', connectionString: 'postgres://h/db' },
    patch: { name: 'hijacked' },
  },
  tools: { key: 'tool', create: { name: 'b_tool', url: 'https://api.example.com' }, patch: { name: 'hijacked' } },
  skills: { key: 'skill', create: { name: 'b-skill', instructions: 'x' }, patch: { name: 'hijacked' } },
};
for (const [res, r] of Object.entries(RESOURCES)) {
  CALLS[`post /api/${res}`] = () => [{ path: `/api/${res}`, body: r.create, expect: 'own' }];
  CALLS[`get /api/${res}`] = () => [{ path: `/api/${res}`, expect: 'list' }];
  CALLS[`get /api/${res}/{id}`] = (a) => [{ path: `/api/${res}/${a.ids[r.key]}`, expect: 'denied' }];
  CALLS[`patch /api/${res}/{id}`] = (a) => [{ path: `/api/${res}/${a.ids[r.key]}`, body: r.patch, expect: 'denied' }];
  CALLS[`delete /api/${res}/{id}`] = (a) => [{ path: `/api/${res}/${a.ids[r.key]}`, expect: 'denied' }];
}
// Runner attachments: a's runner with b's resource, and b's runner with a's resource.
const ATTACH: Record<string, [string, string, string]> = {
  mcps: ['mcpServerId', 'mcp', 'mcpServerId'],
  integrations: ['integrationId', 'integ', 'integrationId'],
  tools: ['toolId', 'tool', 'toolId'],
  skills: ['skillId', 'skill', 'skillId'],
};
for (const [kind, [field, key, param]] of Object.entries(ATTACH)) {
  CALLS[`get /api/runners/{id}/${kind}`] = (a) => [{ path: `/api/runners/${a.ids.runner}/${kind}`, expect: 'denied' }];
  CALLS[`post /api/runners/{id}/${kind}`] = (a, b) => [
    { path: `/api/runners/${a.ids.runner}/${kind}`, body: { [field]: b.ids[key] }, expect: 'denied' },
    { path: `/api/runners/${b.ids.runner}/${kind}`, body: { [field]: a.ids[key] }, expect: 'denied' },
  ];
  CALLS[`delete /api/runners/{id}/${kind}/{${param}}`] = (a, b) => [
    { path: `/api/runners/${a.ids.runner}/${kind}/${a.ids[key]}`, expect: 'denied' },
    { path: `/api/runners/${b.ids.runner}/${kind}/${a.ids[key]}`, expect: 'denied' },
  ];
}
for (const cfg of ['web-config', 'plan-config', 'budget']) {
  CALLS[`get /api/runners/{id}/${cfg}`] = (a) => [{ path: `/api/runners/${a.ids.runner}/${cfg}`, expect: 'denied' }];
  CALLS[`put /api/runners/${'{id}'}/${cfg}`] = (a) => [
    {
      path: `/api/runners/${a.ids.runner}/${cfg}`,
      body: cfg === 'budget' ? { enabled: false, budgetUsd: 1, onExceed: 'pause' } : { enabled: false },
      expect: 'denied',
    },
  ];
}

let A: Org;
let B: Org;
let operations: string[] = [];

beforeAll(async () => {
  A = await seed(ctx, ctx.keyA, 'a');
  B = await seed(ctx, ctx.keyB, 'b');
  const doc = (await request(ctx.app).get('/api/openapi.json')).body as {
    paths: Record<string, Record<string, unknown>>;
  };
  operations = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
}, 300_000);

describe('tenancy audit over /api/openapi.json', () => {
  it('knows how to audit every operation of the OpenAPI document', () => {
    expect(operations.length).toBeGreaterThan(60);
    const unknown = operations.filter((op) => !(op in CALLS));
    expect(unknown).toEqual([]);
  });

  it("never shows or changes org A's objects when called with org B's key (or A's ids on public routes)", async () => {
    const before = await snapshot(ctx, A);
    const aIds = Object.entries(A.ids).filter(([k]) => k !== 'token');
    const failures: string[] = [];
    let calls = 0;
    for (const op of operations) {
      const [method] = op.split(' ') as [string, string];
      for (const call of (CALLS[op] ?? (() => []))(A, B)) {
        calls++;
        let req = request(ctx.app)[method as 'get' | 'post' | 'put' | 'patch' | 'delete'](call.path);
        if (call.auth !== 'none') req = req.set('Authorization', `Bearer ${B.key}`);
        if (call.body !== undefined) req = req.send(call.body as object);
        const res = await req;
        const text = res.text ?? '';
        const where = `${op} -> ${call.path}: ${res.status}`;
        // a's object ids may only appear in a 404's message when they were part of the path
        const leaked = aIds.filter(
          ([, v]) =>
            text.includes(v) &&
            !(res.status === 404 && call.path.includes(v)) &&
            !JSON.stringify(call.body ?? '').includes(v),
        );
        if (
          leaked.length ||
          text.includes(`${MARK}-runner-a`) ||
          text.includes(`${MARK}-agent-a`) ||
          text.includes('(a).')
        )
          failures.push(`${where} leaks ${leaked.map(([k]) => k).join(',') || 'marker'}`);
        if (res.status >= 500) failures.push(`${where} (server error)`);
        if (call.expect === 'denied') {
          if (res.status !== 404) failures.push(`${where} (expected 404)`);
          else if (res.body?.error?.code !== 'not_found')
            failures.push(`${where} (not the error shape: ${text.slice(0, 200)})`);
        } else if (call.expect === 'refused') {
          if (res.status < 400 || typeof res.body?.error?.code !== 'string')
            failures.push(`${where} (expected a 4xx in the error shape)`);
        } else if (call.expect === 'list') {
          if (res.status !== 200 || !Array.isArray(res.body?.data)) failures.push(`${where} (expected a list)`);
        } else if (call.expect === 'own') {
          if (res.status !== 201) failures.push(`${where} (expected b's own create to work)`);
        } else if (res.status >= 400) failures.push(`${where} (public route failed)`);
      }
    }
    // the search with a's words finds b's own document only
    const found = await ctx.as(B.key).get(`/api/knowledge/search?q=${encodeURIComponent(`${MARK} refunds`)}`);
    expect(JSON.stringify(found.body)).not.toContain(A.ids.kb);
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(operations.length);
    expect(await snapshot(ctx, A)).toEqual(before);
    // nothing started in a's org by the intruder (one run from seeding)
    const runs = await ctx.as(A.key).get(`/api/runners/${A.ids.runner}/runs`);
    expect(runs.body.data).toHaveLength(1);
  }, 300_000);

  it("cannot upload knowledge into org A's runner scope", async () => {
    const res = await request(ctx.app)
      .post('/api/knowledge/upload')
      .set('Authorization', `Bearer ${B.key}`)
      .field('scopeType', 'runner')
      .field('scopeId', A.ids.runner!)
      .field('title', 'intruder')
      .attach('file', Buffer.from('intruder text'), { filename: 'x.txt', contentType: 'text/plain' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    const list = await ctx.as(A.key).get('/api/knowledge');
    expect(JSON.stringify(list.body)).not.toContain('intruder');
  });
});
