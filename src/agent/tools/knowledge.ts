/**
 * Knowledge for agent steps: the top chunks of the org's and the runner's knowledge for the step input
 * (put in the context before the first model call, with their sources), and `search_knowledge` for more.
 *
 * The step input is JSON, often with many words; full-text search ANDs the words of a query, which would
 * match almost nothing, so the automatic query is the input's distinct words joined with `or`
 * (`websearch_to_tsquery` syntax) and `ts_rank_cd` puts the chunks that match most of them first.
 */
import type { KnowledgeHit } from '../../knowledge/store';
import type { KnowledgeContext, ToolsetDeps } from '../tool-types';

export const KNOWLEDGE_DEFAULTS = {
  contextChunks: 5,
  maxQueryWords: 40,
  toolDefaultK: 5,
  toolMaxK: 20,
  chunkChars: 2_000,
} as const;

/** Common words that only dilute an `or` query (the text search configuration drops most of them too). */
const STOP = new Set(
  'the and for with that this from are was were has have had not but you your our their what which when where who how why can will would should could into about over then than them they its also any all some such only just more most other been being does did'.split(
    ' ',
  ),
);

/** Words of every string (and key) in `input`, in order of first appearance, at most `max`. */
export function knowledgeQueryFromInput(input: unknown, max: number = KNOWLEDGE_DEFAULTS.maxQueryWords): string {
  const words: string[] = [];
  const seen = new Set<string>();
  const add = (text: string): void => {
    for (const w of text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}_'-]*/gu) ?? []) {
      if (words.length >= max) return;
      const word = w.replace(/['-]+$/, '');
      if (word.length < 3 || STOP.has(word) || seen.has(word)) continue;
      seen.add(word);
      words.push(word);
    }
  };
  const walk = (v: unknown, depth: number): void => {
    if (words.length >= max || depth > 8) return;
    if (typeof v === 'string') add(v);
    else if (typeof v === 'number' || typeof v === 'boolean') add(String(v));
    else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        add(k.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/_/g, ' '));
        walk(x, depth + 1);
      }
    }
  };
  walk(input, 0);
  return words.join(' or ');
}

const clipChunk = (s: string): string =>
  s.length > KNOWLEDGE_DEFAULTS.chunkChars ? `${s.slice(0, KNOWLEDGE_DEFAULTS.chunkChars)} …` : s;

/** The hits as a numbered text block with their sources (what the model reads). */
export function formatKnowledge(hits: readonly KnowledgeHit[]): string {
  return hits
    .map(
      (h, i) =>
        `[${i + 1}] ${h.title} (${h.scopeType === 'runner' ? 'runner' : 'org'} knowledge, document ${h.docId}, chunk ${h.chunkId})\n${clipChunk(h.content)}`,
    )
    .join('\n\n');
}

export const sourcesOf = (hits: readonly KnowledgeHit[]) =>
  hits.map((h) => ({ docId: h.docId, chunkId: h.chunkId, title: h.title }));

/** The block for the preamble: the top chunks for the step input, with their sources; '' when none match. */
export async function buildKnowledgeContext(
  args: { orgId: string; runnerId: string | null; stepInput: unknown; k?: number },
  deps: Pick<ToolsetDeps, 'retrieveKnowledge'>,
): Promise<KnowledgeContext> {
  const query = knowledgeQueryFromInput(args.stepInput);
  if (!query) return { text: '', sources: [] };
  const hits = await deps.retrieveKnowledge(
    args.orgId,
    args.runnerId,
    query,
    args.k ?? KNOWLEDGE_DEFAULTS.contextChunks,
  );
  if (hits.length === 0) return { text: '', sources: [] };
  const text =
    'Knowledge that may help (from the documents of this org and runner; cite a source by its title when you use it):\n\n' +
    formatKnowledge(hits);
  return { text, sources: sourcesOf(hits) };
}
