import { type z } from 'zod';
import type { ServiceDeps } from '../../src/services/deps';
import {
  attachResource,
  attachmentKind,
  detachResource,
  getBudgetConfig,
  getPlanConfig,
  getWebConfig,
  listAttachments,
  putBudgetConfig,
  putPlanConfig,
  putWebConfig,
  type AttachmentKind,
} from '../../src/services/connections';
import {
  attachIntegrationSchema,
  attachMcpSchema,
  attachmentResponseSchema,
  attachSkillSchema,
  attachToolSchema,
  budgetConfigResponseSchema,
  budgetConfigSchema,
  integrationResponseSchema,
  mcpServerResponseSchema,
  planConfigResponseSchema,
  planConfigSchema,
  skillResponseSchema,
  toolResponseSchema,
  webConfigResponseSchema,
  webConfigSchema,
} from '../../src/shared/connection-schemas';
import { errorResponseSchema, listQuerySchema, listResponseSchema } from '../../src/shared/schemas';
import type { RouteRegistry } from '../route';
import { requireUuid } from './params';

const noContent = { description: 'Done' };
const notFound = (what: string) => ({ description: `No such ${what} in your org`, schema: errorResponseSchema });

/**
 * CRUD routes of an org-level resource (`/api/<plural>`): create, list, get, patch, delete, all documented
 * from the same zod schemas that validate them.
 */
export function registerCrudRoutes<C extends z.ZodType, U extends z.ZodType>(
  reg: RouteRegistry,
  o: {
    path: string;
    tag: string;
    /** "Agent", "MCP server", ... */
    label: string;
    createSchema: C;
    updateSchema: U;
    responseSchema: z.ZodType;
    create: (orgId: string, body: z.infer<C>) => Promise<unknown>;
    list: (orgId: string, q: { limit: number; cursor?: string }) => Promise<unknown>;
    get: (orgId: string, id: string) => Promise<unknown>;
    update: (orgId: string, id: string, body: z.infer<U>) => Promise<unknown>;
    remove: (orgId: string, id: string) => Promise<void>;
    /** When deleting can be refused (the resource is still in use), what the 409 says. */
    deleteConflict?: string;
  },
): void {
  const lower = o.label.charAt(0).toLowerCase() + o.label.slice(1);
  const nf = notFound(lower);
  reg.add(
    {
      method: 'post',
      path: o.path,
      summary: `Create ${/^[aeiou]/i.test(o.label) ? 'an' : 'a'} ${lower}`,
      tag: o.tag,
      body: o.createSchema,
      responses: {
        201: { description: `The ${lower}`, schema: o.responseSchema },
        409: { description: 'Name taken', schema: errorResponseSchema },
      },
    },
    async ({ principal, body }) => ({ status: 201, body: await o.create(principal.orgId, body as z.infer<C>) }),
  );
  reg.add(
    {
      method: 'get',
      path: o.path,
      summary: `List ${lower}s`,
      tag: o.tag,
      query: listQuerySchema,
      responses: { 200: { description: `A page of ${lower}s`, schema: listResponseSchema(o.responseSchema) } },
    },
    async ({ principal, query }) => ({ status: 200, body: await o.list(principal.orgId, query) }),
  );
  reg.add(
    {
      method: 'get',
      path: `${o.path}/:id`,
      summary: `Get ${/^[aeiou]/i.test(o.label) ? 'an' : 'a'} ${lower}`,
      tag: o.tag,
      responses: { 200: { description: `The ${lower}`, schema: o.responseSchema }, 404: nf },
    },
    async ({ principal, params }) => ({
      status: 200,
      body: await o.get(principal.orgId, requireUuid(params.id, o.label)),
    }),
  );
  reg.add(
    {
      method: 'patch',
      path: `${o.path}/:id`,
      summary: `Update ${/^[aeiou]/i.test(o.label) ? 'an' : 'a'} ${lower}`,
      tag: o.tag,
      body: o.updateSchema,
      responses: {
        200: { description: `The ${lower}`, schema: o.responseSchema },
        404: nf,
        409: { description: 'Name taken', schema: errorResponseSchema },
      },
    },
    async ({ principal, params, body }) => ({
      status: 200,
      body: await o.update(principal.orgId, requireUuid(params.id, o.label), body as z.infer<U>),
    }),
  );
  reg.add(
    {
      method: 'delete',
      path: `${o.path}/:id`,
      summary: `Delete ${/^[aeiou]/i.test(o.label) ? 'an' : 'a'} ${lower}`,
      tag: o.tag,
      responses: o.deleteConflict
        ? { 204: noContent, 404: nf, 409: { description: o.deleteConflict, schema: errorResponseSchema } }
        : { 204: noContent, 404: nf },
    },
    async ({ principal, params }) => {
      await o.remove(principal.orgId, requireUuid(params.id, o.label));
      return { status: 204 };
    },
  );
}

const ATTACH: Record<AttachmentKind, { body: z.ZodObject; resource: z.ZodType }> = {
  mcps: { body: attachMcpSchema, resource: mcpServerResponseSchema },
  integrations: { body: attachIntegrationSchema, resource: integrationResponseSchema },
  tools: { body: attachToolSchema, resource: toolResponseSchema },
  skills: { body: attachSkillSchema, resource: skillResponseSchema },
};

/** `/api/runners/:id/{mcps,integrations,tools,skills}`, `web-config`, `plan-config`, `budget`. */
export function registerConnectionRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  const runnerNotFound = notFound('runner');

  for (const kind of Object.keys(ATTACH) as AttachmentKind[]) {
    const { label, idField, resourceField } = attachmentKind(kind);
    const lower = label.charAt(0).toLowerCase() + label.slice(1);
    const attachment = attachmentResponseSchema(idField, resourceField, ATTACH[kind].resource);
    reg.add(
      {
        method: 'get',
        path: `/api/runners/:id/${kind}`,
        summary: `List the ${lower}s attached to a runner`,
        tag: 'connections',
        query: listQuerySchema,
        responses: {
          200: { description: 'Attachments, most recent first', schema: listResponseSchema(attachment) },
          404: runnerNotFound,
        },
      },
      async ({ principal, params, query }) => ({
        status: 200,
        body: await listAttachments(deps, principal.orgId, kind, requireUuid(params.id, 'Runner'), query),
      }),
    );
    reg.add(
      {
        method: 'post',
        path: `/api/runners/:id/${kind}`,
        summary: `Attach ${/^[aeiou]/i.test(label) ? 'an' : 'a'} ${lower} to a runner (idempotent)`,
        tag: 'connections',
        body: ATTACH[kind].body,
        responses: {
          201: { description: 'Attached now', schema: attachment },
          200: { description: 'Was attached already; the existing attachment', schema: attachment },
          404: { description: `No such runner or ${lower} in your org`, schema: errorResponseSchema },
        },
      },
      async ({ principal, params, body }) => {
        const resourceId = (body as Record<string, string>)[idField] as string;
        const r = await attachResource(
          deps,
          principal.orgId,
          kind,
          requireUuid(params.id, 'Runner'),
          resourceId.toLowerCase(),
        );
        return { status: r.created ? 201 : 200, body: r.attachment };
      },
    );
    reg.add(
      {
        method: 'delete',
        path: `/api/runners/:id/${kind}/:${idField}`,
        summary: `Detach ${/^[aeiou]/i.test(label) ? 'an' : 'a'} ${lower} from a runner`,
        tag: 'connections',
        responses: {
          204: noContent,
          404: { description: `No such runner, or the ${lower} is not attached`, schema: errorResponseSchema },
        },
      },
      async ({ principal, params }) => {
        const runnerId = requireUuid(params.id, 'Runner');
        await detachResource(deps, principal.orgId, kind, runnerId, requireUuid(params[idField], label));
        return { status: 204 };
      },
    );
  }

  // One GET/PUT pair per 1:1 runner config; GET answers the defaults when nothing was ever stored.
  const configs = [
    {
      path: 'web-config',
      what: 'web tools config',
      tag: 'connections',
      body: webConfigSchema,
      response: webConfigResponseSchema,
      get: getWebConfig,
      put: putWebConfig,
    },
    {
      path: 'plan-config',
      what: 'plan config',
      tag: 'connections',
      body: planConfigSchema,
      response: planConfigResponseSchema,
      get: getPlanConfig,
      put: putPlanConfig,
    },
    {
      path: 'budget',
      what: 'budget config (defaults: disabled, thresholds 0.80 and 0.95)',
      tag: 'budget',
      body: budgetConfigSchema,
      response: budgetConfigResponseSchema,
      get: getBudgetConfig,
      put: putBudgetConfig,
    },
  ] as const;
  for (const c of configs) {
    reg.add(
      {
        method: 'get',
        path: `/api/runners/:id/${c.path}`,
        summary: `Get a runner's ${c.what}`,
        tag: c.tag,
        responses: { 200: { description: `The ${c.what}`, schema: c.response }, 404: runnerNotFound },
      },
      async ({ principal, params }) => ({
        status: 200,
        body: await c.get(deps, principal.orgId, requireUuid(params.id, 'Runner')),
      }),
    );
    reg.add(
      {
        method: 'put',
        path: `/api/runners/:id/${c.path}`,
        summary: `Set a runner's ${c.what} (fields left out keep their value)`,
        tag: c.tag,
        body: c.body,
        responses: { 200: { description: `The ${c.what}`, schema: c.response }, 404: runnerNotFound },
      },
      async ({ principal, params, body }) => ({
        status: 200,
        body: await (c.put as (d: ServiceDeps, o: string, r: string, b: unknown) => Promise<unknown>)(
          deps,
          principal.orgId,
          requireUuid(params.id, 'Runner'),
          body,
        ),
      }),
    );
  }
}
