import type { z } from 'zod';
import type { knowledgeDocResponseSchema } from '../shared/connection-schemas';
/**
 * Knowledge use cases: documents uploaded for an org or for one runner, split into chunks and retrieved for
 * agent steps. The steps live in `src/knowledge/`: `extract` (kind and text), `chunk`, `embed` (optional
 * vectors) and `store` (rows, full-text and vector search).
 */
import { withOrg } from '../db/scoped';
import { AppError } from '../errors/app-error';
import type { KnowledgeDoc } from '../generated/prisma/client';
import { chunkDocument } from '../knowledge/chunk';
import type { Embedder } from '../knowledge/embed';
import { detectKind, extractText, fileIssue, KIND_MIME, KNOWLEDGE_LIMITS } from '../knowledge/extract';
import {
  checkLanguage,
  fullTextHits,
  fuseRankings,
  hasVectorColumn,
  insertKnowledgeDoc,
  setChunkEmbeddings,
  vectorHits,
  type KnowledgeHit,
} from '../knowledge/store';
import type { ServiceDeps } from './deps';
import { afterCursor, decodeCursor, newestFirst, page } from '../db/pagination';
import { requireRunner } from './runners';

export { KNOWLEDGE_LIMITS, type Embedder, type KnowledgeHit };

export interface KnowledgeOptions {
  embedder?: Embedder;
  maxFileBytes?: number;
}

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
  } satisfies z.input<typeof knowledgeDocResponseSchema>;
}

const EMBED_BATCH = 64;

/** Stores a document and its chunks; 422 for unsupported or unreadable files, 404 for a foreign runner. */
export async function uploadKnowledge(
  deps: ServiceDeps,
  orgId: string,
  up: KnowledgeUpload,
  opts: KnowledgeOptions = {},
) {
  const maxBytes = opts.maxFileBytes ?? KNOWLEDGE_LIMITS.maxFileBytes;
  if (up.file.size > maxBytes) {
    throw new AppError(
      'payload_too_large',
      `file is larger than the limit of ${Math.round(maxBytes / 1024 / 1024)} MB`,
    );
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
      return insertKnowledgeDoc(
        tx,
        {
          orgId,
          scopeType: up.scopeType,
          scopeId,
          title: up.title ?? up.file.originalname.slice(0, 500),
          filename: up.file.originalname.slice(0, 500),
          mimeType: KIND_MIME[kind],
          sizeBytes: up.file.size,
          language,
        },
        chunks,
      );
    },
    { timeoutMs: 120_000 },
  );
  deps.log.info(
    { orgId, docId: doc.id, kind, chunks: chunks.length, bytes: up.file.size },
    'knowledge document indexed',
  );

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
    await withOrg(deps.db, orgId, (tx) => setChunkEmbeddings(tx, batch, vectors, embedder.model));
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
