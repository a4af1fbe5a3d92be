/**
 * `npm run cli -- runs bulk --runner <id> --file items.jsonl|items.csv|-`: feeds a file of run inputs to
 * `POST /api/runners/:id/runs/bulk` for CI pipelines. See `USAGE` and docs/bulk-and-buttons.md.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';

export const RUNS_BULK_USAGE = `usage: npm run cli -- runs bulk --runner <id> --file <path|-> [options]

Starts one run per line of a JSONL file (each line is the run's input, a JSON value) or per row of a
CSV file (each row is an object keyed by the header), in chunks. Idempotency keys come from a field
(--key-field) or from the content of the line, so rerunning the same file starts nothing twice.

options:
  --runner <id>         the runner (required)
  --file <path|->       the file; "-" reads stdin (required)
  --format jsonl|csv    default: from the file extension (.csv is CSV), else JSONL
  --key-field <name>    take each item's idempotency key from this field of the input
  --chunk-size <n>      items per request (1-10000, default 500)
  --cast                CSV: turn numbers and booleans into JSON numbers/booleans (default: strings)
  --wait                wait until every run has ended; failed and cancelled runs count as failed
  --wait-timeout <s>    give up waiting after this many seconds (default 3600)
  --json                print a machine-readable summary on stdout

environment: FLAPJACK_BASE_URL (default http://localhost:3000), FLAPJACK_API_KEY (required)
exit status: 0 when every item was accepted (and with --wait, completed); 1 when anything was invalid
or failed; 2 on a usage error or when the API refused the requests.
`;

export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean; columns?: number };
  fetch?: typeof fetch;
  /** Milliseconds between status polls with --wait. */
  pollMs?: number;
}

export interface BulkSummary {
  runnerId: string;
  items: number;
  created: number;
  existing: number;
  invalid: number;
  /** With --wait: runs that ended `failed` or `cancelled` (or did not end in time). */
  failed: number;
  completed: number | null;
  waited: boolean;
  timedOut: boolean;
  /** Line (JSONL) or row (CSV, 1 = first data row) numbers of invalid items with why, at most 100. */
  invalidItems: { line: number; field: string; message: string }[];
  runIds: string[];
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

class ApiFailure extends Error {
  override readonly name = 'ApiFailure';
}

interface Options {
  runner: string;
  file: string;
  format: 'jsonl' | 'csv';
  keyField?: string;
  chunkSize: number;
  cast: boolean;
  wait: boolean;
  waitTimeoutS: number;
  json: boolean;
}

function parseArgs(args: string[]): Options {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const boolean = new Set(['wait', 'json', 'cast']);
  const known = new Set(['runner', 'file', 'format', 'key-field', 'chunk-size', 'wait-timeout', ...boolean]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument "${a}"`);
    const name = a.slice(2);
    if (!known.has(name)) throw new UsageError(`unknown option ${a}`);
    if (boolean.has(name)) {
      flags.add(name);
      continue;
    }
    const v = args[++i];
    if (v === undefined || (v.startsWith('--') && v !== '-')) throw new UsageError(`${a} needs a value`);
    values.set(name, v);
  }
  const runner = values.get('runner');
  const file = values.get('file');
  if (!runner) throw new UsageError('--runner <id> is required');
  if (!file) throw new UsageError('--file <path|-> is required');
  const format = values.get('format') ?? (/\.csv$/i.test(file) ? 'csv' : 'jsonl');
  if (format !== 'jsonl' && format !== 'csv') throw new UsageError('--format must be jsonl or csv');
  const chunkSize = Number(values.get('chunk-size') ?? 500);
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 10_000)
    throw new UsageError('--chunk-size must be an integer from 1 to 10000');
  const waitTimeoutS = Number(values.get('wait-timeout') ?? 3600);
  if (!Number.isFinite(waitTimeoutS) || waitTimeoutS <= 0)
    throw new UsageError('--wait-timeout must be a positive number');
  return {
    runner,
    file,
    format,
    keyField: values.get('key-field'),
    chunkSize,
    cast: flags.has('cast'),
    wait: flags.has('wait'),
    waitTimeoutS,
    json: flags.has('json'),
  };
}

/** JSON with object keys sorted, so the same content always hashes the same. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The idempotency key of an item: its `--key-field` value, or a hash of its content. */
export function itemKey(input: unknown, keyField: string | undefined): { key: string } | { error: string } {
  if (keyField === undefined)
    return { key: `sha256:${createHash('sha256').update(canonicalJson(input)).digest('hex')}` };
  const v =
    input && typeof input === 'object' && !Array.isArray(input)
      ? (input as Record<string, unknown>)[keyField]
      : undefined;
  if (v === undefined || v === null || v === '') return { error: `has no value in the key field "${keyField}"` };
  const key = typeof v === 'string' ? v : canonicalJson(v);
  if (key.length > 255) return { error: `key field "${keyField}" is longer than 255 characters` };
  return { key };
}

interface SourceItem {
  line: number;
  /** Bytes of the file consumed up to and including this item (for the progress bar). */
  bytes: number;
  input?: unknown;
  error?: string;
}

/** Streams the items of the file (JSONL lines or CSV rows) without loading it whole. */
async function* readItems(stream: Readable, opts: Options): AsyncGenerator<SourceItem> {
  if (opts.format === 'csv') {
    const parser = stream.pipe(
      parseCsv({
        columns: true,
        skip_empty_lines: true,
        trim: true,
        bom: true,
        cast: opts.cast,
        relax_column_count: false,
      }),
    );
    let row = 0;
    const bytes = () => (parser as unknown as { info: { bytes: number } }).info.bytes;
    try {
      for await (const record of parser as AsyncIterable<Record<string, unknown>>) {
        row++;
        yield { line: row, bytes: bytes(), input: record };
      }
    } catch (e) {
      yield { line: row + 1, bytes: bytes(), error: `CSV: ${(e as Error).message}` };
    }
    return;
  }
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  let bytes = 0;
  for await (const text of rl) {
    line++;
    bytes += Buffer.byteLength(text) + 1;
    const t = text.trim();
    if (!t) continue;
    try {
      yield { line, bytes, input: JSON.parse(t) as unknown };
    } catch (e) {
      yield { line, bytes, error: `not valid JSON: ${(e as Error).message}` };
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function createApi(io: CliIo, baseUrl: string, apiKey: string) {
  const doFetch = io.fetch ?? fetch;
  /** POSTs JSON; retries network errors, 429 (honouring Retry-After) and 5xx: every request is idempotent. */
  return async function post<T>(path: string, body: unknown): Promise<T> {
    let lastError = '';
    for (let attempt = 0; attempt < 6; attempt++) {
      if (attempt > 0) await sleep(Math.min(15_000, 500 * 2 ** (attempt - 1)));
      let res: Response;
      try {
        res = await doFetch(new URL(path, baseUrl), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${apiKey}` },
          body: JSON.stringify(body),
        });
      } catch (e) {
        lastError = `cannot reach ${baseUrl}: ${(e as Error).message}`;
        continue;
      }
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      if (res.ok) return parsed as T;
      const err = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
      lastError = `${res.status} ${err?.code ?? ''}: ${err?.message ?? text.slice(0, 200)}`;
      if (res.status === 429) {
        const retryAfter = Number(res.headers.get('retry-after'));
        if (retryAfter > 0) await sleep(Math.min(60, retryAfter) * 1000);
        continue;
      }
      if (res.status >= 500) continue;
      throw new ApiFailure(lastError);
    }
    throw new ApiFailure(lastError);
  };
}

/** Progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise. */
function createProgress(io: CliIo, totalBytes: number | null) {
  const tty = io.stderr.isTTY === true;
  let lastDraw = 0;
  let lastWait = '';
  let lastWaitAt = 0;
  return {
    update(
      s: { items: number; created: number; existing: number; invalid: number },
      fraction: number | null,
      final = false,
    ) {
      const counts = `${s.items} items: ${s.created} created, ${s.existing} existing, ${s.invalid} invalid`;
      if (final && !tty) return; // the last chunk's line already said it
      if (tty) {
        const now = Date.now();
        if (!final && now - lastDraw < 100) return;
        lastDraw = now;
        const width = 30;
        const f = fraction ?? 0;
        const bar = totalBytes
          ? `[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] ${Math.floor(f * 100)}% `
          : '';
        io.stderr.write(`\r\x1b[2K${bar}${counts}${final ? '\n' : ''}`);
      } else {
        const pct = fraction === null ? '' : ` (${Math.floor(fraction * 100)}%)`;
        io.stderr.write(`progress${pct}: ${counts}\n`);
      }
    },
    waiting(done: number, total: number, failed: number, final = false) {
      const text = `waiting: ${done}/${total} runs ended, ${failed} failed`;
      if (tty) {
        io.stderr.write(`\r\x1b[2K${text}${final ? '\n' : ''}`);
        return;
      }
      // Plain lines: when something changed, and at least every 30 s while nothing does.
      const now = Date.now();
      if (text === lastWait && !final && now - lastWaitAt < 30_000) return;
      lastWait = text;
      lastWaitAt = now;
      io.stderr.write(`${text}\n`);
    },
  };
}

interface BulkResponse {
  data: { id: string; status: string; idempotencyKey: string | null }[];
  created: number;
  existing: number;
  invalid: { index: number; field: string; message: string }[];
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** Runs the command; resolves to the process exit code. */
export async function runsBulkCommand(args: string[], io: CliIo): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(args);
  } catch (e) {
    io.stderr.write(`${(e as Error).message}\n\n${RUNS_BULK_USAGE}`);
    return 2;
  }
  const apiKey = io.env.FLAPJACK_API_KEY;
  if (!apiKey) {
    io.stderr.write('FLAPJACK_API_KEY is not set\n');
    return 2;
  }
  const baseUrl = io.env.FLAPJACK_BASE_URL || 'http://localhost:3000';
  const post = createApi(io, baseUrl, apiKey);
  const runnerPath = `/api/runners/${encodeURIComponent(opts.runner)}`;

  let stream: Readable;
  let totalBytes: number | null = null;
  if (opts.file === '-') {
    stream = io.stdin;
  } else {
    try {
      totalBytes = statSync(opts.file).size;
    } catch (e) {
      io.stderr.write(`cannot read ${opts.file}: ${(e as Error).message}\n`);
      return 2;
    }
    stream = createReadStream(opts.file);
  }
  let bytesRead = 0;
  const fraction = () => (totalBytes ? Math.min(1, bytesRead / totalBytes) : null);

  const summary: BulkSummary = {
    runnerId: opts.runner,
    items: 0,
    created: 0,
    existing: 0,
    invalid: 0,
    failed: 0,
    completed: null,
    waited: opts.wait,
    timedOut: false,
    invalidItems: [],
    runIds: [],
  };
  const progress = createProgress(io, totalBytes);
  const noteInvalid = (line: number, field: string, message: string) => {
    if (summary.invalidItems.length < 100) summary.invalidItems.push({ line, field, message });
  };
  const runIds = new Set<string>();

  let chunk: { line: number; item: { input: unknown; idempotencyKey: string } }[] = [];
  const flush = async () => {
    if (!chunk.length) return;
    const sent = chunk;
    chunk = [];
    const res = await post<BulkResponse>(`${runnerPath}/runs/bulk`, { items: sent.map((c) => c.item) });
    const bad = new Set<number>();
    for (const inv of res.invalid) {
      const line = sent[inv.index]?.line ?? -1;
      if (!bad.has(inv.index)) summary.invalid++;
      bad.add(inv.index);
      noteInvalid(line, inv.field.replace(/^items\.\d+\.?/, ''), inv.message);
    }
    summary.created += res.created;
    summary.existing += res.existing;
    for (const d of res.data) runIds.add(d.id);
    progress.update(summary, fraction());
  };

  try {
    for await (const src of readItems(stream, opts)) {
      summary.items++;
      bytesRead = src.bytes;
      if (src.error !== undefined) {
        summary.invalid++;
        noteInvalid(src.line, '', src.error);
        continue;
      }
      const k = itemKey(src.input, opts.keyField);
      if ('error' in k) {
        summary.invalid++;
        noteInvalid(src.line, opts.keyField ?? '', k.error);
        continue;
      }
      chunk.push({ line: src.line, item: { input: src.input, idempotencyKey: k.key } });
      if (chunk.length >= opts.chunkSize) await flush();
    }
    await flush();
  } catch (e) {
    if (!(e instanceof ApiFailure)) throw e;
    progress.update(summary, fraction(), true);
    io.stderr.write(`the API refused the request: ${e.message}\n`);
    summary.runIds = [...runIds];
    if (opts.json) io.stdout.write(`${JSON.stringify({ ...summary, error: e.message })}\n`);
    return 2;
  }
  progress.update(summary, fraction(), true);
  summary.runIds = [...runIds];

  if (opts.wait && runIds.size) {
    const deadline = Date.now() + opts.waitTimeoutS * 1000;
    const open = new Set(runIds);
    let completed = 0;
    try {
      while (open.size) {
        const ids = [...open];
        for (let i = 0; i < ids.length; i += 1000) {
          const res = await post<{ data: { id: string; status: string }[] }>(`${runnerPath}/runs/bulk/status`, {
            ids: ids.slice(i, i + 1000),
          });
          for (const r of res.data) {
            if (!TERMINAL.has(r.status)) continue;
            open.delete(r.id);
            if (r.status === 'completed') completed++;
            else summary.failed++;
          }
        }
        progress.waiting(runIds.size - open.size, runIds.size, summary.failed, open.size === 0);
        if (!open.size) break;
        if (Date.now() > deadline) {
          summary.timedOut = true;
          summary.failed += open.size;
          progress.waiting(runIds.size - open.size, runIds.size, summary.failed, true);
          break;
        }
        await sleep(io.pollMs ?? 1000);
      }
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      io.stderr.write(`could not check the runs: ${e.message}\n`);
      summary.timedOut = true;
      summary.failed += open.size;
    }
    summary.completed = completed;
  }

  const bad = summary.invalid > 0 || summary.failed > 0;
  if (opts.json) {
    io.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const waited = opts.wait ? `, ${summary.completed ?? 0} completed` : '';
    const timedOut = summary.timedOut ? ' (gave up waiting)' : '';
    io.stdout.write(
      `${summary.items} items: ${summary.created} created, ${summary.existing} existing, ${summary.invalid} invalid, ` +
        `${summary.failed} failed${waited}${timedOut}\n`,
    );
    for (const inv of summary.invalidItems.slice(0, 20)) {
      io.stderr.write(
        `  ${opts.format === 'csv' ? 'row' : 'line'} ${inv.line}: ${inv.field ? `${inv.field}: ` : ''}${inv.message}\n`,
      );
    }
  }
  return bad ? 1 : 0;
}
