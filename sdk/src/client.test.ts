import { describe, expect, it, jest } from '@jest/globals';
import { FlapjackClient } from './client.js';
import {
  AbortError,
  AuthenticationError,
  ConflictError,
  ConnectionError,
  FlapjackError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
  ServiceUnavailableError,
  TimeoutError,
  ValidationError,
} from './errors.js';

/** A recorded request and a scripted fetch: each call takes the next answer (a Response, or an Error to throw). */
interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
  at: number;
}
type Answer = Response | Error | ((call: Call, init: RequestInit) => Promise<Response>);

function scripted(answers: Answer[]) {
  const calls: Call[] = [];
  const fetch = jest.fn(async (url: string, init: RequestInit): Promise<Response> => {
    const headers = Object.fromEntries(
      Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]),
    );
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : init.body;
    const call = { url, method: init.method ?? 'GET', headers, body, at: Date.now() };
    calls.push(call);
    const next = answers.shift();
    if (!next) throw new Error(`unexpected request ${call.method} ${url}`);
    if (next instanceof Error) throw next;
    if (typeof next === 'function') return next(call, init);
    return next;
  });
  return { fetch, calls };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'x-request-id': `req-${status}`, ...headers },
  });
}
const err = (status: number, code: string, message: string, details?: unknown, headers?: Record<string, string>) =>
  json(status, { error: { code, message, ...(details === undefined ? {} : { details }) } }, headers);

const RUNNER = '0b6a1d2e-8f4c-4b7e-9a51-3c2d1e0f9a8b';
const RUN = { id: '5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d', runnerId: RUNNER, status: 'pending' };

function client(answers: Answer[], extra: ConstructorParameters<typeof FlapjackClient>[0] = {}) {
  const s = scripted(answers);
  const fj = new FlapjackClient({
    apiKey: 'fj_live_test',
    baseUrl: 'http://api.test',
    fetch: s.fetch,
    initialRetryDelay: 1,
    maxRetryDelay: 5,
    ...extra,
  });
  return { fj, ...s };
}

describe('requests', () => {
  it('sends the bearer key, JSON body and the spec call shape to the contract route', async () => {
    const { fj, calls } = client([json(201, { id: RUNNER, name: 'Product Discovery' })]);
    const runner = await fj.createRunner({ name: 'Product Discovery', inputSchema: { type: 'object' } });
    expect(runner.id).toBe(RUNNER);
    expect(calls[0]).toMatchObject({
      url: 'http://api.test/api/runners',
      method: 'POST',
      body: { name: 'Product Discovery', inputSchema: { type: 'object' } },
      headers: { authorization: 'Bearer fj_live_test', 'content-type': 'application/json' },
    });
  });

  it('takes baseUrl and apiKey from FLAPJACK_BASE_URL / FLAPJACK_API_KEY, else localhost:3000', async () => {
    const saved = { url: process.env.FLAPJACK_BASE_URL, key: process.env.FLAPJACK_API_KEY };
    try {
      process.env.FLAPJACK_BASE_URL = 'http://env.test:9999/';
      process.env.FLAPJACK_API_KEY = 'fj_live_fromenv';
      const a = scripted([json(200, { ok: true })]);
      await new FlapjackClient({ fetch: a.fetch }).health();
      expect(a.calls[0]?.url).toBe('http://env.test:9999/healthz');
      expect(a.calls[0]?.headers.authorization).toBe('Bearer fj_live_fromenv');

      delete process.env.FLAPJACK_BASE_URL;
      delete process.env.FLAPJACK_API_KEY;
      const b = scripted([json(200, { ok: true })]);
      const fj = new FlapjackClient({ fetch: b.fetch });
      expect(fj.baseUrl).toBe('http://localhost:3000');
      await fj.health();
      expect(b.calls[0]?.headers.authorization).toBeUndefined();
    } finally {
      if (saved.url === undefined) delete process.env.FLAPJACK_BASE_URL;
      else process.env.FLAPJACK_BASE_URL = saved.url;
      if (saved.key === undefined) delete process.env.FLAPJACK_API_KEY;
      else process.env.FLAPJACK_API_KEY = saved.key;
    }
  });

  it('encodes ids and query parameters and answers undefined for 204', async () => {
    const { fj, calls } = client([json(200, { data: [], nextCursor: null }), new Response(null, { status: 204 })]);
    await fj.listRuns('a/b', { status: 'failed', limit: 5 });
    expect(calls[0]?.url).toBe('http://api.test/api/runners/a%2Fb/runs?status=failed&limit=5');
    await expect(fj.deleteRunner(RUNNER)).resolves.toBeUndefined();
    expect(calls[1]).toMatchObject({ method: 'DELETE', url: `http://api.test/api/runners/${RUNNER}` });
  });
});

describe('errors', () => {
  const cases: [number, string, new (...a: never[]) => FlapjackError][] = [
    [401, 'unauthorized', AuthenticationError],
    [404, 'not_found', NotFoundError],
    [409, 'conflict', ConflictError],
    [422, 'validation_failed', ValidationError],
    [429, 'rate_limited', RateLimitError],
    [503, 'service_unavailable', ServiceUnavailableError],
    [500, 'internal', InternalServerError],
  ];
  it.each(cases)(
    'HTTP %i is a %s error of its own class with status, code, message, details and requestId',
    async (status, code, cls) => {
      const { fj } = client([err(status, code, `it is ${code}`, [{ path: 'name', message: 'is required' }])], {
        maxRetries: 0,
      });
      const e = (await fj.getRunner(RUNNER).catch((x: unknown) => x)) as FlapjackError;
      expect(e).toBeInstanceOf(cls);
      expect(e).toBeInstanceOf(FlapjackError);
      expect(e).toMatchObject({ status, code, message: `it is ${code}`, requestId: `req-${status}` });
      expect(e.details).toEqual([{ path: 'name', message: 'is required' }]);
    },
  );

  it('ValidationError lists the bad fields', async () => {
    const details = [
      { path: 'name', message: 'Too small: expected string to have >=1 characters' },
      { path: 'inputSchema', message: 'Invalid input' },
    ];
    const { fj } = client([err(422, 'validation_failed', 'Invalid name', details)]);
    const e = (await fj.createRunner({ name: '' }).catch((x: unknown) => x)) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.fields.map((f) => f.path)).toEqual(['name', 'inputSchema']);
  });

  it('a non-JSON error body still gives the class for the status', async () => {
    const { fj } = client([new Response('<html>bad gateway</html>', { status: 404 })]);
    const e = await fj.getRun(RUNNER, RUN.id).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect((e as NotFoundError).code).toBe('not_found');
  });
});

describe('retries', () => {
  it('retries 429 and 5xx with backoff, then succeeds', async () => {
    const { fj, calls } = client([
      err(503, 'service_unavailable', 'down'),
      err(500, 'internal', 'boom'),
      json(200, { id: RUNNER }),
    ]);
    await expect(fj.getRunner(RUNNER)).resolves.toEqual({ id: RUNNER });
    expect(calls).toHaveLength(3);
    expect(calls[2]?.headers['x-flapjack-retry-count']).toBe('2');
  });

  it('honours Retry-After on 429', async () => {
    const { fj, calls } = client([
      err(429, 'rate_limited', 'slow down', undefined, { 'Retry-After': '1' }),
      json(200, { id: RUNNER }),
    ]);
    await fj.getRunner(RUNNER);
    const waited = (calls[1]?.at ?? 0) - (calls[0]?.at ?? 0);
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(3000);
  });

  it('backs off exponentially with jitter when there is no Retry-After', () => {
    const { fj } = client([], { initialRetryDelay: 500, maxRetryDelay: 8000 });
    const http = (fj as unknown as { http: { retryDelay(n: number, h?: Headers): number } }).http;
    for (let n = 0; n < 6; n++) {
      const base = Math.min(500 * 2 ** n, 8000);
      for (let i = 0; i < 20; i++) {
        const d = http.retryDelay(n);
        expect(d).toBeGreaterThanOrEqual(base * 0.75);
        expect(d).toBeLessThanOrEqual(base);
      }
    }
    expect(http.retryDelay(0, new Headers({ 'retry-after': '3' }))).toBe(3000);
    expect(http.retryDelay(0, new Headers({ 'retry-after-ms': '120' }))).toBe(120);
    const date = new Date(Date.now() + 2000).toUTCString();
    expect(http.retryDelay(0, new Headers({ 'retry-after': date }))).toBeGreaterThan(500);
  });

  it('gives up after maxRetries with the last error', async () => {
    const { fj, calls } = client([
      err(429, 'rate_limited', 'a'),
      err(429, 'rate_limited', 'b'),
      err(429, 'rate_limited', 'c'),
    ]);
    const e = await fj.listRunners().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RateLimitError);
    expect((e as RateLimitError).message).toBe('c');
    expect(calls).toHaveLength(3);
  });

  it('retries network errors on GET and surfaces a ConnectionError at the end', async () => {
    const { fj, calls } = client([
      new TypeError('fetch failed'),
      new TypeError('fetch failed'),
      new TypeError('fetch failed'),
    ]);
    const e = await fj.getRunner(RUNNER).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConnectionError);
    expect(calls).toHaveLength(3);
  });

  it('never retries 4xx other than 429', async () => {
    const { fj, calls } = client([err(409, 'conflict', 'Run is already completed')]);
    await expect(fj.cancelRun(RUNNER, RUN.id)).rejects.toBeInstanceOf(ConflictError);
    expect(calls).toHaveLength(1);
  });

  it('does not retry a plain create after a network error or 5xx (it may have been done), but does after 429', async () => {
    const a = client([new TypeError('socket hang up')]);
    await expect(a.fj.createRunner({ name: 'x' })).rejects.toBeInstanceOf(ConnectionError);
    expect(a.calls).toHaveLength(1);
    const b = client([err(502, 'internal', 'bad gateway')]);
    await expect(b.fj.createAgent({ name: 'x' })).rejects.toBeInstanceOf(InternalServerError);
    expect(b.calls).toHaveLength(1);
    const c = client([err(429, 'rate_limited', 'wait', undefined, { 'Retry-After': '0' }), json(201, { id: RUNNER })]);
    await expect(c.fj.createRunner({ name: 'x' })).resolves.toEqual({ id: RUNNER });
    expect(c.calls).toHaveLength(2);
  });
});

describe('idempotency of run creation', () => {
  it('sends one Idempotency-Key on every attempt of triggerRun, so a retry never starts a second run', async () => {
    const { fj, calls } = client([
      new TypeError('connection reset'),
      err(503, 'service_unavailable', 'down'),
      json(201, RUN),
    ]);
    await expect(fj.triggerRun(RUNNER, { input: { url: 'https://example.com' } })).resolves.toEqual(RUN);
    expect(calls).toHaveLength(3);
    const keys = calls.map((c) => c.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(keys).size).toBe(1);
    expect(calls[0]?.body).toEqual({ input: { url: 'https://example.com' } });
  });

  it("uses the caller's idempotencyKey as the header, and a fresh key per call otherwise", async () => {
    const { fj, calls } = client([json(201, RUN), json(201, RUN), json(201, RUN)]);
    await fj.triggerRun(RUNNER, { input: {}, idempotencyKey: 'https://example.com/product-1' });
    await fj.triggerRun(RUNNER, { input: {} });
    await fj.triggerRun(RUNNER, { input: {} });
    expect(calls[0]?.headers['idempotency-key']).toBe('https://example.com/product-1');
    expect(calls[1]?.headers['idempotency-key']).not.toBe(calls[2]?.headers['idempotency-key']);
  });

  it('gives bulk items without a key a stable per-batch key, kept across retries', async () => {
    const result = { data: [], created: 2, existing: 0 };
    const { fj, calls } = client([new TypeError('reset'), json(202, result)]);
    await fj.triggerRunBulk(RUNNER, { items: [{ input: { n: 1 } }, { input: { n: 2 }, idempotencyKey: 'mine' }] });
    expect(calls).toHaveLength(2);
    const items = (calls[1]?.body as { items: { idempotencyKey: string }[] }).items;
    expect(items[1]?.idempotencyKey).toBe('mine');
    expect(items[0]?.idempotencyKey).toMatch(/^[0-9a-f-]{36}:0$/);
    expect(calls[0]?.body).toEqual(calls[1]?.body);
  });
});

describe('pagination', () => {
  const page = (ids: string[], next: string | null) => json(200, { data: ids.map((id) => ({ id })), nextCursor: next });

  it('await gives one page; for await walks every page lazily', async () => {
    const { fj, calls } = client([
      page(['a', 'b'], 'c1'),
      page(['a', 'b'], 'c1'),
      page(['c'], 'c2'),
      page(['d'], null),
    ]);
    const first = await fj.listRuns(RUNNER, { limit: 2 });
    expect(first).toEqual({ data: [{ id: 'a' }, { id: 'b' }], nextCursor: 'c1' });
    const seen: string[] = [];
    for await (const run of fj.listRuns(RUNNER, { limit: 2 })) seen.push(run.id);
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(calls.map((c) => new URL(c.url).searchParams.get('cursor'))).toEqual([null, null, 'c1', 'c2']);
    expect(calls.every((c) => new URL(c.url).searchParams.get('limit') === '2')).toBe(true);
  });

  it('stops fetching when the loop breaks', async () => {
    const { fj, calls } = client([page(['a', 'b'], 'c1')]);
    for await (const r of fj.listRunners()) if (r.id === 'a') break;
    expect(calls).toHaveLength(1);
  });

  it('every list method paginates the same way (connections, org resources)', async () => {
    const { fj, calls } = client([page(['m1'], 'x'), page(['m2'], null), page(['t1'], null)]);
    expect((await fj.listRunnerMcps(RUNNER).toArray()).map((m) => (m as unknown as { id: string }).id)).toEqual([
      'm1',
      'm2',
    ]);
    expect(await fj.listTools().toArray()).toHaveLength(1);
    expect(calls.map((c) => new URL(c.url).pathname)).toEqual([
      `/api/runners/${RUNNER}/mcps`,
      `/api/runners/${RUNNER}/mcps`,
      '/api/tools',
    ]);
  });
});

describe('timeouts and aborts', () => {
  const hang = (_call: Call, init: RequestInit) =>
    new Promise<Response>((_resolve, reject) => {
      init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
    });

  it('a per-request timeout aborts the attempt (retried, then a TimeoutError)', async () => {
    const { fj, calls } = client([hang, hang]);
    const started = Date.now();
    const e = await fj.getRunner(RUNNER, { timeout: 50, maxRetries: 1 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect(calls).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("the caller's signal aborts a request in flight and is never retried", async () => {
    const { fj, calls } = client([hang]);
    const ac = new AbortController();
    const p = fj.getRunner(RUNNER, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toBeInstanceOf(AbortError);
    expect(calls).toHaveLength(1);
  });

  it('the signal also cuts a backoff wait short', async () => {
    const { fj } = client([err(503, 'service_unavailable', 'down', undefined, { 'Retry-After': '30' })]);
    const ac = new AbortController();
    const started = Date.now();
    const p = fj.getRunner(RUNNER, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toBeInstanceOf(AbortError);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('waitForRun', () => {
  it('polls until the run settles and returns it', async () => {
    const { fj, calls } = client([
      json(200, RUN),
      json(200, { ...RUN, status: 'running' }),
      json(200, { ...RUN, status: 'completed', output: 42 }),
    ]);
    const run = await fj.waitForRun(RUNNER, RUN.id, { pollIntervalMs: 5 });
    expect(run).toMatchObject({ status: 'completed', output: 42 });
    expect(calls).toHaveLength(3);
  });

  it('throws a TimeoutError after timeoutMs', async () => {
    const answers: Answer[] = Array.from({ length: 50 }, () => json(200, { ...RUN, status: 'running' }));
    const { fj } = client(answers);
    const e = await fj.waitForRun(RUNNER, RUN.id, { timeoutMs: 100, pollIntervalMs: 10 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).details).toEqual({ status: 'running' });
  });

  it('stops on abort', async () => {
    const answers: Answer[] = Array.from({ length: 50 }, () => json(200, { ...RUN, status: 'running' }));
    const { fj } = client(answers);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 60);
    await expect(fj.waitForRun(RUNNER, RUN.id, { signal: ac.signal, pollIntervalMs: 10 })).rejects.toBeInstanceOf(
      AbortError,
    );
  });
});

describe('knowledge upload', () => {
  it('sends multipart form data with the file and its fields', async () => {
    const { fj, calls } = client([json(201, { id: 'doc', chunks: 1 })]);
    await fj.uploadKnowledge({
      file: 'hello world',
      filename: 'notes.txt',
      scopeType: 'runner',
      scopeId: RUNNER,
      title: 'Notes',
    });
    const form = calls[0]?.body as FormData;
    expect(form).toBeInstanceOf(FormData);
    expect(form.get('scopeType')).toBe('runner');
    expect(form.get('scopeId')).toBe(RUNNER);
    expect(form.get('title')).toBe('Notes');
    const file = form.get('file') as File;
    expect(file.name).toBe('notes.txt');
    expect(await file.text()).toBe('hello world');
    expect(calls[0]?.headers['content-type']).toBeUndefined();
  });
});
