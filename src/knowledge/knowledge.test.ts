import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { chunkCsv, chunkText } from './chunk';
import { createOpenAiEmbedder } from './embed';
import { detectKind, extractText } from './extract';
import { fuseRankings, type KnowledgeHit } from './store';

const sentence = (i: number) => `Sentence number ${i} talks about pancakes and maple syrup in some detail.`;
const paragraph = (from: number, n: number) => Array.from({ length: n }, (_, i) => sentence(from + i)).join(' ');

describe('chunkText', () => {
  it('keeps a short text as one chunk', () => {
    expect(chunkText('Hello world.')).toEqual(['Hello world.']);
    expect(chunkText('')).toEqual([]);
    expect(chunkText('\n\n  \n')).toEqual([]);
  });

  it('makes chunks of at most 1200 characters, mostly 800 or more, from paragraphs', () => {
    const text = Array.from({ length: 30 }, (_, p) => paragraph(p * 5, 5)).join('\n\n');
    const chunks = chunkText(text);
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(1200);
    for (const c of chunks.slice(0, -1)) expect(c.length).toBeGreaterThanOrEqual(800);
    // Every sentence survives.
    const joined = chunks.join('\n');
    for (let i = 0; i < 150; i++) expect(joined).toContain(sentence(i));
  });

  it('cuts on sentence boundaries inside long paragraphs', () => {
    const chunks = chunkText(paragraph(0, 60));
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(1200);
      expect(c.endsWith('.')).toBe(true);
      expect(c.startsWith('Sentence number')).toBe(true);
    }
  });

  it('overlaps consecutive chunks by the previous last sentence', () => {
    const chunks = chunkText(paragraph(0, 60));
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1] as string;
      const lastSentence = prev.slice(prev.lastIndexOf('Sentence number'));
      expect((chunks[i] as string).startsWith(lastSentence)).toBe(true);
    }
  });

  it('splits text without any boundary hard, within the limit', () => {
    const chunks = chunkText('x'.repeat(5000));
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(1200);
    expect(chunks.join('').replace(/\s/g, '').length).toBeGreaterThanOrEqual(5000);
  });

  it('starts new paragraphs at Markdown headings', () => {
    const md = `# Title\n${'Intro text. '.repeat(60)}\n## Pricing\nPancakes cost 5 dollars.`;
    const chunks = chunkText(md);
    expect(chunks.some((c) => c.includes('## Pricing\n\nPancakes cost') || c.includes('## Pricing'))).toBe(true);
    expect(chunks.every((c) => c.length <= 1200)).toBe(true);
  });

  it('honours custom sizes', () => {
    const chunks = chunkText(paragraph(0, 20), { max: 300, overlap: 0 });
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(300);
    expect(chunks.length).toBeGreaterThan(4);
  });
});

describe('chunkCsv', () => {
  it('keeps whole rows and repeats the header in every chunk', () => {
    const header = 'sku,name,price';
    const rows = Array.from({ length: 200 }, (_, i) => `SKU-${i},Product number ${i} with a long name,${i}.99`);
    const chunks = chunkCsv([header, ...rows].join('\n'));
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(c.startsWith(`${header}\n`)).toBe(true);
      expect(c.length).toBeLessThanOrEqual(1200);
    }
    const allRows = chunks.flatMap((c) => c.split('\n').slice(1));
    expect(allRows).toEqual(rows);
  });

  it('handles a header-only file and an empty file', () => {
    expect(chunkCsv('a,b')).toEqual(['a,b']);
    expect(chunkCsv('')).toEqual([]);
  });

  it('keeps a quoted field with commas and line breaks inside one record, never splitting it', () => {
    const header = 'id,notes';
    const quoted = '2,"first line, with a comma\nsecond line ""quoted""\nthird line"';
    const rows = ['1,plain', quoted, ...Array.from({ length: 40 }, (_, i) => `${i + 3},row ${i + 3} of filler text`)];
    const chunks = chunkCsv([header, ...rows].join('\n'), { max: 200 });
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.startsWith(`${header}\n`)).toBe(true);
    const holding = chunks.filter((c) => c.includes('first line'));
    expect(holding).toHaveLength(1);
    expect(holding[0]).toContain(quoted);
    // Blank lines between records are not records.
    expect(chunkCsv('a,b\n\n1,2\n\n3,4\n')).toEqual(['a,b\n1,2\n3,4']);
  });

  it('refuses a CSV with an unterminated quote as a 422 naming the file', () => {
    expect(() => chunkCsv('a,b\n"open,1\n')).toThrow(
      expect.objectContaining({ code: 'validation_failed', status: 422 }),
    );
    expect(() => chunkCsv('a,b\n"open,1\n')).toThrow(/not valid CSV/);
  });
});

describe('detectKind', () => {
  it('trusts specific content types and uses the extension for generic ones', () => {
    expect(detectKind('text/plain', 'a.txt')).toBe('text');
    expect(detectKind('text/plain', 'a.md')).toBe('markdown');
    expect(detectKind('text/plain; charset=utf-8', 'data.csv')).toBe('csv');
    expect(detectKind('text/markdown', 'x')).toBe('markdown');
    expect(detectKind('application/json', 'x.bin')).toBe('json');
    expect(detectKind('text/csv', 'x')).toBe('csv');
    expect(detectKind('application/pdf', 'x')).toBe('pdf');
    expect(detectKind('application/octet-stream', 'doc.pdf')).toBe('pdf');
    expect(detectKind('application/octet-stream', 'notes.markdown')).toBe('markdown');
    expect(detectKind('text/plain', 'fake.pdf')).toBe('text');
  });

  it('refuses everything else', () => {
    expect(detectKind('image/png', 'a.png')).toBeNull();
    expect(detectKind('application/octet-stream', 'a.exe')).toBeNull();
    expect(detectKind('application/zip', 'a.md')).toBeNull();
  });
});

describe('extractText', () => {
  it('normalises line ends and pretty-prints JSON', async () => {
    expect(await extractText('text', Buffer.from('\uFEFFa  \r\nb\r\n'))).toBe('a\nb');
    expect(await extractText('json', Buffer.from('{"a":[1,2]}'))).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
  });

  it('422s invalid UTF-8, binary text and invalid JSON', async () => {
    await expect(extractText('text', Buffer.from([0xff, 0xfe, 0xfd]))).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(extractText('text', Buffer.from('a\u0000b'))).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(extractText('json', Buffer.from('{nope'))).rejects.toMatchObject({
      details: [{ path: 'file', message: 'is not valid JSON' }],
    });
    await expect(extractText('pdf', Buffer.from('not a pdf'))).rejects.toMatchObject({ code: 'validation_failed' });
  });
});

describe('fuseRankings', () => {
  const hit = (id: string): KnowledgeHit => ({
    chunkId: id,
    docId: 'd',
    title: 't',
    scopeType: 'org',
    scopeId: null,
    content: id,
    rank: 0,
  });

  it('ranks hits found by both searches first', () => {
    const fused = fuseRankings(
      [
        [hit('a'), hit('b'), hit('c')],
        [hit('c'), hit('d'), hit('a')],
      ],
      3,
    );
    expect(fused.map((h) => h.chunkId)).toEqual(['a', 'c', 'b']);
    expect(fused[0]?.rank).toBeCloseTo(1 / 61 + 1 / 63);
  });

  it('handles empty lists', () => {
    expect(fuseRankings([[], []], 5)).toEqual([]);
    expect(fuseRankings([[hit('x')], []], 5).map((h) => h.chunkId)).toEqual(['x']);
  });
});

describe('createOpenAiEmbedder', () => {
  it('posts to /embeddings and returns the vectors in input order', async () => {
    let seen: { auth?: string; body?: unknown } = {};
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        seen = { auth: req.headers.authorization, body: JSON.parse(raw) };
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            data: [
              { index: 1, embedding: [0, 1] },
              { index: 0, embedding: [1, 0] },
            ],
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const e = createOpenAiEmbedder({ apiKey: 'k', baseUrl: `http://127.0.0.1:${port}/v1/`, model: 'tiny' });
      expect(await e.embed(['a', 'b'])).toEqual([
        [1, 0],
        [0, 1],
      ]);
      expect(seen).toEqual({ auth: 'Bearer k', body: { model: 'tiny', input: ['a', 'b'] } });
    } finally {
      server.close();
    }
  });
});
