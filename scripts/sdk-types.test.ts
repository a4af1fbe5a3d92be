import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { FlapjackClient } from '../sdk/src/index';
import { GENERATED_TYPES_PATH, loadOpenApiDocument, renderSdkTypes, tsType } from './sdk-types';

/**
 * The SDK cannot drift from the API: its wire types are generated from the OpenAPI document (built
 * from the routes' zod schemas) and must equal what is committed, and every route of the API must be
 * reachable through a `FlapjackClient` method (and every method must hit a real route).
 */

let openapi: Record<string, unknown>;
beforeAll(async () => {
  openapi = await loadOpenApiDocument();
});

describe('SDK wire types', () => {
  it('sdk/src/generated/api-types.ts is exactly what the server schemas generate (run `npm run sdk:types` when this fails)', () => {
    const committed = readFileSync(path.join(__dirname, '..', GENERATED_TYPES_PATH), 'utf8');
    expect(renderSdkTypes(openapi)).toBe(committed);
  });

  it('turns the JSON Schema zod emits into TypeScript', () => {
    expect(tsType({ anyOf: [{ type: 'string' }, { type: 'null' }] })).toBe('string | null');
    expect(tsType({ type: ['number', 'null'] })).toBe('number | null');
    expect(tsType({ type: 'string', enum: ['pause', 'fail'] })).toBe('"pause" | "fail"');
    expect(tsType({ type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'number' }] } })).toBe(
      '(string | number)[]',
    );
    expect(tsType({})).toBe('unknown');
    expect(
      tsType({ type: 'object', propertyNames: { type: 'string' }, additionalProperties: { type: 'string' } }),
    ).toBe('{\n  [key: string]: string;\n}');
    expect(
      tsType({
        type: 'object',
        properties: { a: { type: 'boolean' }, 'b-c': {} },
        required: ['a'],
        additionalProperties: false,
      }),
    ).toBe('{\n  a: boolean;\n  "b-c"?: unknown;\n}');
  });
});

describe('SDK coverage of the API', () => {
  it('every route is called by a FlapjackClient method, and every method calls a route of the API', async () => {
    const hits: string[] = [];
    const fetch = (url: string, init: RequestInit) => {
      hits.push(`${init.method ?? 'GET'} ${new URL(url).pathname}`);
      return Promise.resolve(
        new Response(JSON.stringify({ data: [], nextCursor: null, status: 'completed' }), { status: 200 }),
      );
    };
    const fj = new FlapjackClient({ apiKey: 'fj_live_x', baseUrl: 'http://sdk.test', fetch, maxRetries: 0 });
    const R = '00000000-0000-4000-8000-000000000001';
    const X = '00000000-0000-4000-8000-000000000002';
    const calls: (() => PromiseLike<unknown>)[] = [
      () => fj.health(),
      () => fj.info(),
      () => fj.createRunner({ name: 'r' }),
      () => fj.getRunner(R),
      () => fj.listRunners(),
      () => fj.updateRunner(R, { name: 'r2' }),
      () => fj.deleteRunner(R),
      () => fj.addRunnerStep(R, { name: 's', kind: 'agent', orderIndex: 0 }),
      () => fj.listRunnerSteps(R),
      () => fj.updateRunnerStep(R, X, { orderIndex: 1 }),
      () => fj.removeRunnerStep(R, X),
      () => fj.addRunnerTrigger(R, { kind: 'cron', cronExpression: '0 9 * * 1' }),
      () => fj.updateRunnerTrigger(R, X, { enabled: false }),
      () => fj.removeRunnerTrigger(R, X),
      () => fj.listRunnerTriggers(R),
      () => fj.getRunnerTrigger(R, X),
      () => fj.deliverWebhook('tok', { a: 1 }, { 'X-Hub-Signature-256': 'sha256=00' }),
      () => fj.getButtonPage(R),
      () => fj.getButtonEmbedScript(R),
      () => fj.startButtonRun(R, { token: 't', input: {} }),
      () => fj.getButtonRunStatus(R, X, 't'),
      () => fj.triggerRun(R, { input: {} }),
      () => fj.triggerRunBulk(R, { items: [{ input: {} }] }),
      () => fj.getRunsStatus(R, [X]),
      () => fj.getRun(R, X),
      () => fj.listRuns(R),
      () => fj.cancelRun(R, X),
      () => fj.resumeRun(R, X, { additionalBudgetUsd: 1 }),
      () => fj.waitForRun(R, X),
      () => fj.getRunnerAnalytics(R, { period: '30d' }),
      () => fj.getAnalytics({ period: '30d' }),
      () => fj.attachRunnerMcp(R, X),
      () => fj.detachRunnerMcp(R, X),
      () => fj.listRunnerMcps(R),
      () => fj.attachRunnerIntegration(R, X),
      () => fj.detachRunnerIntegration(R, X),
      () => fj.listRunnerIntegrations(R),
      () => fj.attachRunnerTool(R, X),
      () => fj.detachRunnerTool(R, X),
      () => fj.listRunnerTools(R),
      () => fj.attachRunnerSkill(R, X),
      () => fj.detachRunnerSkill(R, X),
      () => fj.listRunnerSkills(R),
      () => fj.getRunnerWebConfig(R),
      () => fj.updateRunnerWebConfig(R, { enabled: true }),
      () => fj.getRunnerPlanConfig(R),
      () => fj.updateRunnerPlanConfig(R, { enabled: true }),
      () => fj.getRunnerBudget(R),
      () => fj.updateRunnerBudget(R, { enabled: true, budgetUsd: 5, onExceed: 'pause' }),
      () => fj.uploadKnowledge({ file: 'x', filename: 'x.txt', scopeType: 'org' }),
      () => fj.listKnowledge(),
      () => fj.getKnowledge(X),
      () => fj.deleteKnowledge(X),
      () => fj.searchKnowledge({ q: 'x' }),
      ...(['Agent', 'McpServer', 'Integration', 'Tool', 'Skill'] as const).flatMap((n) => {
        const c = fj as unknown as Record<string, (...a: unknown[]) => PromiseLike<unknown>>;
        return [
          () => c[`create${n}`]!.call(fj, {}),
          () => c[`get${n}`]!.call(fj, X),
          () => c[`list${n}s`]!.call(fj),
          () => c[`update${n}`]!.call(fj, X, {}),
          () => c[`delete${n}`]!.call(fj, X),
        ];
      }),
    ];
    for (const call of calls) await call();

    const routes: [string, RegExp][] = [];
    for (const [p, methods] of Object.entries(openapi.paths as Record<string, Record<string, unknown>>)) {
      for (const m of Object.keys(methods)) routes.push([`${m.toUpperCase()} ${p}`, toRegex(m, p)]);
    }
    const matched = new Set<string>();
    const unmatched: string[] = [];
    for (const hit of hits) {
      // A literal route (…/runs/bulk) wins over a parameterised one (…/runs/{runId}).
      const candidates = routes.filter(([, re]) => re.test(hit)).map(([k]) => k);
      const best = candidates.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))[0];
      if (best) matched.add(best);
      else unmatched.push(hit);
    }
    expect(unmatched).toEqual([]);
    const uncovered = routes.map(([k]) => k).filter((k) => !matched.has(k));
    expect(uncovered).toEqual([]);
  });
});

function toRegex(method: string, p: string): RegExp {
  const body = p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
  return new RegExp(`^${method.toUpperCase()} ${body}$`);
}
