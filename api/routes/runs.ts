import { AppError } from '../../src/errors/app-error';
import type { ServiceDeps } from '../../src/services/deps';
import { cancelRun, createRun, getRun, listRuns } from '../../src/services/runs';
import {
  errorResponseSchema,
  listResponseSchema,
  runCreateSchema,
  runListQuerySchema,
  runResponseSchema,
} from '../../src/shared/schemas';
import type { RouteRegistry } from '../route';
import { requireUuid } from './params';

export function registerRunRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  const notFound = { description: 'No such runner or run in your org', schema: errorResponseSchema };
  reg.add(
    {
      method: 'post',
      path: '/api/runners/:id/runs',
      summary: 'Trigger a run (an Idempotency-Key header counts as idempotencyKey when the body has none)',
      tag: 'runs',
      body: runCreateSchema,
      responses: {
        201: { description: 'The new run (status pending or running)', schema: runResponseSchema },
        200: { description: 'The existing run for this idempotencyKey', schema: runResponseSchema },
        404: notFound,
        409: {
          description: 'A concurrent request with this idempotencyKey is still creating the run; retry',
          schema: errorResponseSchema,
        },
      },
    },
    async ({ req, principal, params, body }) => {
      // An `Idempotency-Key` header (sent by the SDK on every retryable run POST) counts as the body's
      // idempotencyKey when the body names none, so a retried request never starts a second run.
      const header = req.get('idempotency-key');
      if (header !== undefined && (header.length < 1 || header.length > 255)) {
        throw AppError.validation([{ path: 'headers.idempotency-key', message: 'must be 1-255 characters' }]);
      }
      const withKey = body.idempotencyKey === undefined && header ? { ...body, idempotencyKey: header } : body;
      const { created, run } = await createRun(deps, principal.orgId, requireUuid(params.id, 'Runner'), withKey, {
        kind: 'api',
        apiKeyId: principal.apiKeyId,
      });
      return { status: created ? 201 : 200, body: run };
    },
  );
  reg.add(
    {
      method: 'get',
      path: '/api/runners/:id/runs',
      summary: "List a runner's runs, newest first",
      tag: 'runs',
      query: runListQuerySchema,
      responses: {
        200: { description: 'A page of runs', schema: listResponseSchema(runResponseSchema) },
        404: notFound,
      },
    },
    async ({ principal, params, query }) => ({
      status: 200,
      body: await listRuns(deps, principal.orgId, requireUuid(params.id, 'Runner'), query),
    }),
  );
  reg.add(
    {
      method: 'get',
      path: '/api/runners/:id/runs/:runId',
      summary: 'Get a run with its step results',
      tag: 'runs',
      responses: { 200: { description: 'The run', schema: runResponseSchema }, 404: notFound },
    },
    async ({ principal, params }) => ({
      status: 200,
      body: await getRun(deps, principal.orgId, requireUuid(params.id, 'Runner'), requireUuid(params.runId, 'Run')),
    }),
  );
  reg.add(
    {
      method: 'post',
      path: '/api/runners/:id/runs/:runId/cancel',
      summary: 'Cancel a run',
      tag: 'runs',
      responses: {
        200: { description: 'The run, cancelled', schema: runResponseSchema },
        404: notFound,
        409: { description: 'The run has already ended', schema: errorResponseSchema },
      },
    },
    async ({ principal, params }) => ({
      status: 200,
      body: await cancelRun(deps, principal.orgId, requireUuid(params.id, 'Runner'), requireUuid(params.runId, 'Run')),
    }),
  );
}
