/**
 * Knowledge: documents uploaded for an org or for one runner, split into chunks and retrieved for
 * agent steps.
 *
 * - Types: plain text, Markdown, JSON, CSV and PDF (its text layer, via pdf-parse). Text must be UTF-8.
 * - Chunks of about 800–1200 characters, cut at paragraph, then sentence, then word boundaries, with a
 *   small overlap (the previous chunk's last sentence, up to ~150 characters) so a fact that straddles a
 *   cut is still found. CSV chunks are whole rows, each chunk starting with the header row.
 * - Retrieval is PostgreSQL full-text search: `websearch_to_tsquery(<doc language>, query)` against the
 *   chunk's `tsv` (GIN index, kept by a trigger), ranked by `ts_rank_cd`. No embedding service needed.
 * - When an embedder is given and the `embedding` column exists (pgvector), chunks are embedded at upload
 *   and queries are also matched by cosine distance; both rankings are fused with reciprocal rank fusion.
 */
import type { PrismaClient } from '../db/client';
import { withOrg, type Tx } from '../db/scoped';
import { AppError } from '../errors/app-error';
import type { KnowledgeDoc } from '../generated/prisma/client';
import type { ServiceDeps } from './deps';
import { afterCursor, decodeCursor, newestFirst, page } from './pagination';
import { requireRunner } from './runners';

/* ---------------------------------------------------------------------------------------------- */
/* limits and types                                                                                */
/* ---------------------------------------------------------------------------------------------- */

export const KNOWLEDGE_LIMITS = {
  /** Largest file accepted (bytes); larger uploads get 413. */
  maxFileBytes: 10 * 1024 * 1024,
  /** Most chunks one document may produce. */
  maxChunks: 20_000,
  chunkTarget: 1000,
  chunkMax: 1200,
  overlap: 150,
} as const;

export type KnowledgeKind = 'text' | 'markdown' | 'json' | 'csv' | 'pdf';

export const KIND_MIME: Record<KnowledgeKind, string> = {
  text: 'text/plain',
  markdown: 'text/markdown',
  json: 'application/json',
  csv: 'text/csv',
  pdf: 'application/pdf',
};

const MIME_KIND: Record<string, KnowledgeKind> = {
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'application/json': 'json',
  'text/json': 'json',
  'text/csv': 'csv',
  'application/csv': 'csv',
  'application/pdf': 'pdf',
};

const EXT_KIND: Record<string, KnowledgeKind> = {
  txt: 'text',
  text: 'text',
  md: 'markdown',
  markdown: 'markdown',
  json: 'json',
  csv: 'csv',
  pdf: 'pdf',
};

/** Content types browsers and curl send when they do not know better. */
const GENERIC_MIME = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

/**
 * The document kind from its declared content type and file name: a specific content type decides;
 * `text/plain` or a generic type defer to the extension (`.md` sent as text/plain is Markdown).
 */
export function detectKind(mimetype: string, filename: string): KnowledgeKind | null {
  const mime = mimetype.split(';')[0]?.trim().toLowerCase() ?? '';
  const ext = /\.([A-Za-z0-9]+)$/.exec(filename)?.[1]?.toLowerCase() ?? '';
  const byExt = EXT_KIND[ext];
  const byMime = MIME_KIND[mime];
  if (byMime === 'text' && byExt && byExt !== 'pdf') return byExt;
  if (byMime) return byMime;
  if (GENERIC_MIME.has(mime) || mime.startsWith('text/')) return byExt ?? (mime.startsWith('text/') ? 'text' : null);
  return null;
}

/* ---------------------------------------------------------------------------------------------- */
/* text extraction                                                                                 */
/* ---------------------------------------------------------------------------------------------- */

const fileIssue = (message: string) => AppError.validation([{ path: 'file', message }]);

function decodeUtf8(buf: Buffer): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw fileIssue('is not valid UTF-8 text');
  }
  if (text.includes('\u0000')) throw fileIssue('looks binary (contains NUL bytes), not text');
  return text.replace(/^\uFEFF/, '');
}

async function pdfText(buf: Buffer): Promise<string> {
  if (buf.subarray(0, 5).toString('latin1') !== '%PDF-') throw fileIssue('is not a PDF (no %PDF- header)');
  const { PDFParse } = await import('pdf-parse');
  const parser = new PDFParse({ data: new Uint8Array(buf) });
  try {
    const r = await parser.getText({ pageJoiner: '' });
    return r.text;
  } catch {
    throw fileIssue('could not be read as a PDF (damaged or encrypted?)');
  } finally {
    await parser.destroy().catch(() => undefined);
  }
}

/** The text of a document of `kind`, normalised (LF line ends, no trailing spaces). */
export async function extractText(kind: KnowledgeKind, buf: Buffer): Promise<string> {
  let text: string;
  if (kind === 'pdf') {
    text = await pdfText(buf);
  } else {
    text = decodeUtf8(buf);
    if (kind === 'json') {
      try {
        text = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        throw fileIssue('is not valid JSON');
      }
    }
  }
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+\n/g, '\n')
    .trim();
}

/* ---------------------------------------------------------------------------------------------- */
/* chunking                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

export interface ChunkOptions {
  target?: number;
  max?: number;
  overlap?: number;
}

/** Cuts `s` into pieces of at most `max`, at a newline or space when one is near the end, else hard. */
function hardSplit(s: string, max: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (rest.length > max) {
    const window = rest.slice(0, max);
    let cut = Math.max(window.lastIndexOf('\n'), window.lastIndexOf(' '));
    if (cut < max * 0.5) cut = max;
    out.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest) out.push(rest);
  return out.filter(Boolean);
}

const SENTENCE_END = /(?<=[.!?。！？])\s+/;

function splitSentences(paragraph: string, max: number): string[] {
  return paragraph
    .split(SENTENCE_END)
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((s) => (s.length > max ? hardSplit(s, max) : [s]));
}

/** The tail of a chunk to repeat at the start of the next: its last sentence, at most `overlap` characters. */
function overlapTail(chunk: string, overlap: number): string {
  if (overlap <= 0) return '';
  const sentences = chunk.split(SENTENCE_END);
  const last = sentences[sentences.length - 1]?.trim() ?? '';
  if (last && last.length <= overlap && last.length < chunk.length) return last;
  const tail = chunk.slice(-overlap);
  const space = tail.search(/\s/);
  return space >= 0 ? tail.slice(space + 1).trim() : '';
}

/**
 * Splits text into chunks of about `target`–`max` characters on paragraph, then sentence, then word
 * boundaries; each chunk after the first starts with a short overlap from the previous one.
 */
export function chunkText(text: string, opts: ChunkOptions = {}): string[] {
  const max = opts.max ?? KNOWLEDGE_LIMITS.chunkMax;
  const overlap = Math.min(opts.overlap ?? KNOWLEDGE_LIMITS.overlap, Math.floor(max / 4));
  const unitMax = max - overlap - 2;
  // Markdown headings start a new paragraph even without a blank line before them.
  const paragraphs = text
    .replace(/\n(?=#{1,6}\s)/g, '\n\n')
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean);

  const units: { text: string; newParagraph: boolean }[] = [];
  for (const p of paragraphs) {
    if (p.length <= unitMax) {
      units.push({ text: p, newParagraph: true });
    } else {
      splitSentences(p, unitMax).forEach((s, i) => units.push({ text: s, newParagraph: i === 0 }));
    }
  }

  const chunks: string[] = [];
  let current = '';
  for (const u of units) {
    const sep = current ? (u.newParagraph ? '\n\n' : ' ') : '';
    if (current && current.length + sep.length + u.text.length > max) {
      chunks.push(current);
      const tail = overlapTail(current, overlap);
      current = tail ? `${tail}${u.newParagraph ? '\n\n' : ' '}${u.text}` : u.text;
    } else {
      current += sep + u.text;
    }
  }
  if (current) chunks.push(current);
  return chunks;
}

/** CSV: whole rows per chunk, each chunk starting with the header row (no overlap needed). */
export function chunkCsv(text: string, opts: ChunkOptions = {}): string[] {
  const max = opts.max ?? KNOWLEDGE_LIMITS.chunkMax;
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines.shift();
  if (header === undefined) return [];
  if (lines.length === 0) return [header];
  const chunks: string[] = [];
  let rows: string[] = [];
  let size = header.length;
  for (const row of lines) {
    if (rows.length && size + 1 + row.length > max) {
      chunks.push([header, ...rows].join('\n'));
      rows = [];
      size = header.length;
    }
    if (header.length + 1 + row.length > max) {
      // A single huge row: split it like text, each piece under the header.
      for (const piece of hardSplit(row, Math.max(100, max - header.length - 1))) chunks.push(`${header}\n${piece}`);
      continue;
    }
    rows.push(row);
    size += 1 + row.length;
  }
  if (rows.length) chunks.push([header, ...rows].join('\n'));
  return chunks;
}

export function chunkDocument(kind: KnowledgeKind, text: string, opts: ChunkOptions = {}): string[] {
  return kind === 'csv' ? chunkCsv(text, opts) : chunkText(text, opts);
}

/* ---------------------------------------------------------------------------------------------- */
/* embeddings (optional)                                                                           */
/* ---------------------------------------------------------------------------------------------- */

/** An embedding provider; when given and pgvector is there, retrieval is hybrid. */
export interface Embedder {
  /** Identifies the vector space; vectors of different models are never compared. */
  model: string;
  embed(texts: string[]): Promise<number[][]>;
}

export interface KnowledgeOptions {
  embedder?: Embedder;
  maxFileBytes?: number;
}

/**
 * An embedder for any OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama, vLLM, llama.cpp).
 * The endpoint is operator configuration, not user input, so it is not egress-guarded.
 */
export function createOpenAiEmbedder(o: {
  apiKey?: string;
  baseUrl?: string;
  model: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}): Embedder {
  const base = (o.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  const doFetch = o.fetch ?? fetch;
  return {
    model: o.model,
    async embed(texts) {
      const res = await doFetch(`${base}/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
        body: JSON.stringify({ model: o.model, input: texts }),
        signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
      });
      if (!res.ok) throw new Error(`embedding request failed with HTTP ${res.status}`);
      const body = (await res.json()) as { data?: { index: number; embedding: number[] }[] };
      const data = [...(body.data ?? [])].sort((a, b) => a.index - b.index);
      if (data.length !== texts.length) throw new Error('embedding response has the wrong number of vectors');
      return data.map((d) => d.embedding);
    },
  };
}

const vectorSupport = new WeakMap<PrismaClient, Promise<boolean>>();

/** Whether `knowledge_chunks.embedding` exists (pgvector installed when the migration ran); cached. */
export function hasVectorColumn(db: PrismaClient): Promise<boolean> {
  let p = vectorSupport.get(db);
  if (!p) {
    p = db
      .$queryRaw<{ present: boolean }[]>`
        SELECT EXISTS (
          SELECT 1 FROM information_schema.columns
          WHERE table_name = 'knowledge_chunks' AND column_name = 'embedding'
        ) AS present`
      .then((rows) => rows[0]?.present === true)
      .catch(() => false);
    vectorSupport.set(db, p);
  }
  return p;
}

const toVectorLiteral = (v: number[]) => `[${v.map((x) => (Number.isFinite(x) ? x : 0)).join(',')}]`;

/* ---------------------------------------------------------------------------------------------- */
/* documents                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

export interface KnowledgeUpload {
  file: { buffer: Buffer; originalname: string; mimetype: string; size: number };
  scopeType: 'org' | 'runner';
  scopeId?: string;
  title?: string;
  language?: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function serializeKnowledgeDoc(d: KnowledgeDoc, chunks: number) {
  return {
    id: d.id,
    title: d.title,
    scopeType: d.scopeType as 'org' | 'runner',
    scopeId: d.scopeId,
    filename: d.filename,
    mimeType: d.mimeType,
    sizeBytes: d.sizeBytes,
    language: d.language,
    chunks,
    createdAt: d.createdAt.toISOString(),
  };
}

async function checkLanguage(tx: Tx, language: string): Promise<void> {
  const rows = await tx.$queryRaw<{ ok: boolean }[]>`SELECT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = ${language}) AS ok`;
  if (!rows[0]?.ok) {
    throw AppError.validation([
      { path: 'language', message: 'is not a text search configuration of this database (for example english, german, simple)' },
    ]);
  }
}

const INSERT_BATCH = 500;
const EMBED_BATCH = 64;

/** Stores a document and its chunks; 422 for unsupported or unreadable files, 404 for a foreign runner. */
export async function uploadKnowledge(deps: ServiceDeps, orgId: string, up: KnowledgeUpload, opts: KnowledgeOptions = {}) {
  const maxBytes = opts.maxFileBytes ?? KNOWLEDGE_LIMITS.maxFileBytes;
  if (up.file.size > maxBytes) {
    throw new AppError('payload_too_large', `file is larger than the limit of ${Math.round(maxBytes / 1024 / 1024)} MB`);
  }
  const kind = detectKind(up.file.mimetype, up.file.originalname);
  if (!kind) {
    throw fileIssue(
      `has an unsupported type (${up.file.mimetype || 'unknown'}); upload plain text, Markdown, JSON, CSV or PDF`,
    );
  }
  let scopeId: string | null = null;
  if (up.scopeType === 'runner') {
    if (!up.scopeId) throw AppError.validation([{ path: 'scopeId', message: 'is required when scopeType is runner' }]);
    if (!UUID_RE.test(up.scopeId)) throw AppError.notFound('Runner');
    scopeId = up.scopeId.toLowerCase();
  } else if (up.scopeId) {
    throw AppError.validation([{ path: 'scopeId', message: 'must be left out when scopeType is org' }]);
  }
  const language = up.language ?? 'english';

  // Cheap checks before the (possibly slow) extraction.
  await withOrg(deps.db, orgId, async (tx) => {
    if (scopeId) await requireRunner(tx, scopeId);
    await checkLanguage(tx, language);
  });

  const text = await extractText(kind, up.file.buffer);
  if (!text) throw fileIssue(kind === 'pdf' ? 'has no text layer (scanned PDFs are not supported)' : 'is empty');
  const chunks = chunkDocument(kind, text);
  if (chunks.length > KNOWLEDGE_LIMITS.maxChunks) {
    throw fileIssue(`is too long: it makes ${chunks.length} chunks, the limit is ${KNOWLEDGE_LIMITS.maxChunks}`);
  }

  const doc = await withOrg(
    deps.db,
    orgId,
    async (tx) => {
      if (scopeId) await requireRunner(tx, scopeId);
      const d = await tx.knowledgeDoc.create({
        data: {
          orgId,
          scopeType: up.scopeType,
          scopeId,
          title: up.title ?? up.file.originalname.slice(0, 500),
          filename: up.file.originalname.slice(0, 500),
          mimeType: KIND_MIME[kind],
          sizeBytes: up.file.size,
          language,
        },
      });
      for (let i = 0; i < chunks.length; i += INSERT_BATCH) {
        await tx.knowledgeChunk.createMany({
          data: chunks.slice(i, i + INSERT_BATCH).map((content, j) => ({ orgId, docId: d.id, ordinal: i + j, content, language })),
        });
      }
      return d;
    },
    { timeoutMs: 120_000 },
  );
  deps.log.info({ orgId, docId: doc.id, kind, chunks: chunks.length, bytes: up.file.size }, 'knowledge document indexed');

  if (opts.embedder && (await hasVectorColumn(deps.db))) {
    await embedDocument(deps, orgId, doc.id, opts.embedder).catch((e: unknown) =>
      deps.log.warn({ err: e, docId: doc.id }, 'could not embed knowledge document; full-text search still works'),
    );
  }
  return serializeKnowledgeDoc(doc, chunks.length);
}

async function embedDocument(deps: ServiceDeps, orgId: string, docId: string, embedder: Embedder): Promise<void> {
  const rows = await withOrg(deps.db, orgId, (tx) =>
    tx.knowledgeChunk.findMany({ where: { docId }, orderBy: { ordinal: 'asc' }, select: { id: true, content: true } }),
  );
  for (let i = 0; i < rows.length; i += EMBED_BATCH) {
    const batch = rows.slice(i, i + EMBED_BATCH);
    const vectors = await embedder.embed(batch.map((r) => r.content));
    await withOrg(deps.db, orgId, async (tx) => {
      for (const [j, r] of batch.entries()) {
        const v = vectors[j];
        if (!v) continue;
        await tx.$executeRaw`UPDATE knowledge_chunks SET embedding = ${toVectorLiteral(v)}::vector, embedding_model = ${embedder.model} WHERE id = ${r.id}::uuid`;
      }
    });
  }
}

export async function listKnowledgeDocs(
  deps: ServiceDeps,
  orgId: string,
  q: { scopeType?: 'org' | 'runner'; scopeId?: string; limit: number; cursor?: string },
) {
  const cursor = decodeCursor(q.cursor);
  return withOrg(deps.db, orgId, async (tx) => {
    const rows = await tx.knowledgeDoc.findMany({
      where: {
        ...(q.scopeType ? { scopeType: q.scopeType } : {}),
        ...(q.scopeId ? { scopeId: q.scopeId } : {}),
        ...afterCursor(cursor),
      },
      orderBy: newestFirst,
      take: q.limit + 1,
      include: { _count: { select: { chunks: true } } },
    });
    return page(rows, q.limit, (d) => serializeKnowledgeDoc(d, d._count.chunks));
  });
}

export async function getKnowledgeDoc(deps: ServiceDeps, orgId: string, id: string) {
  return withOrg(deps.db, orgId, async (tx) => {
    const d = await tx.knowledgeDoc.findFirst({ where: { id }, include: { _count: { select: { chunks: true } } } });
    if (!d) throw AppError.notFound('Knowledge document');
    return serializeKnowledgeDoc(d, d._count.chunks);
  });
}

export async function deleteKnowledgeDoc(deps: ServiceDeps, orgId: string, id: string): Promise<void> {
  await withOrg(deps.db, orgId, async (tx) => {
    const n = await tx.knowledgeDoc.deleteMany({ where: { id } });
    if (n.count === 0) throw AppError.notFound('Knowledge document');
  });
}

/* ---------------------------------------------------------------------------------------------- */
/* retrieval                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

export interface KnowledgeHit {
  chunkId: string;
  docId: string;
  title: string;
  scopeType: 'org' | 'runner';
  scopeId: string | null;
  content: string;
  /** Full-text: `ts_rank_cd`; hybrid: the reciprocal-rank-fusion score. Higher is better. */
  rank: number;
}

const RRF_K = 60;

/**
 * Reciprocal rank fusion: each list contributes 1/(60 + position) for each hit; hits are merged by
 * chunk id and sorted by the sum. Robust to the very different score scales of ts_rank and cosine.
 */
export function fuseRankings(lists: readonly (readonly KnowledgeHit[])[], k: number): KnowledgeHit[] {
  const byId = new Map<string, { hit: KnowledgeHit; score: number }>();
  for (const list of lists) {
    list.forEach((hit, i) => {
      const entry = byId.get(hit.chunkId) ?? { hit, score: 0 };
      entry.score += 1 / (RRF_K + i + 1);
      byId.set(hit.chunkId, entry);
    });
  }
  return [...byId.values()]
    .sort((a, b) => b.score - a.score || a.hit.chunkId.localeCompare(b.hit.chunkId))
    .slice(0, k)
    .map(({ hit, score }) => ({ ...hit, rank: score }));
}

type HitRow = Omit<KnowledgeHit, 'rank'> & { rank: number | string };
const toHit = (r: HitRow): KnowledgeHit => ({ ...r, rank: Number(r.rank) });

async function fullTextHits(tx: Tx, runnerId: string | null, query: string, k: number): Promise<KnowledgeHit[]> {
  const rows = await tx.$queryRaw<HitRow[]>`
    SELECT c.id::text AS "chunkId", c.doc_id::text AS "docId", d.title, d.scope_type AS "scopeType",
           d.scope_id::text AS "scopeId", c.content, ts_rank_cd(c.tsv, q.query)::float8 AS rank
    FROM (
      SELECT DISTINCT d0.language FROM knowledge_docs d0
      WHERE d0.scope_type = 'org' OR (d0.scope_type = 'runner' AND d0.scope_id = ${runnerId}::uuid)
    ) l
    CROSS JOIN LATERAL (SELECT websearch_to_tsquery(l.language::regconfig, ${query}) AS query) q
    JOIN knowledge_chunks c ON c.language = l.language AND c.tsv @@ q.query
    JOIN knowledge_docs d ON d.id = c.doc_id
    WHERE d.scope_type = 'org' OR (d.scope_type = 'runner' AND d.scope_id = ${runnerId}::uuid)
    ORDER BY rank DESC, c.id
    LIMIT ${k}`;
  return rows.map(toHit);
}

async function vectorHits(tx: Tx, runnerId: string | null, vector: number[], model: string, k: number): Promise<KnowledgeHit[]> {
  const v = toVectorLiteral(vector);
  const rows = await tx.$queryRaw<HitRow[]>`
    SELECT c.id::text AS "chunkId", c.doc_id::text AS "docId", d.title, d.scope_type AS "scopeType",
           d.scope_id::text AS "scopeId", c.content, (1 - (c.embedding <=> ${v}::vector))::float8 AS rank
    FROM knowledge_chunks c
    JOIN knowledge_docs d ON d.id = c.doc_id
    WHERE c.embedding IS NOT NULL AND c.embedding_model = ${model}
      AND (d.scope_type = 'org' OR (d.scope_type = 'runner' AND d.scope_id = ${runnerId}::uuid))
    ORDER BY c.embedding <=> ${v}::vector, c.id
    LIMIT ${k}`;
  return rows.map(toHit);
}

/**
 * The `k` chunks most relevant to `query` among the org's org-scoped documents and the documents
 * scoped to `runnerId` (only that runner's), with their sources. Full-text search; hybrid with vectors
 * when an embedder is given and pgvector is available (a failing embedder falls back to full text).
 */
export async function retrieveKnowledge(
  deps: Pick<ServiceDeps, 'db' | 'log'>,
  orgId: string,
  runnerId: string | null | undefined,
  query: string,
  k = 5,
  opts: Pick<KnowledgeOptions, 'embedder'> = {},
): Promise<KnowledgeHit[]> {
  const q = query.trim();
  if (!q) return [];
  const limit = Math.max(1, Math.min(50, Math.floor(k)));
  // Only a well-formed id can name a runner; anything else sees org-scoped documents alone.
  const rid = runnerId && UUID_RE.test(runnerId) ? runnerId.toLowerCase() : null;
  let queryVector: number[] | undefined;
  if (opts.embedder && (await hasVectorColumn(deps.db))) {
    queryVector = await opts.embedder
      .embed([q])
      .then((v) => v[0])
      .catch((e: unknown) => {
        deps.log.warn({ err: e }, 'query embedding failed; using full-text search only');
        return undefined;
      });
  }
  return withOrg(deps.db, orgId, async (tx) => {
    if (!queryVector || !opts.embedder) return fullTextHits(tx, rid, q, limit);
    const text = await fullTextHits(tx, rid, q, limit * 4);
    const vec = await vectorHits(tx, rid, queryVector, opts.embedder.model, limit * 4);
    return fuseRankings([text, vec], limit);
  });
}

/** The search route: 404 for a runner that is not the org's. */
export async function searchKnowledge(
  deps: ServiceDeps,
  orgId: string,
  q: { q: string; runnerId?: string; k: number },
  opts: KnowledgeOptions = {},
) {
  if (q.runnerId) {
    const runnerId = q.runnerId;
    await withOrg(deps.db, orgId, (tx) => requireRunner(tx, runnerId));
  }
  const data = await retrieveKnowledge(deps, orgId, q.runnerId?.toLowerCase() ?? null, q.q, q.k, opts);
  return { data, nextCursor: null };
}
