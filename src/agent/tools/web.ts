/**
 * Web tools behind a provider interface (`WebSearchProvider` in ../tool-types.ts):
 *
 * - `web_search {query, limit?}`: the provider's results (title, url, snippet);
 * - `web_research {question, pages?}`: searches, then reads the top pages (through the egress guard,
 *   HTML reduced to text, each cut to a few thousand characters) and returns them with their URLs.
 *
 * One provider ships: any SearXNG-compatible JSON search endpoint (`FLAPJACK_WEB_SEARCH_URL`,
 * `GET <url>/search?q=…&format=json`), self-hostable and keyless. With no provider configured the web
 * tools are not offered and the step's record says so.
 */
import type { EgressGuard } from '../../net/egress';
import { postJson } from '../../net/http-client';
import type { WebSearchProvider } from '../tool-types';

export interface WebSearchResult {
  title: string;
  url: string;
  snippet: string;
}

export const WEB_DEFAULTS = { searchLimit: 5, researchPages: 3, pageChars: 4_000, timeoutMs: 20_000 } as const;

/** A SearXNG-compatible provider (`/search?q=&format=json` answering `{results: [{title, url, content}]}`). */
export function createSearxngProvider(opts: {
  baseUrl: string;
  guard: EgressGuard;
  headers?: Record<string, string>;
}): WebSearchProvider {
  const base = opts.baseUrl.replace(/\/+$/, '');
  return {
    name: 'searxng',
    async search(query, { limit, signal }) {
      const url = new URL(`${base}/search`);
      url.searchParams.set('q', query);
      url.searchParams.set('format', 'json');
      const res = await postJson({
        url: url.toString(),
        method: 'GET',
        body: undefined,
        headers: { Accept: 'application/json', ...(opts.headers ?? {}) },
        timeoutMs: WEB_DEFAULTS.timeoutMs,
        maxResponseBytes: 2 * 1024 * 1024,
        guard: opts.guard,
        ...(signal ? { signal } : {}),
      });
      if (res.status < 200 || res.status >= 300) throw new Error(`The search provider answered HTTP ${res.status}`);
      let doc: { results?: { title?: unknown; url?: unknown; content?: unknown }[] };
      try {
        doc = JSON.parse(res.bodyText) as typeof doc;
      } catch {
        throw new Error('The search provider did not answer JSON');
      }
      return (doc.results ?? [])
        .filter((r) => typeof r.url === 'string')
        .slice(0, limit)
        .map((r) => ({ title: String(r.title ?? ''), url: String(r.url), snippet: String(r.content ?? '') }));
    },
  };
}

/** The configured provider, or null (then the web tools are not offered). */
export function webSearchProviderFromEnv(
  env: { FLAPJACK_WEB_SEARCH_URL?: string | undefined },
  guard: EgressGuard,
): WebSearchProvider | null {
  return env.FLAPJACK_WEB_SEARCH_URL ? createSearxngProvider({ baseUrl: env.FLAPJACK_WEB_SEARCH_URL, guard }) : null;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Readable text of an HTML page: scripts, styles and tags dropped, entities decoded, blank runs squeezed. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|noscript|svg|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(br|\/p|\/div|\/li|\/h[1-6]|\/tr)\b[^>]*>/gi, '\n')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .replace(/[ \t\f\v\r]+/g, ' ')
    .replace(/\n\s*\n+/g, '\n\n')
    .trim();
}

/** Fetches one page through the egress guard and returns its text (cut to `maxChars`). */
export async function readPage(
  url: string,
  opts: { guard: EgressGuard; signal?: AbortSignal; maxChars?: number },
): Promise<string> {
  const res = await postJson({
    url,
    method: 'GET',
    body: undefined,
    headers: {
      Accept: 'text/html, text/plain, application/json;q=0.9, */*;q=0.5',
      'User-Agent': 'flapjack-runners-research',
    },
    timeoutMs: WEB_DEFAULTS.timeoutMs,
    maxResponseBytes: 2 * 1024 * 1024,
    guard: opts.guard,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
  const type = String(res.headers['content-type'] ?? '');
  const text = /html/i.test(type) || /^\s*</.test(res.bodyText) ? htmlToText(res.bodyText) : res.bodyText.trim();
  const max = opts.maxChars ?? WEB_DEFAULTS.pageChars;
  return text.length > max ? `${text.slice(0, max)} …` : text;
}

export async function research(
  provider: WebSearchProvider,
  question: string,
  opts: { guard: EgressGuard; pages?: number; signal?: AbortSignal },
): Promise<{
  question: string;
  sources: { title: string; url: string; snippet: string; text?: string; error?: string }[];
}> {
  const pages = Math.max(1, Math.min(5, opts.pages ?? WEB_DEFAULTS.researchPages));
  const results = await provider.search(question, { limit: pages, ...(opts.signal ? { signal: opts.signal } : {}) });
  const sources = await Promise.all(
    results.map(async (r) => {
      try {
        return {
          ...r,
          text: await readPage(r.url, { guard: opts.guard, ...(opts.signal ? { signal: opts.signal } : {}) }),
        };
      } catch (e) {
        return { ...r, error: `could not read the page: ${(e as Error).message}` };
      }
    }),
  );
  return { question, sources };
}
