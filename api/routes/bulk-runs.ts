import { bulkRunStatuses, createRunsBulk } from '../../src/services/bulk-runs';
import type { ServiceDeps } from '../../src/services/deps';
import {
  bulkRunCreateSchema,
  bulkRunResponseSchema,
  bulkRunStatusQuerySchema,
  bulkRunStatusResponseSchema,
} from '../../src/shared/bulk-schemas';
import { errorResponseSchema } from '../../src/shared/schemas';
import type { RouteRegistry } from '../route';
import { requireUuid } from './params';

export function registerBulkRunRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  const notFound = { description: 'No such runner in your org', schema: errorResponseSchema };
  reg.add(
    {
      method: 'post',
      path: '/api/runners/:id/runs/bulk',
      summary: 'Trigger up to 10,000 runs at once',
      tag: 'runs',
      body: bulkRunCreateSchema,
      responses: {
        202: {
          description:
            'Runs recorded (their workflows start in the background). `data` has one entry per valid item in item ' +
            'order (an idempotencyKey used before gives the existing run); `invalid` lists each refused item by ' +
            'index, field and reason.',
          schema: bulkRunResponseSchema,
        },
        404: notFound,
      },
    },
    async ({ principal, params, body }) => ({
      status: 202,
      body: await createRunsBulk(deps, principal.orgId, requireUuid(params.id, 'Runner'), body.items, {
        kind: 'bulk',
        apiKeyId: principal.apiKeyId,
      }),
    }),
  );
  reg.add(
    {
      method: 'post',
      path: '/api/runners/:id/runs/bulk/status',
      summary: 'The status of up to 1,000 runs of a runner (by id), e.g. to wait for a bulk import',
      tag: 'runs',
      body: bulkRunStatusQuerySchema,
      responses: {
        200: {
          description: 'The runs found, in the order asked (unknown ids are left out)',
          schema: bulkRunStatusResponseSchema,
        },
        404: notFound,
      },
    },
    async ({ principal, params, body }) => ({
      status: 200,
      body: await bulkRunStatuses(deps, principal.orgId, requireUuid(params.id, 'Runner'), body.ids),
    }),
  );
}
