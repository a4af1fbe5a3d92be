import { z } from 'zod';
import type { ServiceDeps } from '../../src/services/deps';
import { createRunner, deleteRunner, getRunner, listRunners, updateRunner } from '../../src/services/runners';
import {
  errorResponseSchema,
  listQuerySchema,
  listResponseSchema,
  runnerCreateSchema,
  runnerResponseSchema,
  runnerUpdateSchema,
} from '../../src/shared/schemas';
import type { RouteRegistry } from '../route';
import { requireUuid } from './params';

export function registerRunnerRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  const notFound = { description: 'No such runner in your org', schema: errorResponseSchema };
  reg.add(
    {
      method: 'post',
      path: '/api/runners',
      summary: 'Create a runner',
      tag: 'runners',
      body: runnerCreateSchema,
      responses: { 201: { description: 'The runner', schema: runnerResponseSchema } },
    },
    async ({ principal, body }) => ({ status: 201, body: await createRunner(deps, principal.orgId, body) }),
  );
  reg.add(
    {
      method: 'get',
      path: '/api/runners',
      summary: 'List runners',
      tag: 'runners',
      query: listQuerySchema,
      responses: { 200: { description: 'A page of runners', schema: listResponseSchema(runnerResponseSchema) } },
    },
    async ({ principal, query }) => ({ status: 200, body: await listRunners(deps, principal.orgId, query) }),
  );
  reg.add(
    {
      method: 'get',
      path: '/api/runners/:id',
      summary: 'Get a runner with its ordered steps and triggers',
      tag: 'runners',
      responses: { 200: { description: 'The runner', schema: runnerResponseSchema }, 404: notFound },
    },
    async ({ principal, params }) => ({
      status: 200,
      body: await getRunner(deps, principal.orgId, requireUuid(params.id, 'Runner')),
    }),
  );
  reg.add(
    {
      method: 'patch',
      path: '/api/runners/:id',
      summary: 'Update a runner',
      tag: 'runners',
      body: runnerUpdateSchema,
      responses: { 200: { description: 'The runner', schema: runnerResponseSchema }, 404: notFound },
    },
    async ({ principal, params, body }) => ({
      status: 200,
      body: await updateRunner(deps, principal.orgId, requireUuid(params.id, 'Runner'), body),
    }),
  );
  reg.add(
    {
      method: 'delete',
      path: '/api/runners/:id',
      summary: 'Delete a runner (and its schedules; runs in flight finish)',
      tag: 'runners',
      responses: { 204: { description: 'Deleted' }, 404: notFound },
    },
    async ({ principal, params }) => {
      await deleteRunner(deps, principal.orgId, requireUuid(params.id, 'Runner'));
      return { status: 204 };
    },
  );
}
