import fc from 'fast-check';
import type { Express } from 'express';
import request from 'supertest';

/**
 * Property-based requests against every operation of /api/openapi.json on an in-process API: malformed
 * JSON, wrong types, huge strings, deep nesting, unknown fields, unicode, negative/huge numbers, other
 * orgs' ids, bad auth headers. Properties: no 5xx; every 4xx in the contract's error shape; nothing with
 * org B's key (or without a key) ever reads or changes org A's data (A's state is read with A's key
 * before the first and after each batch).
 */

export interface FuzzOptions {
  app: Express;
  keyA: string;
  keyB: string;
  runs: number;
  seed: number;
  batch?: number;
  log?: (line: string) => void;
}

export interface FuzzResult {
  runs: number;
  seed: number;
  operations: number;
  statuses: Record<string, number>;
  failures: string[];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Op {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  params: string[];
  query: { name: string; schema: JsonSchema }[];
  body?: JsonSchema;
  contentType?: string;
}
interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: Json[];
  const?: Json;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  [k: string]: unknown;
}

const MARK = 'fuzz-org-a-marker-51d2';

/** Creates a set of org A objects (and org B objects) to aim at. */
async function seed(app: Express, key: string, suffix: string): Promise<Record<string, string>> {
  const post = async (p: string, body: unknown, expected = 201) => {
    const r = await request(app)
      .post(p)
      .set('Authorization', `Bearer ${key}`)
      .send(body as object);
    if (r.status !== expected) throw new Error(`fuzz seed ${p}: ${r.status} ${r.text.slice(0, 300)}`);
    return r.body as { id: string; token?: string };
  };
  const runner = (await post('/api/runners', { name: `${MARK}-${suffix}-runner` })).id;
  const step = (
    await post(`/api/runners/${runner}/steps`, {
      name: 'echo',
      kind: 'computer',
      orderIndex: 0,
      computer: { runtime: 'javascript', code: 'return input;' },
    })
  ).id;
  const trigger = (await post(`/api/runners/${runner}/triggers`, { kind: 'cron', cronExpression: '0 9 * * 1' })).id;
  const hook = await post(`/api/runners/${runner}/triggers`, { kind: 'webhook' });
  const agent = (await post('/api/agents', { name: `${MARK}-${suffix}-agent` })).id;
  const mcp = (
    await post('/api/mcp-servers', { slug: `fz-${suffix}`, transport: 'http', url: 'https://mcp.example.com/mcp' })
  ).id;
  const integ = (
    await post('/api/integrations', {
      name: `${MARK}-${suffix}-db`,
      kind: 'postgres',
      connectionString: 'postgres://h/db',
    })
  ).id;
  const tool = (await post('/api/tools', { name: `fz_${suffix}`, url: 'https://api.example.com' })).id;
  const skill = (await post('/api/skills', { name: `fz-${suffix}`, instructions: `${MARK}-${suffix}-skill` })).id;
  await post(`/api/runners/${runner}/skills`, { skillId: skill });
  const kb = await request(app)
    .post('/api/knowledge/upload')
    .set('Authorization', `Bearer ${key}`)
    .field('scopeType', 'org')
    .field('title', `${MARK}-${suffix}-kb`)
    .attach('file', Buffer.from(`${MARK} text ${suffix}`), { filename: 'k.txt', contentType: 'text/plain' });
  if (kb.status !== 201) throw new Error(`fuzz seed knowledge: ${kb.status} ${kb.text.slice(0, 300)}`);
  return {
    runner,
    step,
    trigger,
    hook: hook.id,
    token: hook.token ?? '',
    agent,
    mcp,
    integ,
    tool,
    skill,
    kb: (kb.body as { id: string }).id,
  };
}

/** Everything org A can read about the seeded objects, with A's key. */
async function snapshotA(app: Express, key: string, ids: Record<string, string>): Promise<string> {
  const paths = [
    `/api/runners/${ids.runner}`,
    `/api/runners/${ids.runner}/steps`,
    `/api/runners/${ids.runner}/triggers`,
    `/api/runners/${ids.runner}/runs`,
    `/api/runners/${ids.runner}/skills`,
    `/api/runners/${ids.runner}/web-config`,
    `/api/runners/${ids.runner}/plan-config`,
    `/api/runners/${ids.runner}/budget`,
    `/api/agents/${ids.agent}`,
    `/api/mcp-servers/${ids.mcp}`,
    `/api/integrations/${ids.integ}`,
    `/api/tools/${ids.tool}`,
    `/api/skills/${ids.skill}`,
    `/api/knowledge/${ids.kb}`,
    '/api/runners',
    '/api/agents',
    '/api/knowledge',
  ];
  const out: unknown[] = [];
  for (const p of paths) {
    const r = await request(app).get(p).set('Authorization', `Bearer ${key}`);
    out.push([p, r.status, r.body]);
  }
  return JSON.stringify(out);
}

function operationsOf(doc: { paths: Record<string, Record<string, Record<string, unknown>>> }): Op[] {
  const ops: Op[] = [];
  for (const [oaPath, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const parameters = (op.parameters as { name: string; in: string; schema: JsonSchema }[] | undefined) ?? [];
      const content = (op.requestBody as { content?: Record<string, { schema: JsonSchema }> } | undefined)?.content;
      const [contentType, media] = content ? (Object.entries(content)[0] ?? []) : [];
      ops.push({
        method: method as Op['method'],
        path: oaPath,
        params: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: parameters.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema })),
        ...(media ? { body: media.schema, contentType } : {}),
      });
    }
  }
  return ops;
}

const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '💥🧇',
  'Ω≈ç√∫',
  '\u202e\u200b',
  "'; drop table runners; --",
  '../../etc/passwd',
  '%00',
  '{{7*7}}',
  '<script>alert(1)</script>',
  'NaN',
  '-1',
  '1e309',
  '00000000-0000-0000-0000-000000000000',
);
const hugeString = fc.integer({ min: 10_000, max: 300_000 }).map((n) => 'x'.repeat(n));
const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  nasty,
  hugeString.map((s) => s.slice(0, 20_000)),
);
const weirdNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.constantFrom(-1, 0, -0, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER, 0.1),
);
function deep(depth: number, kind: 'array' | 'object'): Json {
  let v: Json = 1;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { a: v };
  return v;
}
const deepValue = fc
  .tuple(fc.integer({ min: 50, max: 3_000 }), fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>)
  .map(([d, k]) => deep(d, k));

/** A value for a JSON schema: mostly well-formed, sometimes of the wrong type. */
function fromSchema(s: JsonSchema | undefined, ids: fc.Arbitrary<string>, depth = 0): fc.Arbitrary<Json> {
  const wrong = fc.oneof(
    weirdNumber,
    anyString,
    fc.boolean(),
    fc.constant(null),
    fc.constant([] as Json[]),
    fc.constant({} as Json),
  ) as fc.Arbitrary<Json>;
  if (!s || depth > 4) return fc.jsonValue() as fc.Arbitrary<Json>;
  const alts = s.anyOf ?? s.oneOf;
  if (alts?.length) return fc.oneof(...alts.map((a) => fromSchema(a, ids, depth + 1)));
  if (s.allOf?.length) return fromSchema(s.allOf[0], ids, depth + 1);
  if (s.const !== undefined) return fc.oneof({ weight: 4, arbitrary: fc.constant(s.const) }, wrong);
  if (s.enum) return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...s.enum) }, wrong);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  let good: fc.Arbitrary<Json>;
  switch (type) {
    case 'object': {
      const props = s.properties ?? {};
      const rec: Record<string, fc.Arbitrary<Json>> = {};
      for (const [k, v] of Object.entries(props)) rec[k] = fromSchema(v, ids, depth + 1);
      const base = fc.record(rec, { requiredKeys: (s.required ?? []).filter((k) => k in rec) }) as fc.Arbitrary<
        Record<string, Json>
      >;
      good = fc
        .tuple(
          base,
          fc.option(fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue() as fc.Arbitrary<Json>, { maxKeys: 3 })),
        )
        .map(([b, extra]) => ({ ...(extra ?? {}), ...b }));
      break;
    }
    case 'array':
      good = fc.array(fromSchema(s.items, ids, depth + 1), { maxLength: 5 });
      break;
    case 'string':
      good =
        s.format === 'uuid' || /id$/i.test(String(s.description ?? ''))
          ? fc.oneof(ids, anyString)
          : fc.oneof(fc.string(), anyString, ids);
      break;
    case 'integer':
    case 'number':
      good = weirdNumber;
      break;
    case 'boolean':
      good = fc.boolean();
      break;
    default:
      good = fc.jsonValue() as fc.Arbitrary<Json>;
  }
  return fc.oneof({ weight: 5, arbitrary: good }, { weight: 1, arbitrary: wrong });
}

interface Req {
  op: number;
  params: string[];
  query: [string, string][];
  body: { kind: 'json'; value: Json } | { kind: 'raw'; text: string; contentType: string } | { kind: 'none' };
  auth: string | null;
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzResult> {
  const log = o.log ?? (() => undefined);
  const batch = o.batch ?? 50;
  const doc = (await request(o.app).get('/api/openapi.json')).body;
  const ops = operationsOf(doc);
  const A = await seed(o.app, o.keyA, 'a');
  const B = await seed(o.app, o.keyB, 'b');
  // a's webhook token is a credential (anyone holding it may start a's runs): it is never sent
  const aValues = Object.entries(A)
    .filter(([k]) => k !== 'token')
    .map(([, v]) => v);
  const ids = fc.oneof(fc.constantFrom(...aValues), fc.constantFrom(...Object.values(B)), fc.uuid(), nasty);
  const before = await snapshotA(o.app, o.keyA, A);
  const statuses: Record<string, number> = {};
  const failures: string[] = [];

  const auth = fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${o.keyB}`) },
    { weight: 1, arbitrary: fc.constant(null) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom(
          'Bearer',
          'Bearer ',
          'Basic dXNlcjpwYXNz',
          `bearer ${o.keyB}`,
          `Bearer ${o.keyA.slice(0, -3)}abc`,
          `Bearer ${o.keyB} extra`,
          'Bearer fj_' + 'x'.repeat(5000),
        ),
        fc
          .string({ unit: 'binary-ascii', maxLength: 200 })
          .filter((s) => /^[\x20-\x7e]*$/.test(s))
          .map((s) => `Bearer ${s}`),
      ),
    },
  );
  const body = (op: Op): fc.Arbitrary<Req['body']> =>
    fc.oneof(
      { weight: 6, arbitrary: fromSchema(op.body, ids).map((value) => ({ kind: 'json' as const, value })) },
      {
        weight: 1,
        arbitrary: (fc.jsonValue() as fc.Arbitrary<Json>).map((value) => ({ kind: 'json' as const, value })),
      },
      { weight: 1, arbitrary: deepValue.map((value) => ({ kind: 'json' as const, value })) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            fc.constantFrom(
              '{',
              '{"a":',
              '[1,2',
              '{"name": "x",}',
              'nul',
              '"\\uZZZZ"',
              '\u0000',
              '{"a":1}{"b":2}',
              '💥',
            ),
            fc.string(),
          )
          .map(([t, tail]) => ({
            kind: 'raw' as const,
            text: t + tail,
            contentType: 'application/json',
          })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            fc.constantFrom(
              'text/plain',
              'application/x-www-form-urlencoded',
              'multipart/form-data; boundary=zz',
              'application/xml',
              'application/json; charset=utf-16',
            ),
            anyString,
          )
          .map(([contentType, text]) => ({ kind: 'raw' as const, text, contentType })),
      },
      { weight: 1, arbitrary: hugeString.map((s) => ({ kind: 'json' as const, value: { name: s, description: s } })) },
      { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
    );
  const reqArb: fc.Arbitrary<Req> = fc.nat({ max: ops.length - 1 }).chain((i) => {
    const op = ops[i]!;
    return fc.record({
      op: fc.constant(i),
      params: fc.tuple(...op.params.map(() => ids)) as fc.Arbitrary<string[]>,
      query: fc.subarray(op.query).chain((qs) =>
        fc.tuple(
          ...qs.map((q) =>
            fc.tuple(
              fc.constant(q.name),
              fc.oneof(
                fromSchema(q.schema, ids).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
                anyString,
              ),
            ),
          ),
        ),
      ) as fc.Arbitrary<[string, string][]>,
      body: op.body || op.method !== 'get' ? body(op) : fc.constant({ kind: 'none' as const }),
      auth,
    });
  });

  let count = 0;
  let checkedState = 0;
  const one = async (r: Req): Promise<void> => {
    const op = ops[r.op]!;
    let path = op.path;
    op.params.forEach((name, i) => (path = path.replace(`{${name}}`, encodeURIComponent(r.params[i] ?? ''))));
    if (r.query.length)
      path += '?' + r.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    let t = (request(o.app) as unknown as Record<string, (p: string) => request.Test>)[op.method]!(path);
    if (r.auth !== null) t = t.set('Authorization', r.auth);
    if (r.body.kind === 'json') t = t.set('Content-Type', 'application/json').send(JSON.stringify(r.body.value));
    else if (r.body.kind === 'raw') t = t.set('Content-Type', r.body.contentType).send(r.body.text);
    const res = await t;
    count++;
    statuses[String(res.status)] = (statuses[String(res.status)] ?? 0) + 1;
    const text = res.text ?? '';
    const what = `${op.method.toUpperCase()} ${path.slice(0, 300)} [auth ${r.auth === null ? 'none' : r.auth.slice(0, 30)}] -> ${res.status}`;
    const problems: string[] = [];
    if (res.status >= 500) problems.push(`server error ${text.slice(0, 300)}`);
    // 431: Node's HTTP parser refuses a request line/headers over 16 KB before the app sees it (empty body)
    if (res.status >= 400 && !(res.status === 431 && text === '')) {
      const e = (res.body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
      if (!e || typeof e.code !== 'string' || typeof e.message !== 'string')
        problems.push(`not the error shape: ${text.slice(0, 300)}`);
      else if (
        res.status === 422 &&
        !(Array.isArray(e.details) && e.details.every((d: { path?: unknown }) => typeof d?.path === 'string'))
      )
        problems.push(`422 without details naming fields: ${text.slice(0, 300)}`);
    }
    if (/\bat [\w.<>]+ \(.*:\d+:\d+\)/.test(text)) problems.push('stack trace in the response');
    const sent = path + JSON.stringify(r.body);
    const leaked = aValues.filter((v) => text.includes(v) && !sent.includes(v));
    if (leaked.length || (text.includes(`${MARK}-a-`) && !sent.includes(MARK)))
      problems.push(`org A data in the answer (${leaked.join(',') || 'name'})`);
    if (problems.length) failures.push(`${what}: ${problems.join('; ')}`);
    if (problems.length) throw new Error(`${what}: ${problems.join('; ')}`);
  };

  let remaining = o.runs;
  let round = 0;
  while (remaining > 0 && failures.length === 0) {
    const n = Math.min(batch, remaining);
    const out = await fc.check(
      fc.asyncProperty(reqArb, async (r) => {
        await one(r);
      }),
      { seed: o.seed + round, numRuns: n, endOnFailure: true },
    );
    if (out.failed)
      log(
        `counterexample: ${out.counterexample ? JSON.stringify(out.counterexample).slice(0, 2000) : String(out.errorInstance)}`,
      );
    remaining -= n;
    round++;
    const now = await snapshotA(o.app, o.keyA, A);
    checkedState++;
    if (now !== before) failures.push(`org A's state changed during batch ${round}`);
    if (round % 20 === 0) log(`${count} requests, ${failures.length} failures`);
  }
  log(`state of org A checked ${checkedState} times`);
  return { runs: count, seed: o.seed, operations: ops.length, statuses, failures };
}
