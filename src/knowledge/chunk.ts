/**
 * Knowledge, step 2: cutting a document's text into chunks of about 800–1200 characters, at paragraph, then
 * sentence, then word boundaries, with a small overlap (the previous chunk's last sentence, up to ~150
 * characters) so a fact that straddles a cut is still found. CSV chunks are whole records (parsed with
 * csv-parse, so quoted fields with commas and line breaks stay whole), each chunk starting with the header.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { fileIssue, KNOWLEDGE_LIMITS, type KnowledgeKind } from './extract';

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

/** The records of a CSV text as they were written (quotes and embedded line breaks kept), blank lines skipped. */
function csvRecords(text: string): string[] {
  // With `raw: true` each row is `{record, raw}` (csv-parse's typings do not say so: checked at run time).
  let rows: unknown[];
  try {
    rows = parseCsv(text, { raw: true, relax_column_count: true, skip_empty_lines: true });
  } catch (e) {
    throw fileIssue(`is not valid CSV: ${(e as Error).message}`);
  }
  return rows.map(rawText).filter((r) => r.trim() !== '');
}

function rawText(row: unknown): string {
  if (typeof row === 'object' && row !== null && 'raw' in row && typeof row.raw === 'string') {
    return row.raw.replace(/^(\r?\n)+|(\r?\n)+$/g, '');
  }
  throw new Error('csv-parse returned a row without its raw text');
}

/** CSV: whole records per chunk, each chunk starting with the header record (no overlap needed). */
export function chunkCsv(text: string, opts: ChunkOptions = {}): string[] {
  const max = opts.max ?? KNOWLEDGE_LIMITS.chunkMax;
  const lines = csvRecords(text);
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
