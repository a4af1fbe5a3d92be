import {
  analyticsQuerySchema,
  orgAnalytics,
  orgAnalyticsSchema,
  runnerAnalytics,
  runnerAnalyticsSchema,
} from '../../src/services/analytics';
import { resumeRun } from '../../src/services/budget';
import type { ServiceDeps } from '../../src/services/deps';
import { errorResponseSchema, resumeRunSchema, runResponseSchema } from '../../src/shared/schemas';
import type { RouteRegistry } from '../route';
import { requireUuid } from './params';

/** `POST /api/runners/:id/runs/:runId/resume` and the two analytics routes. */
export function registerBudgetRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  reg.add(
    {
      method: 'post',
      path: '/api/runners/:id/runs/:runId/resume',
      summary: 'Resume a run paused on its budget, optionally raising the budget',
      tag: 'runs',
      body: resumeRunSchema,
      responses: {
        200: {
          description:
            'The run: running again, or still paused_budget (error says why) when the raised budget does not cover the next call',
          schema: runResponseSchema,
        },
        404: { description: 'No such runner or run in your org', schema: errorResponseSchema },
        409: { description: 'The run is not paused on its budget', schema: errorResponseSchema },
      },
    },
    async ({ principal, params, body }) => ({
      status: 200,
      body: await resumeRun(
        deps,
        principal.orgId,
        requireUuid(params.id, 'Runner'),
        requireUuid(params.runId, 'Run'),
        body,
      ),
    }),
  );
  reg.add(
    {
      method: 'get',
      path: '/api/runners/:id/analytics',
      summary: "A runner's runs and model costs over a period (UTC days)",
      tag: 'analytics',
      query: analyticsQuerySchema,
      responses: {
        200: {
          description: 'Summary, cost by model (most expensive first) and one entry per day',
          schema: runnerAnalyticsSchema,
        },
        404: { description: 'No such runner in your org', schema: errorResponseSchema },
      },
    },
    async ({ principal, params, query }) => ({
      status: 200,
      body: await runnerAnalytics(deps, principal.orgId, requireUuid(params.id, 'Runner'), query.period),
    }),
  );
  reg.add(
    {
      method: 'get',
      path: '/api/analytics',
      summary: "The org's runs, model costs, agents and tools over a period (UTC days)",
      tag: 'analytics',
      query: analyticsQuerySchema,
      responses: { 200: { description: 'Org analytics', schema: orgAnalyticsSchema } },
    },
    async ({ principal, query }) => ({ status: 200, body: await orgAnalytics(deps, principal.orgId, query.period) }),
  );
}
