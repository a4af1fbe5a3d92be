import { z } from 'zod';
import {
  analyticsQuerySchema,
  orgAnalytics,
  orgAnalyticsSchema,
  runnerAnalytics,
  runnerAnalyticsSchema,
} from '../services/analytics';
import { resumeRun } from '../services/budget';
import { bulkRunStatuses, createRunsBulk } from '../services/bulk-runs';
import { createTrigger, deleteTrigger, getTrigger, listTriggers, updateTrigger } from '../services/triggers';
import {
  bulkRunCreateSchema,
  bulkRunResponseSchema,
  bulkRunStatusQuerySchema,
  bulkRunStatusResponseSchema,
} from '../shared/bulk-schemas';
import { resumeRunSchema, runResponseSchema } from '../shared/schemas';
import {
  buttonTriggerFields,
  cronTriggerFields,
  pollConfigSchema,
  TRIGGER_KINDS,
  triggerCreateSchema,
  triggerObjectResponseSchema,
  triggerUpdateSchema,
  webhookTriggerFields,
} from '../shared/trigger-schemas';
import { defineTool, deletedOutput, listArgs, listOutput, parseBody, splitIds, uuidArg } from './define';
import type { McpToolContext } from './server';

/*
 * Tools for the routes that landed after the first MCP server: triggers, bulk runs, resume and
 * analytics. Each is a thin call of the same service function as its REST route (api/routes/triggers.ts,
 * bulk-runs.ts, budget.ts), with the route's own zod schema validating the arguments.
 */

const lower = (v: string) => v.toLowerCase();
const page = (a: { limit?: number | undefined; cursor?: string | undefined }) => ({
  limit: a.limit ?? 50,
  cursor: a.cursor,
});

/**
 * The trigger create body is a union by `kind`; an MCP input schema must be one object, so the tool
 * takes every kind's fields (all optional) and the route's union schema checks which apply.
 */
const triggerCreateArgs = {
  kind: z.enum(TRIGGER_KINDS).describe('cron, webhook, poll, button, manual or api'),
  enabled: z.boolean().optional().describe('default true'),
  ...cronTriggerFields,
  cronExpression: cronTriggerFields.cronExpression
    .optional()
    .describe('cron: five fields, e.g. "0 9 * * 1" (required for cron)'),
  ...webhookTriggerFields,
  label: buttonTriggerFields.label,
  allowedOrigins: buttonTriggerFields.allowedOrigins,
  pollConfig: pollConfigSchema
    .optional()
    .describe('poll: {template, mcpServerId, params, intervalMinutes} (required for poll)'),
};

export function registerTriggerTools({ server, deps, orgId, log }: McpToolContext): void {
  const runnerId = uuidArg('the runner');
  const triggerId = uuidArg('the trigger');
  defineTool(
    server,
    {
      name: 'flapjack_add_runner_trigger',
      title: 'Add a trigger to a runner',
      description:
        'Add a trigger that starts runs of a runner: cron (cronExpression, optional cronTimezone and input), webhook ' +
        '(answers token and url once; optional signature {preset, secret}), poll (pollConfig), ' +
        'button (optional input, label, allowedOrigins, rateLimitPerMinute), manual or api. ' +
        'Example: {"runnerId": "4f1c…-uuid", "kind": "cron", "cronExpression": "0 9 * * 1", "cronTimezone": "Europe/Paris"}',
      input: z.object({ runnerId, ...triggerCreateArgs }).strict(),
      output: triggerObjectResponseSchema,
    },
    (a) => {
      const [ids, body] = splitIds(a, 'runnerId');
      return createTrigger(deps, orgId, lower(ids.runnerId), parseBody(triggerCreateSchema, body));
    },
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_list_runner_triggers',
      title: "List a runner's triggers",
      description:
        'List the triggers of a runner, newest first (webhook secrets masked). Example: {"runnerId": "4f1c…-uuid"}',
      input: z.object({ runnerId, ...listArgs }).strict(),
      output: listOutput(triggerObjectResponseSchema),
      readOnly: true,
    },
    (a) => listTriggers(deps, orgId, lower(a.runnerId), page(a)),
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_get_runner_trigger',
      title: 'Get a trigger',
      description:
        'Get one trigger of a runner (cron: with its next five fire times). Example: {"runnerId": "4f1c…-uuid", "triggerId": "5b7d…-uuid"}',
      input: z.object({ runnerId, triggerId }).strict(),
      output: triggerObjectResponseSchema,
      readOnly: true,
    },
    (a) => getTrigger(deps, orgId, lower(a.runnerId), lower(a.triggerId)),
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_update_runner_trigger',
      title: 'Update a trigger',
      description:
        'Pause or resume a trigger (enabled), change its config (cron: cronExpression, cronTimezone, input; webhook: signature, ' +
        'rateLimitPerMinute, rotateToken; poll: pollConfig, pollCursor; button: input, label, allowedOrigins, ' +
        'rateLimitPerMinute). Left-out fields keep their value. ' +
        'Example: {"runnerId": "4f1c…-uuid", "triggerId": "5b7d…-uuid", "enabled": false}',
      input: z.object({ runnerId, triggerId, ...triggerUpdateSchema.shape }).strict(),
      output: triggerObjectResponseSchema,
    },
    (a) => {
      const [ids, body] = splitIds(a, 'runnerId', 'triggerId');
      return updateTrigger(
        deps,
        orgId,
        lower(ids.runnerId),
        lower(ids.triggerId),
        parseBody(triggerUpdateSchema, body),
      );
    },
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_remove_runner_trigger',
      title: 'Remove a trigger',
      description: 'Delete a trigger and its schedule. Example: {"runnerId": "4f1c…-uuid", "triggerId": "5b7d…-uuid"}',
      input: z.object({ runnerId, triggerId }).strict(),
      output: deletedOutput,
      destructive: true,
    },
    async (a) => {
      await deleteTrigger(deps, orgId, lower(a.runnerId), lower(a.triggerId));
      return { deleted: true, id: lower(a.triggerId) };
    },
    log,
  );
}

export function registerLateRunTools({ server, deps, orgId, apiKeyId, log }: McpToolContext): void {
  const runnerId = uuidArg('the runner');
  const runId = uuidArg('the run');
  defineTool(
    server,
    {
      name: 'flapjack_trigger_run_bulk',
      title: 'Trigger many runs',
      description:
        'Start up to 10,000 runs of a runner at once. Each item is {input, idempotencyKey?} (like flapjack_trigger_run); ' +
        'invalid items are listed in `invalid` by index and do not stop the others; a used idempotencyKey gives its existing run. ' +
        'Example: {"runnerId": "4f1c…-uuid", "items": [{"input": {"url": "https://a.example"}}, {"input": {"url": "https://b.example"}, "idempotencyKey": "b"}]}',
      input: z.object({ runnerId, ...bulkRunCreateSchema.shape }).strict(),
      output: bulkRunResponseSchema,
    },
    (a) => {
      const [ids, body] = splitIds(a, 'runnerId');
      return createRunsBulk(deps, orgId, lower(ids.runnerId), parseBody(bulkRunCreateSchema, body).items, {
        kind: 'bulk',
        apiKeyId,
      });
    },
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_get_runs_status',
      title: 'Status of many runs',
      description:
        'The status of up to 1,000 runs of a runner by id (unknown ids are left out), e.g. to wait for a bulk start. ' +
        'Example: {"runnerId": "4f1c…-uuid", "ids": ["c03b…-uuid", "d14c…-uuid"]}',
      input: z.object({ runnerId, ...bulkRunStatusQuerySchema.shape }).strict(),
      output: bulkRunStatusResponseSchema,
      readOnly: true,
    },
    (a) =>
      bulkRunStatuses(
        deps,
        orgId,
        lower(a.runnerId),
        parseBody(bulkRunStatusQuerySchema, { ids: a.ids }).ids.map(lower),
      ),
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_resume_run',
      title: 'Resume a run paused on its budget',
      description:
        'Resume a run whose status is paused_budget, optionally raising its budget by additionalBudgetUsd first. Answers the ' +
        'run: running again, or still paused_budget (error says why) when the budget still does not cover the next call; ' +
        'an error when the run is not paused. Example: {"runnerId": "4f1c…-uuid", "runId": "c03b…-uuid", "additionalBudgetUsd": 2}',
      input: z.object({ runnerId, runId, ...resumeRunSchema.shape }).strict(),
      output: runResponseSchema,
    },
    (a) => {
      const [ids, body] = splitIds(a, 'runnerId', 'runId');
      return resumeRun(deps, orgId, lower(ids.runnerId), lower(ids.runId), parseBody(resumeRunSchema, body));
    },
    log,
  );
}

export function registerAnalyticsTools({ server, deps, orgId, log }: McpToolContext): void {
  defineTool(
    server,
    {
      name: 'flapjack_get_runner_analytics',
      title: "A runner's analytics",
      description:
        "A runner's runs and model costs over a period of UTC days (7d, 30d or 90d; default 30d): summary, cost_by_model " +
        '(most expensive first) and daily. Example: {"runnerId": "4f1c…-uuid", "period": "7d"}',
      input: z.object({ runnerId: uuidArg('the runner'), ...analyticsQuerySchema.shape }).strict(),
      output: runnerAnalyticsSchema,
      readOnly: true,
    },
    (a) =>
      runnerAnalytics(deps, orgId, lower(a.runnerId), parseBody(analyticsQuerySchema, { period: a.period }).period),
    log,
  );
  defineTool(
    server,
    {
      name: 'flapjack_get_analytics',
      title: 'Org analytics',
      description:
        "The org's runs, model costs, agents and tools over a period of UTC days (7d, 30d or 90d; default 30d): summary, " +
        'daily, by_model, by_agent, top_tools. Example: {"period": "30d"}',
      input: analyticsQuerySchema,
      output: orgAnalyticsSchema,
      readOnly: true,
    },
    (a) => orgAnalytics(deps, orgId, parseBody(analyticsQuerySchema, a).period),
    log,
  );
}
