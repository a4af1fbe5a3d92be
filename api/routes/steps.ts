import type { ServiceDeps } from '../../src/services/deps';
import { addStep, listSteps, removeStep, updateStep } from '../../src/services/steps';
import {
  errorResponseSchema,
  listResponseSchema,
  stepCreateSchema,
  stepResponseSchema,
  stepUpdateSchema,
} from '../../src/shared/schemas';
import type { RouteRegistry } from '../route';
import { requireUuid } from './params';

export function registerStepRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  const notFound = { description: 'No such runner or step in your org', schema: errorResponseSchema };
  const nameTaken = { description: 'Another step of this runner has that name', schema: errorResponseSchema };
  reg.add(
    {
      method: 'post',
      path: '/api/runners/:id/steps',
      summary: 'Add a step to a runner',
      tag: 'steps',
      body: stepCreateSchema,
      responses: { 201: { description: 'The step', schema: stepResponseSchema }, 404: notFound, 409: nameTaken },
    },
    async ({ principal, params, body }) => ({
      status: 201,
      body: await addStep(deps, principal.orgId, requireUuid(params.id, 'Runner'), body),
    }),
  );
  reg.add(
    {
      method: 'get',
      path: '/api/runners/:id/steps',
      summary: "List a runner's steps in run order",
      tag: 'steps',
      responses: { 200: { description: 'The steps', schema: listResponseSchema(stepResponseSchema) }, 404: notFound },
    },
    async ({ principal, params }) => ({
      status: 200,
      body: await listSteps(deps, principal.orgId, requireUuid(params.id, 'Runner')),
    }),
  );
  reg.add(
    {
      method: 'patch',
      path: '/api/runners/:id/steps/:stepId',
      summary: 'Update a step',
      tag: 'steps',
      body: stepUpdateSchema,
      responses: { 200: { description: 'The step', schema: stepResponseSchema }, 404: notFound, 409: nameTaken },
    },
    async ({ principal, params, body }) => ({
      status: 200,
      body: await updateStep(
        deps,
        principal.orgId,
        requireUuid(params.id, 'Runner'),
        requireUuid(params.stepId, 'Step'),
        body,
      ),
    }),
  );
  reg.add(
    {
      method: 'delete',
      path: '/api/runners/:id/steps/:stepId',
      summary: 'Remove a step',
      tag: 'steps',
      responses: { 204: { description: 'Removed' }, 404: notFound },
    },
    async ({ principal, params }) => {
      await removeStep(deps, principal.orgId, requireUuid(params.id, 'Runner'), requireUuid(params.stepId, 'Step'));
      return { status: 204 };
    },
  );
}
