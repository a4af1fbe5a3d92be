/**
 * Knowledge, step 4: storing documents and chunks, and finding the chunks relevant to a query. Every function
 * takes an org-scoped transaction (`withOrg`), so row-level security limits it to the org's rows.
 *
 * - Retrieval is PostgreSQL full-text search: `websearch_to_tsquery(<doc language>, query)` against the
 *   chunk's `tsv` (GIN index, kept by a trigger), ranked by `ts_rank_cd`. No embedding service needed.
 * - With pgvector and an embedder, chunks also carry vectors and both rankings are fused with reciprocal
 *   rank fusion.
 */
import type { PrismaClient } from '../db/client';
import type { Tx } from '../db/scoped';
import { AppError } from '../errors/app-error';
import type { KnowledgeDoc } from '../generated/prisma/client';

const vectorSupport = new WeakMap<PrismaClient, Promise<boolean>>();

/** Whether `knowledge_chunks.embedding` exists (pgvector installed when the migration ran); cached. */
export function hasVectorColumn(db: PrismaClient): Promise<boolean> {
  let p = vectorSupport.get(db);
  if (!p) {
    p = db.$queryRaw<{ present: boolean }[]>`
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

/** Stores the embeddings of chunks (ids and vectors in the same order) made by `model`. */
export async function setChunkEmbeddings(
  tx: Tx,
  chunks: readonly { id: string }[],
  vectors: readonly (number[] | undefined)[],
  model: string,
): Promise<void> {
  for (const [j, r] of chunks.entries()) {
    const v = vectors[j];
    if (!v) continue;
    await tx.$executeRaw`UPDATE knowledge_chunks SET embedding = ${toVectorLiteral(v)}::vector, embedding_model = ${model} WHERE id = ${r.id}::uuid`;
  }
}

/** 422 unless `language` is a text search configuration of this database. */
export async function checkLanguage(tx: Tx, language: string): Promise<void> {
  const rows = await tx.$queryRaw<
    { ok: boolean }[]
  >`SELECT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = ${language}) AS ok`;
  if (!rows[0]?.ok) {
    throw AppError.validation([
      {
        path: 'language',
        message: 'is not a text search configuration of this database (for example english, german, simple)',
      },
    ]);
  }
}

const INSERT_BATCH = 500;

export interface NewKnowledgeDoc {
  orgId: string;
  scopeType: 'org' | 'runner';
  scopeId: string | null;
  title: string;
  filename: string;
  mimeType: string;
  sizeBytes: number;
  language: string;
}

/** Inserts a document and its chunks (in batches of 500 rows). */
export async function insertKnowledgeDoc(
  tx: Tx,
  doc: NewKnowledgeDoc,
  chunks: readonly string[],
): Promise<KnowledgeDoc> {
  const d = await tx.knowledgeDoc.create({ data: doc });
  for (let i = 0; i < chunks.length; i += INSERT_BATCH) {
    await tx.knowledgeChunk.createMany({
      data: chunks
        .slice(i, i + INSERT_BATCH)
        .map((content, j) => ({ orgId: doc.orgId, docId: d.id, ordinal: i + j, content, language: doc.language })),
    });
  }
  return d;
}

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

export async function fullTextHits(tx: Tx, runnerId: string | null, query: string, k: number): Promise<KnowledgeHit[]> {
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

export async function vectorHits(
  tx: Tx,
  runnerId: string | null,
  vector: number[],
  model: string,
  k: number,
): Promise<KnowledgeHit[]> {
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
