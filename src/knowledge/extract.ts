/**
 * Knowledge, step 1: which kind a file is, and its text. Types: plain text, Markdown, JSON, CSV and PDF (its
 * text layer, via pdf-parse). Text must be UTF-8. Problems are 422s naming the `file` field.
 */
import { AppError } from '../errors/app-error';

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

export const fileIssue = (message: string) => AppError.validation([{ path: 'file', message }]);

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
