import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { hasVectorColumn } from '../src/knowledge/store';
import { retrieveKnowledge } from '../src/services/knowledge';
import { createTestContext, request, type TestContext } from './harness';

/** Knowledge upload, chunking, full-text retrieval, scoping and limits. */

const missing = '00000000-0000-4000-8000-000000000000';
let ctx: TestContext;
let runnerId: string;
let otherRunnerId: string;
let foreignRunnerId: string;

/** A minimal one-page PDF with a text layer (Helvetica), built by hand. */
function makePdf(lines: string[]): Buffer {
  const text = lines
    .map((l, i) => `BT /F1 12 Tf 72 ${720 - i * 16} Td (${l.replace(/([()\\])/g, '\\$1')}) Tj ET`)
    .join('\n');
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(text)} >>\nstream\n${text}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(Buffer.byteLength(out));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

interface UploadOpts {
  key?: string;
  fields?: Record<string, string>;
  file?: { content: Buffer | string; filename: string; contentType?: string; field?: string } | null;
}

function upload(o: UploadOpts) {
  let t = request(ctx.app)
    .post('/api/knowledge/upload')
    .set('Authorization', `Bearer ${o.key ?? ctx.keyA}`);
  for (const [k, v] of Object.entries(o.fields ?? {})) t = t.field(k, v);
  if (o.file !== null && o.file) {
    const content = typeof o.file.content === 'string' ? Buffer.from(o.file.content) : o.file.content;
    t = t.attach(o.file.field ?? 'file', content, {
      filename: o.file.filename,
      ...(o.file.contentType ? { contentType: o.file.contentType } : {}),
    });
  }
  return t;
}

const search = (q: string, extra = '', key?: string) =>
  (key ? ctx.as(key) : ctx.api).get(`/api/knowledge/search?q=${encodeURIComponent(q)}${extra}`);

const catalog = [
  '# Product Catalog',
  '',
  'Our buttermilk pancakes are served with Vermont maple syrup. Each stack has three pancakes.',
  '',
  '## Waffles',
  '',
  'Belgian waffles come with strawberries and whipped cream. The waffle iron is preheated for ten minutes.',
  '',
  ...Array.from(
    { length: 40 },
    (_, i) => `Filler paragraph ${i} about the opening hours of the diner and the parking lot.`,
  ),
].join('\n');

beforeAll(async () => {
  ctx = await createTestContext();
  runnerId = (await ctx.api.post('/api/runners', { name: 'kb' })).body.id;
  otherRunnerId = (await ctx.api.post('/api/runners', { name: 'kb-other' })).body.id;
  foreignRunnerId = (await ctx.as(ctx.keyB).post('/api/runners', { name: 'kb-b' })).body.id;
});
afterAll(async () => {
  await ctx?.client.connection.close().catch(() => undefined);
  await ctx?.db.$disconnect();
});

describe('POST /api/knowledge/upload', () => {
  it('indexes a runner-scoped text file (the spec example) into chunks', async () => {
    const r = await upload({
      fields: { scopeType: 'runner', scopeId: runnerId, title: 'Product Catalog' },
      file: { content: catalog, filename: 'product-catalog.txt', contentType: 'text/plain' },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      title: 'Product Catalog',
      scopeType: 'runner',
      scopeId: runnerId,
      filename: 'product-catalog.txt',
      mimeType: 'text/plain',
      language: 'english',
    });
    expect(r.body.chunks).toBeGreaterThan(1);
    const rows = await ctx.systemDb.knowledgeChunk.findMany({
      where: { docId: r.body.id },
      orderBy: { ordinal: 'asc' },
    });
    expect(rows).toHaveLength(r.body.chunks);
    for (const c of rows) expect(c.content.length).toBeLessThanOrEqual(1200);
  });

  it('indexes org-scoped Markdown, JSON, CSV and PDF', async () => {
    const md = await upload({
      fields: { scopeType: 'org', title: 'Handbook' },
      file: {
        content: '# Refunds\n\nRefunds are issued within 14 days of purchase.',
        filename: 'handbook.md',
        contentType: 'text/plain',
      },
    });
    expect(md.status).toBe(201);
    expect(md.body).toMatchObject({ scopeType: 'org', scopeId: null, mimeType: 'text/markdown', chunks: 1 });
    const json = await upload({
      fields: { scopeType: 'org', title: 'Suppliers' },
      file: {
        content: JSON.stringify({ suppliers: [{ name: 'Acme Flour Mill', city: 'Minneapolis' }] }),
        filename: 's.json',
        contentType: 'application/json',
      },
    });
    expect(json.status).toBe(201);
    const csv = await upload({
      fields: { scopeType: 'org', title: 'Prices' },
      file: {
        content: 'item,price\nblueberry muffin,3.50\ncroissant,2.75\n',
        filename: 'prices.csv',
        contentType: 'text/csv',
      },
    });
    expect(csv.status).toBe(201);
    const pdf = await upload({
      fields: { scopeType: 'org', title: 'Allergens' },
      file: {
        content: makePdf(['Allergen notice: the hazelnut spread contains tree nuts.']),
        filename: 'allergens.pdf',
        contentType: 'application/pdf',
      },
    });
    expect(pdf.status).toBe(201);
    expect(pdf.body.mimeType).toBe('application/pdf');
    for (const [q, title] of [
      ['refunds', 'Handbook'],
      ['Minneapolis flour', 'Suppliers'],
      ['croissant', 'Prices'],
      ['hazelnut', 'Allergens'],
    ] as const) {
      const r = await search(q);
      expect(r.status).toBe(200);
      expect(r.body.data[0]?.title).toBe(title);
    }
  });

  it('takes the title from the file name when none is given', async () => {
    const r = await upload({
      fields: { scopeType: 'org' },
      file: { content: 'Untitled notes about griddles.', filename: 'griddle-notes.txt' },
    });
    expect(r.status).toBe(201);
    expect(r.body.title).toBe('griddle-notes.txt');
  });

  it('413s a file over 10 MB', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024 + 1, 'a');
    const r = await upload({
      fields: { scopeType: 'org' },
      file: { content: big, filename: 'big.txt', contentType: 'text/plain' },
    });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
    expect(r.body.error.message).toMatch(/10 MB/);
  });

  it('422s unsupported types, naming file', async () => {
    for (const file of [
      { content: Buffer.from([0x89, 0x50, 0x4e, 0x47]), filename: 'logo.png', contentType: 'image/png' },
      { content: 'MZ', filename: 'setup.exe', contentType: 'application/octet-stream' },
      { content: 'PK', filename: 'a.zip', contentType: 'application/zip' },
    ]) {
      const r = await upload({ fields: { scopeType: 'org' }, file });
      expect(r.status).toBe(422);
      expect(r.body.error.details[0].path).toBe('file');
      expect(r.body.error.details[0].message).toMatch(/unsupported type/);
    }
  });

  it('422s unreadable content: invalid JSON, binary text, a fake PDF, an empty file', async () => {
    const cases = [
      { content: '{not json', filename: 'x.json', contentType: 'application/json', msg: /not valid JSON/ },
      { content: Buffer.from([0xc3, 0x28, 0xa0]), filename: 'x.txt', contentType: 'text/plain', msg: /UTF-8/ },
      { content: 'plain text', filename: 'x.pdf', contentType: 'application/pdf', msg: /not a PDF/ },
      { content: '   \n', filename: 'x.txt', contentType: 'text/plain', msg: /empty/ },
    ];
    for (const { msg, ...file } of cases) {
      const r = await upload({ fields: { scopeType: 'org' }, file });
      expect(r.status).toBe(422);
      expect(r.body.error.details[0]).toMatchObject({ path: 'file', message: expect.stringMatching(msg) });
    }
  });

  it('422s missing or bad fields', async () => {
    const file = { content: 'hello', filename: 'a.txt', contentType: 'text/plain' };
    const cases: [UploadOpts, string][] = [
      [{ fields: { scopeType: 'org' }, file: null }, 'file'],
      [{ fields: {}, file }, 'scopeType'],
      [{ fields: { scopeType: 'team' }, file }, 'scopeType'],
      [{ fields: { scopeType: 'runner' }, file }, 'scopeId'],
      [{ fields: { scopeType: 'org', scopeId: runnerId }, file }, 'scopeId'],
      [{ fields: { scopeType: 'org', colour: 'red' }, file }, 'colour'],
      [{ fields: { scopeType: 'org', language: 'klingon' }, file }, 'language'],
      [{ fields: { scopeType: 'org' }, file: { ...file, field: 'document' } }, 'document'],
    ];
    for (const [o, path] of cases) {
      const r = await upload(o);
      expect(r.status).toBe(422);
      expect(r.body.error.details[0].path).toBe(path);
    }
    const json = await ctx.api.post('/api/knowledge/upload', { scopeType: 'org' });
    expect(json.status).toBe(422);
    expect(json.body.error.details[0].path).toBe('file');
  });

  it('404s a runner scope that is not a runner of the org', async () => {
    for (const scopeId of [foreignRunnerId, missing, 'not-a-uuid']) {
      const r = await upload({ fields: { scopeType: 'runner', scopeId }, file: { content: 'x', filename: 'a.txt' } });
      expect(r.status).toBe(404);
    }
  });

  it('needs an API key', async () => {
    const r = await request(ctx.app).post('/api/knowledge/upload').attach('file', Buffer.from('x'), 'a.txt');
    expect(r.status).toBe(401);
  });
});

describe('retrieval', () => {
  beforeAll(async () => {
    const r = await upload({
      fields: { scopeType: 'runner', scopeId: otherRunnerId, title: 'Secret Menu' },
      file: { content: 'The secret menu has lavender pancakes with honey.', filename: 'secret.txt' },
    });
    expect(r.status).toBe(201);
  });

  it('finds org docs plus the given runner’s docs, never another runner’s', async () => {
    const withRunner = await search('pancakes', `&runnerId=${runnerId}`);
    expect(withRunner.status).toBe(200);
    const titles = withRunner.body.data.map((h: { title: string }) => h.title);
    expect(titles).toContain('Product Catalog');
    expect(titles).not.toContain('Secret Menu');
    const other = await search('pancakes', `&runnerId=${otherRunnerId}`);
    expect(other.body.data.map((h: { title: string }) => h.title)).toEqual(['Secret Menu']);
    const orgOnly = await search('pancakes');
    expect(orgOnly.body.data).toEqual([]);
    expect(orgOnly.body.nextCursor).toBeNull();
  });

  it('returns chunks with their sources, ranked', async () => {
    const r = await search('maple syrup pancakes', `&runnerId=${runnerId}&k=3`);
    expect(r.body.data.length).toBeGreaterThan(0);
    expect(r.body.data.length).toBeLessThanOrEqual(3);
    const top = r.body.data[0];
    expect(top).toMatchObject({
      docId: expect.any(String),
      chunkId: expect.any(String),
      title: 'Product Catalog',
      scopeType: 'runner',
      scopeId: runnerId,
    });
    expect(top.content).toContain('maple syrup');
    expect(top.rank).toBeGreaterThan(0);
    const ranks = r.body.data.map((h: { rank: number }) => h.rank);
    expect([...ranks].sort((a, b) => b - a)).toEqual(ranks);
  });

  it('is language-aware (stemming) and understands web search syntax', async () => {
    const stem = await search('waffle', `&runnerId=${runnerId}`);
    expect(stem.body.data[0].content).toContain('Belgian waffles');
    const phrase = await search('"whipped cream"', `&runnerId=${runnerId}`);
    expect(phrase.body.data).toHaveLength(1);
    const excluded = await search('pancakes -syrup', `&runnerId=${otherRunnerId}`);
    expect(excluded.body.data.map((h: { title: string }) => h.title)).toEqual(['Secret Menu']);
    const none = await search('the and of', `&runnerId=${runnerId}`);
    expect(none.status).toBe(200);
    expect(none.body.data).toEqual([]);
  });

  it('uses the document’s language', async () => {
    const r = await upload({
      fields: { scopeType: 'org', title: 'Rezepte', language: 'german' },
      file: { content: 'Die Pfannkuchen werden mit Puderzucker serviert.', filename: 'rezepte.txt' },
    });
    expect(r.status).toBe(201);
    expect(r.body.language).toBe('german');
    const hit = await search('Pfannkuchen');
    expect(hit.body.data[0]?.title).toBe('Rezepte');
  });

  it('retrieveKnowledge serves agent steps the same way; an embedder without pgvector is not called', async () => {
    let calls = 0;
    const embedder = {
      model: 'fake',
      embed: async (texts: string[]) => {
        calls++;
        return texts.map(() => [1, 0, 0]);
      },
    };
    const hits = await retrieveKnowledge(ctx.services, ctx.orgA, runnerId, 'strawberries', 2, { embedder });
    expect(hits[0]).toMatchObject({ title: 'Product Catalog', scopeType: 'runner' });
    expect(hits[0]?.content).toContain('strawberries');
    if (!(await hasVectorColumn(ctx.db))) expect(calls).toBe(0);
    expect(await retrieveKnowledge(ctx.services, ctx.orgA, null, '   ', 5)).toEqual([]);
    const orgOnly = await retrieveKnowledge(ctx.services, ctx.orgA, 'not-a-runner-id', 'refunds', 5);
    expect(orgOnly.map((h) => h.title)).toEqual(['Handbook']);
  });

  it('422s a bad query and 404s a foreign runner', async () => {
    expect((await ctx.api.get('/api/knowledge/search')).status).toBe(422);
    expect((await search('x', '&k=0')).status).toBe(422);
    expect((await search('x', '&k=51')).status).toBe(422);
    expect((await search('x', '&runnerId=nope')).status).toBe(422);
    expect((await search('x', `&runnerId=${foreignRunnerId}`)).status).toBe(404);
    expect((await search('x', `&runnerId=${missing}`)).status).toBe(404);
  });
});

describe('documents and isolation', () => {
  it('lists, filters, gets and deletes documents', async () => {
    const all = await ctx.api.get('/api/knowledge?limit=200');
    expect(all.status).toBe(200);
    expect(all.body.data.length).toBeGreaterThanOrEqual(6);
    const runnerDocs = await ctx.api.get(`/api/knowledge?scopeType=runner&scopeId=${runnerId}`);
    expect(runnerDocs.body.data.map((d: { title: string }) => d.title)).toEqual(['Product Catalog']);
    const doc = runnerDocs.body.data[0];
    expect(doc.chunks).toBeGreaterThan(1);
    expect((await ctx.api.get(`/api/knowledge/${doc.id}`)).body).toEqual(doc);
    const p1 = await ctx.api.get('/api/knowledge?limit=2');
    const p2 = await ctx.api.get(`/api/knowledge?limit=2&cursor=${p1.body.nextCursor}`);
    expect(p2.body.data[0].id).not.toBe(p1.body.data[0].id);

    const tmp = await upload({
      fields: { scopeType: 'org', title: 'Temporary' },
      file: { content: 'zucchini bread recipe', filename: 't.txt' },
    });
    expect((await search('zucchini')).body.data).toHaveLength(1);
    expect((await ctx.api.delete(`/api/knowledge/${tmp.body.id}`)).status).toBe(204);
    expect((await search('zucchini')).body.data).toEqual([]);
    expect(await ctx.systemDb.knowledgeChunk.count({ where: { docId: tmp.body.id } })).toBe(0);
    expect((await ctx.api.get(`/api/knowledge/${tmp.body.id}`)).status).toBe(404);
    expect((await ctx.api.delete(`/api/knowledge/${tmp.body.id}`)).status).toBe(404);
  });

  it('keeps orgs apart', async () => {
    const b = ctx.as(ctx.keyB);
    expect((await b.get('/api/knowledge')).body.data).toEqual([]);
    expect((await search('pancakes', '', ctx.keyB)).body.data).toEqual([]);
    expect((await search('refunds', '', ctx.keyB)).body.data).toEqual([]);
    const a = (await ctx.api.get('/api/knowledge')).body.data[0];
    expect((await b.get(`/api/knowledge/${a.id}`)).status).toBe(404);
    expect((await b.delete(`/api/knowledge/${a.id}`)).status).toBe(404);
    expect((await ctx.api.get(`/api/knowledge/${a.id}`)).status).toBe(200);
    // Even retrieval called with A's runner id, as org B, finds nothing of A.
    expect(await retrieveKnowledge(ctx.services, ctx.orgB, runnerId, 'pancakes', 5)).toEqual([]);
  });
});
