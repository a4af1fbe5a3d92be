import { describe, expect, it } from '@jest/globals';
import { createResponseChecker } from './openapi-conformance';
import { currentOpenApiDocument } from './openapi-document';

const checker = createResponseChecker(currentOpenApiDocument());
const id = '0b5b4d3c-7a55-4a38-9a47-1c1f0f6a2e11';
const runner = {
  id,
  name: 'r',
  description: null,
  inputSchema: null,
  learnedInstructions: null,
  defaultModel: null,
  reflectOnFailure: false,
  createdAt: '2026-11-29T10:00:00.000Z',
  updatedAt: '2026-11-29T10:00:00.000Z',
};
const json = (method: string, path: string, status: number, body: unknown) => ({
  method,
  path,
  status,
  contentType: 'application/json; charset=utf-8',
  text: JSON.stringify(body),
  body,
});

describe('the OpenAPI response checker', () => {
  it('accepts an answer with exactly the documented shape', () => {
    expect(checker.check(json('GET', `/api/runners/${id}`, 200, runner))).toBeNull();
    expect(checker.check(json('post', '/api/runners', 201, runner))).toBeNull();
    expect(checker.check(json('GET', `/api/runners?limit=5`, 200, { data: [runner], nextCursor: null }))).toBeNull();
  });

  it('refuses a field the document does not list, naming it', () => {
    const problem = checker.check(json('GET', `/api/runners/${id}`, 200, { ...runner, secretSauce: 1 }));
    expect(problem).toContain('GET /api/runners/{id} → 200');
    expect(problem).toContain('secretSauce');
  });

  it('refuses a missing required field and a value of the wrong type', () => {
    const { name: _name, ...noName } = runner;
    expect(checker.check(json('GET', `/api/runners/${id}`, 200, noName))).toContain(
      "must have required property 'name'",
    );
    expect(checker.check(json('GET', `/api/runners/${id}`, 200, { ...runner, reflectOnFailure: 'no' }))).toContain(
      '/reflectOnFailure must be boolean',
    );
  });

  it('refuses a run error whose code is outside the closed set of failure codes', () => {
    const run = {
      id,
      runnerId: id,
      status: 'failed',
      input: {},
      output: null,
      context: { input: {}, steps: {} },
      currentStep: 0,
      error: { code: 'step_failed', message: 'boom', step: 'a' },
      costUsd: 0,
      budgetUsd: null,
      budgetOnExceed: null,
      budgetPausedAt: null,
      idempotencyKey: null,
      triggerKind: 'api',
      createdAt: runner.createdAt,
      startedAt: null,
      completedAt: null,
      events: [],
      steps: [],
    };
    const path = `/api/runners/${id}/runs/${id}`;
    expect(checker.check(json('GET', path, 200, run))).toBeNull();
    expect(checker.check(json('GET', path, 200, { ...run, error: { code: 'oops', message: 'boom' } }))).toContain(
      '/error/code must be equal to one of the allowed values',
    );
  });

  it('refuses a status the route does not document', () => {
    const problem = checker.check(json('GET', `/api/runners/${id}`, 418, { error: { code: 'teapot', message: 'x' } }));
    expect(problem).toContain('status 418 is not documented');
  });

  it('accepts the 500 every route documents, only in the error shape', () => {
    const bug = { error: { code: 'internal', message: 'Internal server error' } };
    expect(checker.check(json('GET', `/api/runners/${id}`, 500, bug))).toBeNull();
    expect(checker.check(json('GET', `/api/runners/${id}`, 500, { stack: 'at x.ts:1' }))).toContain('500');
  });

  it('checks error answers against the error schema', () => {
    expect(
      checker.check(json('GET', `/api/runners/${id}`, 404, { error: { code: 'not_found', message: 'No' } })),
    ).toBeNull();
    expect(checker.check(json('GET', `/api/runners/${id}`, 404, { message: 'No' }))).toContain('404');
  });

  it('refuses a route the document does not have, unless it is the contract 404 in the error shape', () => {
    const notFound = { error: { code: 'not_found', message: 'x' } };
    expect(checker.check(json('GET', '/api/nothing-here', 404, notFound))).toBeNull();
    expect(checker.check(json('PUT', '/api/runners', 404, notFound))).toBeNull();
    expect(checker.check(json('GET', '/api/nothing-here', 200, { ok: true }))).toContain(
      'no route of the OpenAPI document matches GET /api/nothing-here',
    );
    expect(checker.check(json('GET', '/api/nothing-here', 404, { message: 'x' }))).toContain('no route');
  });

  it('refuses an undocumented content type and a body where none is documented', () => {
    const html = { method: 'GET', path: `/api/runners/${id}`, status: 200, contentType: 'text/html', text: '<p>' };
    expect(checker.check(html)).toContain('content type "text/html"');
    const deleted = { method: 'DELETE', path: `/api/runners/${id}`, status: 204, text: '' };
    expect(checker.check(deleted)).toBeNull();
    expect(checker.check({ ...deleted, text: 'surprise' })).toContain('documented without a body');
  });

  it('prefers the most specific path template', () => {
    const problem = checker.check(json('POST', '/api/runners/webhooks/tok', 202, { runId: id, extra: true }));
    expect(problem).toContain('POST /api/runners/webhooks/{token} → 202');
  });

  it('lets the listed non-REST routes through, and only those', () => {
    expect(
      checker.check({ method: 'POST', path: '/mcp', status: 200, contentType: 'text/event-stream', text: 'x' }),
    ).toBeNull();
    expect(
      checker.check({ method: 'GET', path: '/docs', status: 200, contentType: 'text/html', text: '<html>' }),
    ).toBeNull();
    expect(checker.check({ method: 'POST', path: '/docs', status: 200, contentType: 'text/html', text: '' })).toContain(
      'no route',
    );
  });
});
