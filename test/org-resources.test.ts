import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApp } from '../api/app';
import { createKeyResolver } from '../src/services/api-keys';
import { createSecretBox, generateSecretKey } from '../src/crypto/secret-box';
import { loadIntegrationConnection } from '../src/services/integrations';
import { loadMcpConnectionConfig } from '../src/services/mcp-servers';
import { loadToolWithHeaders } from '../src/services/tools';
import { createTestContext, request, type TestContext } from './harness';

/** CRUD of the org-level resources runners and agents connect to, and what happens to their secrets. */

const SECRET_ENV = 'env-secret-4f7d9a1c2b3e5d6f';
const SECRET_HEADER = 'Bearer hdr-secret-8a7b6c5d4e3f2a1b';
const SECRET_PASSWORD = 'pw-secret-1q2w3e4r5t6y';
const SECRET_CONN = `postgres://reporter:${SECRET_PASSWORD}@db.example.com:5432/shop?sslmode=require`;
const SECRET_TOOL_HEADER = 'tool-secret-zxcvbnmasdfghjkl';
const ALL_SECRETS = [
  SECRET_ENV,
  SECRET_HEADER,
  SECRET_PASSWORD,
  SECRET_CONN,
  SECRET_TOOL_HEADER,
  'hdr-secret-8a7b6c5d4e3f2a1b',
];

const missing = '00000000-0000-4000-8000-000000000000';

/** Every response body seen in this file, to check that no secret ever left the API. */
const bodies: string[] = [];
const seen = <T extends { text: string }>(r: T): T => {
  bodies.push(r.text ?? '');
  return r;
};

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  for (const s of ALL_SECRETS) expect(bodies.join('\n')).not.toContain(s);
  await ctx?.client.connection.close().catch(() => undefined);
  await ctx?.db.$disconnect();
});

const stdioBody = (slug: string) => ({
  slug,
  name: 'GitHub',
  transport: 'stdio',
  command: 'npx',
  args: ['-y', '@example/github-mcp'],
  env: { GITHUB_TOKEN: SECRET_ENV, SHORT: 'abc' },
});
const httpBody = (slug: string) => ({
  slug,
  transport: 'http',
  url: 'https://mcp.example.com/mcp',
  headers: { Authorization: SECRET_HEADER },
});

describe('/api/mcp-servers', () => {
  it('creates a stdio server with env masked in the response', async () => {
    const r = seen(await ctx.api.post('/api/mcp-servers', stdioBody('github')));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      slug: 'github',
      name: 'GitHub',
      transport: 'stdio',
      command: 'npx',
      args: ['-y', '@example/github-mcp'],
      env: { GITHUB_TOKEN: '****5d6f', SHORT: '****' },
      url: null,
      headers: null,
    });
    expect(r.body.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('creates an http server (name defaults to the slug) with headers masked', async () => {
    const r = seen(await ctx.api.post('/api/mcp-servers', httpBody('remote')));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ slug: 'remote', name: 'remote', transport: 'http', command: null, env: null });
    expect(r.body.headers).toEqual({ Authorization: '****2a1b' });
  });

  it('stores env and headers encrypted, bound to the org', async () => {
    const list = seen(await ctx.api.get('/api/mcp-servers'));
    const github = list.body.data.find((m: { slug: string }) => m.slug === 'github');
    const row = await ctx.systemDb.mcpServer.findUniqueOrThrow({ where: { id: github.id } });
    expect(row.envEncrypted).toMatch(/^v1:[\w-]+:[\w-]+:[\w-]+$/);
    expect(row.envEncrypted).not.toContain(SECRET_ENV);
    const full = await loadMcpConnectionConfig(ctx.services, ctx.orgA, github.id);
    expect(full).toMatchObject({ transport: 'stdio', env: { GITHUB_TOKEN: SECRET_ENV, SHORT: 'abc' } });
    // A ciphertext copied to another org's row does not decrypt there.
    const box = ctx.services.secrets!;
    expect(() => box.decryptJson(row.envEncrypted as string, `${ctx.orgB}/mcp_servers.env`)).toThrow();
  });

  it('rejects a duplicate slug in the same org with 409, allows it in another org', async () => {
    const dup = seen(await ctx.api.post('/api/mcp-servers', httpBody('remote')));
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('conflict');
    const other = seen(await ctx.as(ctx.keyB).post('/api/mcp-servers', httpBody('remote')));
    expect(other.status).toBe(201);
  });

  it('validates transports, slugs and unknown fields with 422 naming each field', async () => {
    const cases: [unknown, string][] = [
      [{ slug: 'a', transport: 'stdio' }, 'command'],
      [{ slug: 'a', transport: 'http' }, 'url'],
      [{ slug: 'a', transport: 'http', url: 'https://x.example', command: 'x' }, 'command'],
      [{ slug: 'a', transport: 'stdio', command: 'x', headers: { A: 'b' } }, 'headers'],
      [{ slug: 'Bad Slug', transport: 'http', url: 'https://x.example' }, 'slug'],
      [{ slug: 'a', transport: 'ws', url: 'https://x.example' }, 'transport'],
      [{ slug: 'a', transport: 'http', url: 'ftp://x.example' }, 'url'],
      [{ slug: 'a', transport: 'stdio', command: 'x', env: { 'BAD-NAME': 'v' } }, 'env'],
      [{ slug: 'a', transport: 'http', url: 'https://x.example', extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const r = seen(await ctx.api.post('/api/mcp-servers', body));
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('validation_failed');
      expect(r.body.error.details.map((d: { path: string }) => d.path).join(' ')).toContain(field);
    }
  });

  it('updates: env replaced as a whole, transport switch clears the other side', async () => {
    const c = seen(await ctx.api.post('/api/mcp-servers', stdioBody('switchy')));
    const u = seen(await ctx.api.patch(`/api/mcp-servers/${c.body.id}`, { env: { ONLY: 'value-long-enough-123' } }));
    expect(u.status).toBe(200);
    expect(u.body.env).toEqual({ ONLY: '****-123' });
    expect(u.body.command).toBe('npx');
    const bad = seen(await ctx.api.patch(`/api/mcp-servers/${c.body.id}`, { transport: 'http' }));
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].path).toBe('url');
    const sw = seen(
      await ctx.api.patch(`/api/mcp-servers/${c.body.id}`, { transport: 'http', url: 'https://s.example/mcp' }),
    );
    expect(sw.status).toBe(200);
    expect(sw.body).toMatchObject({
      transport: 'http',
      command: null,
      args: null,
      env: null,
      url: 'https://s.example/mcp',
    });
    const row = await ctx.systemDb.mcpServer.findUniqueOrThrow({ where: { id: c.body.id } });
    expect(row.envEncrypted).toBeNull();
  });

  it('404s unknown ids, malformed ids and other orgs’ ids; never 403', async () => {
    const mine = seen(await ctx.api.post('/api/mcp-servers', httpBody('private-one')));
    for (const path of [`/api/mcp-servers/${missing}`, '/api/mcp-servers/not-a-uuid']) {
      expect(seen(await ctx.api.get(path)).status).toBe(404);
    }
    const b = ctx.as(ctx.keyB);
    expect(seen(await b.get(`/api/mcp-servers/${mine.body.id}`)).status).toBe(404);
    expect(seen(await b.patch(`/api/mcp-servers/${mine.body.id}`, { name: 'stolen' })).status).toBe(404);
    expect(seen(await b.delete(`/api/mcp-servers/${mine.body.id}`)).status).toBe(404);
    const listB = seen(await b.get('/api/mcp-servers'));
    expect(listB.body.data.map((m: { id: string }) => m.id)).not.toContain(mine.body.id);
  });

  it('paginates with limit and cursor', async () => {
    const p1 = seen(await ctx.api.get('/api/mcp-servers?limit=2'));
    expect(p1.body.data).toHaveLength(2);
    expect(p1.body.nextCursor).toEqual(expect.any(String));
    const p2 = seen(await ctx.api.get(`/api/mcp-servers?limit=2&cursor=${p1.body.nextCursor}`));
    const ids = new Set([...p1.body.data, ...p2.body.data].map((m: { id: string }) => m.id));
    expect(ids.size).toBe(p1.body.data.length + p2.body.data.length);
    expect(seen(await ctx.api.get('/api/mcp-servers?limit=0')).status).toBe(422);
    expect(seen(await ctx.api.get('/api/mcp-servers?cursor=garbage')).status).toBe(422);
  });

  it('deletes with 204, then 404', async () => {
    const c = seen(await ctx.api.post('/api/mcp-servers', httpBody('doomed')));
    expect(seen(await ctx.api.delete(`/api/mcp-servers/${c.body.id}`)).status).toBe(204);
    expect(seen(await ctx.api.get(`/api/mcp-servers/${c.body.id}`)).status).toBe(404);
    expect(seen(await ctx.api.delete(`/api/mcp-servers/${c.body.id}`)).status).toBe(404);
  });
});

describe('/api/integrations', () => {
  it('creates a postgres integration with the connection string masked and encrypted at rest', async () => {
    const r = seen(
      await ctx.api.post('/api/integrations', {
        name: 'Shop DB',
        kind: 'postgres',
        connectionString: SECRET_CONN,
        allowedSchemas: ['public', 'sales'],
      }),
    );
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      name: 'Shop DB',
      kind: 'postgres',
      connectionString: 'postgres://reporter:****@db.example.com:5432/shop?sslmode=require',
      readOnly: true,
      allowedSchemas: ['public', 'sales'],
    });
    const row = await ctx.systemDb.integration.findUniqueOrThrow({ where: { id: r.body.id } });
    expect(row.connectionEncrypted.startsWith('v1:')).toBe(true);
    expect(row.connectionEncrypted).not.toContain(SECRET_PASSWORD);
    expect((await loadIntegrationConnection(ctx.services, ctx.orgA, r.body.id)).connectionString).toBe(SECRET_CONN);
  });

  it('gets, lists, updates and deletes', async () => {
    const c = seen(
      await ctx.api.post('/api/integrations', { name: 'X', kind: 'postgres', connectionString: 'postgresql://h/db' }),
    );
    expect(seen(await ctx.api.get(`/api/integrations/${c.body.id}`)).body.name).toBe('X');
    expect(seen(await ctx.api.get('/api/integrations')).body.data.map((i: { id: string }) => i.id)).toContain(
      c.body.id,
    );
    const u = seen(
      await ctx.api.patch(`/api/integrations/${c.body.id}`, {
        readOnly: false,
        connectionString: `postgresql://u:${SECRET_PASSWORD}@h2/db`,
      }),
    );
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({ readOnly: false, connectionString: 'postgresql://u:****@h2/db' });
    expect(seen(await ctx.api.delete(`/api/integrations/${c.body.id}`)).status).toBe(204);
    expect(seen(await ctx.api.get(`/api/integrations/${c.body.id}`)).status).toBe(404);
  });

  it('422s bad kinds, bad connection strings (without echoing them) and bad schema names', async () => {
    const bad = seen(
      await ctx.api.post('/api/integrations', {
        name: 'x',
        kind: 'postgres',
        connectionString: `mysql://u:${SECRET_PASSWORD}@h/db`,
      }),
    );
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].path).toBe('connectionString');
    expect(
      seen(await ctx.api.post('/api/integrations', { name: 'x', kind: 'mysql', connectionString: 'postgres://h/d' }))
        .status,
    ).toBe(422);
    const schemas = seen(
      await ctx.api.post('/api/integrations', {
        name: 'x',
        kind: 'postgres',
        connectionString: 'postgres://h/d',
        allowedSchemas: ['a;drop'],
      }),
    );
    expect(schemas.status).toBe(422);
    expect(schemas.body.error.details[0].path).toBe('allowedSchemas.0');
    expect(
      seen(
        await ctx.api.post('/api/integrations', {
          name: 'x',
          kind: 'postgres',
          connectionString: 'postgres://h/d',
          ssl: true,
        }),
      ).status,
    ).toBe(422);
  });

  it('isolates orgs', async () => {
    const c = seen(
      await ctx.api.post('/api/integrations', { name: 'mine', kind: 'postgres', connectionString: 'postgres://h/d' }),
    );
    expect(seen(await ctx.as(ctx.keyB).get(`/api/integrations/${c.body.id}`)).status).toBe(404);
    expect(seen(await ctx.as(ctx.keyB).patch(`/api/integrations/${c.body.id}`, { name: 'x' })).status).toBe(404);
  });
});

describe('/api/tools', () => {
  const toolBody = (name: string) => ({
    name,
    description: 'Looks up an order',
    parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
    url: 'https://api.example.com/orders/lookup',
    method: 'POST',
    headers: { 'X-Api-Key': SECRET_TOOL_HEADER },
  });

  it('creates a tool with headers masked and encrypted at rest', async () => {
    const r = seen(await ctx.api.post('/api/tools', toolBody('lookup_order')));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'lookup_order', method: 'POST', headers: { 'X-Api-Key': '****hjkl' } });
    expect(r.body.parameters.required).toEqual(['orderId']);
    const row = await ctx.systemDb.tool.findUniqueOrThrow({ where: { id: r.body.id } });
    expect(row.headersEncrypted).not.toContain(SECRET_TOOL_HEADER);
    expect((await loadToolWithHeaders(ctx.services, ctx.orgA, r.body.id)).headers).toEqual({
      'X-Api-Key': SECRET_TOOL_HEADER,
    });
  });

  it('defaults method, description and parameters', async () => {
    const r = seen(await ctx.api.post('/api/tools', { name: 'ping', url: 'https://api.example.com/ping' }));
    expect(r.body).toMatchObject({
      method: 'POST',
      description: '',
      parameters: { type: 'object', properties: {} },
      headers: null,
    });
  });

  it('409s a duplicate name, 422s bad names, schemas and methods', async () => {
    expect(seen(await ctx.api.post('/api/tools', toolBody('lookup_order'))).status).toBe(409);
    const cases: [unknown, string][] = [
      [{ ...toolBody('x'), name: 'has space' }, 'name'],
      [{ ...toolBody('x'), parameters: { type: 'string' } }, 'parameters.type'],
      [{ ...toolBody('x'), parameters: { type: 'object', properties: 5 } }, 'parameters'],
      [{ ...toolBody('x'), method: 'TRACE' }, 'method'],
      [{ ...toolBody('x'), url: 'not a url' }, 'url'],
      [{ ...toolBody('x'), nope: true }, 'nope'],
    ];
    for (const [body, field] of cases) {
      const r = seen(await ctx.api.post('/api/tools', body));
      expect(r.status).toBe(422);
      expect(r.body.error.details[0].path).toBe(field);
    }
  });

  it('updates (headers null clears them), isolates orgs and deletes', async () => {
    const c = seen(await ctx.api.post('/api/tools', toolBody('to_update')));
    const u = seen(await ctx.api.patch(`/api/tools/${c.body.id}`, { headers: null, method: 'GET' }));
    expect(u.body).toMatchObject({ headers: null, method: 'GET' });
    expect(seen(await ctx.as(ctx.keyB).get(`/api/tools/${c.body.id}`)).status).toBe(404);
    expect(seen(await ctx.api.delete(`/api/tools/${c.body.id}`)).status).toBe(204);
  });
});

describe('/api/skills', () => {
  it('creates, reads, updates, lists and deletes a skill with files', async () => {
    const c = seen(
      await ctx.api.post('/api/skills', {
        name: 'tone',
        instructions: 'Write in a friendly tone.',
        files: [{ name: 'examples/good.md', content: '# Good\nHi there!' }],
      }),
    );
    expect(c.status).toBe(201);
    expect(c.body.files).toEqual([{ name: 'examples/good.md', content: '# Good\nHi there!' }]);
    expect(seen(await ctx.api.get(`/api/skills/${c.body.id}`)).body.name).toBe('tone');
    const u = seen(await ctx.api.patch(`/api/skills/${c.body.id}`, { instructions: 'Be formal.' }));
    expect(u.body).toMatchObject({ instructions: 'Be formal.', files: [{ name: 'examples/good.md' }] });
    expect(seen(await ctx.api.get('/api/skills')).body.data).toHaveLength(1);
    expect(seen(await ctx.as(ctx.keyB).get(`/api/skills/${c.body.id}`)).status).toBe(404);
    expect(seen(await ctx.api.post('/api/skills', { name: 'tone', instructions: 'dup' })).status).toBe(409);
    expect(seen(await ctx.api.delete(`/api/skills/${c.body.id}`)).status).toBe(204);
  });

  it('422s missing instructions, bad file names and unknown fields', async () => {
    expect(seen(await ctx.api.post('/api/skills', { name: 'x' })).body.error.details[0].path).toBe('instructions');
    const f = seen(
      await ctx.api.post('/api/skills', {
        name: 'x',
        instructions: 'y',
        files: [{ name: '../etc/passwd', content: '' }],
      }),
    );
    expect(f.status).toBe(422);
    expect(f.body.error.details[0].path).toBe('files.0.name');
    expect(seen(await ctx.api.post('/api/skills', { name: 'x', instructions: 'y', color: 'red' })).status).toBe(422);
  });
});

describe('secrets in logs', () => {
  it('never writes a secret to the logs, even at trace level', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString('utf8'));
        cb();
      },
    });
    // A plain pino logger without redaction: secrets must not reach the logger at all.
    const log = pino({ level: 'trace' }, sink);
    const app = createApp({
      services: { ...ctx.services, log },
      resolveApiKey: createKeyResolver(ctx.db),
      rateLimit: { ratePerSec: 10_000, burst: 10_000 },
    });
    const call = (method: 'post' | 'patch' | 'get', path: string, body?: unknown) => {
      const t = request(app)[method](path).set('Authorization', `Bearer ${ctx.keyA}`);
      return body === undefined ? t : t.send(body as object);
    };
    const m = seen(await call('post', '/api/mcp-servers', stdioBody('logged')));
    seen(await call('patch', `/api/mcp-servers/${m.body.id}`, { env: { GITHUB_TOKEN: SECRET_ENV } }));
    seen(await call('post', '/api/mcp-servers', httpBody('logged-http')));
    seen(await call('post', '/api/mcp-servers', httpBody('logged-http'))); // 409
    seen(await call('post', '/api/mcp-servers', { ...httpBody('x'), url: 'nope' })); // 422
    const i = seen(
      await call('post', '/api/integrations', { name: 'l', kind: 'postgres', connectionString: SECRET_CONN }),
    );
    seen(await call('get', `/api/integrations/${i.body.id}`));
    seen(await call('post', '/api/integrations', { name: 'l', kind: 'postgres', connectionString: `x${SECRET_CONN}` })); // 422
    seen(
      await call('post', '/api/tools', {
        name: 'logged_tool',
        url: 'https://x.example',
        headers: { A: SECRET_TOOL_HEADER },
      }),
    );
    seen(await call('get', '/api/mcp-servers'));
    seen(await call('get', '/api/tools'));
    const logs = lines.join('');
    expect(logs.length).toBeGreaterThan(0); // the routes do log (at debug), just never secrets
    for (const s of ALL_SECRETS) expect(logs).not.toContain(s);
  });
});

describe('without a secret key', () => {
  it('answers 503 on secret-bearing routes and keeps the rest working', async () => {
    const { secrets: _omit, ...services } = ctx.services;
    const app = createApp({
      services,
      resolveApiKey: createKeyResolver(ctx.db),
      rateLimit: { ratePerSec: 10_000, burst: 10_000 },
    });
    const auth = { Authorization: `Bearer ${ctx.keyA}` };
    const r = seen(await request(app).post('/api/mcp-servers').set(auth).send(httpBody('nokey')));
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('service_unavailable');
    expect(r.body.error.message).toMatch(/FLAPJACK_SECRET_KEY/);
    expect(seen(await request(app).get('/api/integrations').set(auth)).status).toBe(503);
    expect(seen(await request(app).get('/api/skills').set(auth)).status).toBe(200);
  });

  it('answers 503, not 500, when stored secrets were written with another key', async () => {
    const services = { ...ctx.services, secrets: createSecretBox(generateSecretKey()) };
    const app = createApp({
      services,
      resolveApiKey: createKeyResolver(ctx.db),
      rateLimit: { ratePerSec: 10_000, burst: 10_000 },
    });
    const r = seen(
      await request(app)
        .get('/api/mcp-servers')
        .set({ Authorization: `Bearer ${ctx.keyA}` }),
    );
    expect(r.status).toBe(503);
    expect(r.body.error.message).toMatch(/cannot be decrypted/);
  });
});
