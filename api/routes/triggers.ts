import type { Request } from 'express';
import type { RawBodyRequest as JsonRawBody } from '../middleware/json-body';
import { z } from 'zod';
import { AppError } from '../../src/errors/app-error';
import type { ServiceDeps } from '../../src/services/deps';
import { createTrigger, deleteTrigger, getTrigger, listTriggers, updateTrigger } from '../../src/services/triggers';
import { createWebhookReceiver } from '../../src/services/triggers-webhook';
import { errorResponseSchema, listQuerySchema, listResponseSchema } from '../../src/shared/schemas';
import { triggerCreateSchema, triggerResponseSchema, triggerUpdateSchema } from '../../src/shared/trigger-schemas';
import type { RouteRegistry } from '../route';
import { requireUuid } from './params';

/** `rawBody` is set by the JSON parser's `verify` hook (api/middleware/json-body.ts): the exact bytes the sender signed. */
type RawBodyRequest = Request & JsonRawBody;

/** Hard cap on what the webhook route reads itself (a trigger's own `maxBodyBytes` is lower). */
const MAX_READ_BYTES = 5 * 1024 * 1024;

/**
 * The raw body of a delivery: what the JSON parser saved, or, when no parser consumed the request
 * (a content type it does not handle), the stream read here, bounded.
 */
async function rawBodyOf(req: RawBodyRequest): Promise<{ raw: Buffer; parsed: unknown }> {
  if (req.rawBody) return { raw: req.rawBody, parsed: req.body };
  if (req.body !== undefined || !req.readable) return { raw: Buffer.alloc(0), parsed: req.body };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_READ_BYTES) throw new AppError('payload_too_large', 'The request body is too large');
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks);
  if (raw.length === 0) return { raw, parsed: undefined };
  try {
    return { raw, parsed: JSON.parse(raw.toString('utf8')) as unknown };
  } catch {
    throw new AppError('invalid_json', 'The request body is not valid JSON');
  }
}

export function registerTriggerRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  const notFound = { description: 'No such runner or trigger in your org', schema: errorResponseSchema };
  const invalid = { description: 'Invalid trigger config (details name each field)', schema: errorResponseSchema };
  const receive = createWebhookReceiver(deps);

  reg.add(
    {
      method: 'post',
      path: '/api/runners/webhooks/:token',
      summary: 'Inbound webhook: starts a run whose input is the JSON body',
      tag: 'triggers',
      public: true,
      // Auth is the token (and the signature): a sender's own Authorization header is not our API key.
      ignoresAuthorization: true,
      rawBody: { contentType: 'application/json', schema: z.unknown() },
      responses: {
        202: {
          description: 'The run was started (or, for a redelivery, the first run)',
          schema: z.object({
            runId: z.uuid(),
            duplicate: z.literal(true).optional().describe('a redelivery: runId is the run the first delivery started'),
          }),
        },
        401: { description: 'Missing or invalid signature; nothing was started', schema: errorResponseSchema },
        404: { description: 'Unknown webhook token', schema: errorResponseSchema },
        409: { description: 'The trigger is paused', schema: errorResponseSchema },
        413: { description: 'Body over the trigger limit', schema: errorResponseSchema },
        429: { description: 'Rate limited (see Retry-After)', schema: errorResponseSchema },
      },
    },
    async ({ req, params }) => {
      const { raw, parsed } = await rawBodyOf(req as RawBodyRequest);
      const out = await receive({ token: params.token ?? '', rawBody: raw, body: parsed, headers: req.headers });
      return { status: 202, body: { runId: out.runId, ...(out.created ? {} : { duplicate: true }) } };
    },
  );

  reg.add(
    {
      method: 'post',
      path: '/api/runners/:id/triggers',
      summary: 'Add a trigger (cron, webhook, poll, button, manual, api)',
      tag: 'triggers',
      body: triggerCreateSchema,
      responses: {
        201: {
          description: 'The trigger (a webhook shows its token and url here only)',
          schema: triggerResponseSchema,
        },
        404: notFound,
        422: invalid,
      },
    },
    async ({ principal, params, body }) => ({
      status: 201,
      body: await createTrigger(deps, principal.orgId, requireUuid(params.id, 'Runner'), body),
    }),
  );
  reg.add(
    {
      method: 'get',
      path: '/api/runners/:id/triggers',
      summary: "List a runner's triggers, newest first",
      tag: 'triggers',
      query: listQuerySchema,
      responses: {
        200: { description: 'A page of triggers', schema: listResponseSchema(triggerResponseSchema) },
        404: notFound,
      },
    },
    async ({ principal, params, query }) => ({
      status: 200,
      body: await listTriggers(deps, principal.orgId, requireUuid(params.id, 'Runner'), query),
    }),
  );
  reg.add(
    {
      method: 'get',
      path: '/api/runners/:id/triggers/:triggerId',
      summary: 'Get a trigger (cron: with its next five fire times in its zone)',
      tag: 'triggers',
      responses: { 200: { description: 'The trigger', schema: triggerResponseSchema }, 404: notFound },
    },
    async ({ principal, params }) => ({
      status: 200,
      body: await getTrigger(
        deps,
        principal.orgId,
        requireUuid(params.id, 'Runner'),
        requireUuid(params.triggerId, 'Trigger'),
      ),
    }),
  );
  reg.add(
    {
      method: 'patch',
      path: '/api/runners/:id/triggers/:triggerId',
      summary: 'Update a trigger: pause/resume (enabled), edit its config, rotate a webhook token, reset a poll cursor',
      tag: 'triggers',
      body: triggerUpdateSchema,
      responses: { 200: { description: 'The trigger', schema: triggerResponseSchema }, 404: notFound, 422: invalid },
    },
    async ({ principal, params, body }) => ({
      status: 200,
      body: await updateTrigger(
        deps,
        principal.orgId,
        requireUuid(params.id, 'Runner'),
        requireUuid(params.triggerId, 'Trigger'),
        body,
      ),
    }),
  );
  reg.add(
    {
      method: 'delete',
      path: '/api/runners/:id/triggers/:triggerId',
      summary: 'Delete a trigger (and its schedule)',
      tag: 'triggers',
      responses: { 204: { description: 'Deleted' }, 404: notFound },
    },
    async ({ principal, params }) => {
      await deleteTrigger(
        deps,
        principal.orgId,
        requireUuid(params.id, 'Runner'),
        requireUuid(params.triggerId, 'Trigger'),
      );
      return { status: 204 };
    },
  );
}
