import { z } from 'zod';
import { checkJsonPath } from './jsonpath';

/**
 * Wire schemas of triggers (`/api/runners/:id/triggers`) and the pure checks behind them: cron
 * expressions (cron-parser), IANA time zones, poll templates. Pure: used by the API and the worker.
 */

export const TRIGGER_KINDS = ['cron', 'webhook', 'poll', 'button', 'manual', 'api'] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

/** Overlap policies of a cron schedule, in the API's spelling (Temporal's, lower-cased). */
export const OVERLAP_POLICIES = [
  'skip',
  'buffer_one',
  'buffer_all',
  'cancel_other',
  'terminate_other',
  'allow_all',
] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export const SIGNATURE_PRESETS = ['github', 'stripe', 'standard_webhooks', 'hmac_sha256'] as const;
export type SignaturePreset = (typeof SIGNATURE_PRESETS)[number];

export const POLL_TEMPLATES = ['github_new_prs', 'generic'] as const;
export type PollTemplateName = (typeof POLL_TEMPLATES)[number];

/* ---------------------------------------------------------------------------------------------- */
/* Cron expressions and time zones                                                                 */
/* ---------------------------------------------------------------------------------------------- */

const FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'];
/** Shorthands both cron-parser and Temporal understand, as the 5-field expression they stand for. */
const SHORTHANDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** The 5-field form of an expression (shorthands expanded, whitespace normalised). */
export function normalizeCron(expr: string): string {
  const t = expr.trim().replace(/\s+/g, ' ');
  return SHORTHANDS[t.toLowerCase()] ?? t;
}

/**
 * Why a cron expression's shape is unusable, or null (the service then parses it with cron-parser,
 * see src/services/triggers-cron.ts). Standard 5 fields (minute hour day-of-month month
 * day-of-week) with numbers, names, `*`, `,`, `-` and `/`: the syntax that cron-parser (the fire-time
 * preview) and Temporal's schedule spec read the same way.
 */
export function checkCronExpression(expr: unknown): string | null {
  if (typeof expr !== 'string' || expr.trim() === '') return 'must be a non-empty cron expression';
  if (expr.length > 200) return 'must be at most 200 characters';
  const norm = normalizeCron(expr);
  if (norm.startsWith('@')) return `unknown shorthand "${norm}" (use @yearly, @monthly, @weekly, @daily or @hourly)`;
  const fields = norm.split(' ');
  if (fields.length !== 5) {
    return `must have 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  }
  for (const [i, f] of fields.entries()) {
    const named = i >= 3; // month and day-of-week may use names (JAN, MON)
    const ok = named ? /^(?:[0-9*,\-/]|[A-Za-z]{3})+$/.test(f) : /^[0-9*,\-/]+$/.test(f);
    if (!ok) {
      return `${FIELD_NAMES[i]} field "${f}" may only contain numbers${named ? ', three-letter names' : ''}, "*", ",", "-" and "/"`;
    }
  }
  return null;
}

/** Why a time zone is unusable, or null. IANA names (`Europe/Paris`, `America/New_York`, `UTC`). */
export function checkTimeZone(tz: unknown): string | null {
  if (typeof tz !== 'string' || tz === '') return 'must be an IANA time zone name such as "Europe/Paris"';
  if (!/^(?:UTC|GMT|[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){1,2})$/.test(tz)) {
    return `"${tz}" is not an IANA time zone name (such as "Europe/Paris" or "UTC")`;
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    return `"${tz}" is not a known IANA time zone`;
  }
  return null;
}

/* ---------------------------------------------------------------------------------------------- */
/* Poll templates                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

const jsonPathString = z.string().superRefine((v, ctx) => {
  const problem = checkJsonPath(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** `github_new_prs`: `{repo: "owner/name"}`, optional `state` and `perPage`. */
export const githubNewPrsParamsSchema = z
  .object({
    repo: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be "owner/name"'),
    state: z.enum(['open', 'closed', 'all']).optional(),
    perPage: z.number().int().min(1).max(100).optional(),
    /** The MCP tool to call (the GitHub MCP server names it `list_pull_requests`). */
    toolName: z.string().min(1).max(200).optional(),
  })
  .strict();

/**
 * `generic`: any MCP tool. `arguments` are passed as given, plus `cursorArgument: <cursor>` once a
 * cursor exists. `itemsPath` selects the items in the tool's result (structured content, or its text
 * parsed as JSON), `itemIdPath` each item's id (the run's idempotency key) and `itemCursorPath` each
 * item's cursor value (compared as numbers when both are numeric, else as strings); the stored cursor
 * is the largest one seen, and items at or below it are not new.
 */
export const genericPollParamsSchema = z
  .object({
    toolName: z.string().min(1).max(200),
    arguments: z.record(z.string(), z.unknown()).optional(),
    cursorArgument: z.string().min(1).max(200).optional(),
    itemsPath: jsonPathString,
    itemIdPath: jsonPathString,
    itemCursorPath: jsonPathString.optional(),
    /** Maps each item to the run input (JSONPath over the item); default: the item itself. */
    inputPath: jsonPathString.optional(),
  })
  .strict();

export type GithubNewPrsParams = z.infer<typeof githubNewPrsParamsSchema>;
export type GenericPollParams = z.infer<typeof genericPollParamsSchema>;

/** What a poll does, whatever its template: one tool call and where to find items, ids and cursors. */
export interface PollPlan {
  toolName: string;
  arguments: Record<string, unknown>;
  cursorArgument?: string;
  itemsPath: string;
  itemIdPath: string;
  itemCursorPath?: string;
  inputPath?: string;
}

/** Turns a template and its params into the poll's plan (params already validated). */
export function pollPlan(template: PollTemplateName, params: Record<string, unknown>): PollPlan {
  if (template === 'github_new_prs') {
    const p = params as GithubNewPrsParams;
    const [owner, repo] = p.repo.split('/') as [string, string];
    return {
      toolName: p.toolName ?? 'list_pull_requests',
      arguments: {
        owner,
        repo,
        state: p.state ?? 'open',
        sort: 'created',
        direction: 'desc',
        perPage: p.perPage ?? 30,
      },
      itemsPath: '$[*]',
      itemIdPath: '$.number',
      itemCursorPath: '$.created_at',
    };
  }
  const p = params as GenericPollParams;
  return {
    toolName: p.toolName,
    arguments: p.arguments ?? {},
    cursorArgument: p.cursorArgument,
    itemsPath: p.itemsPath,
    itemIdPath: p.itemIdPath,
    itemCursorPath: p.itemCursorPath,
    inputPath: p.inputPath,
  };
}

export const pollConfigSchema = z
  .object({
    provider: z.string().trim().min(1).max(100).default('generic'),
    mcpServerId: z.uuid(),
    template: z.enum(POLL_TEMPLATES),
    params: z.record(z.string(), z.unknown()).default({}),
    intervalMinutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .default(5),
  })
  .strict()
  .superRefine((v, ctx) => {
    const schema = v.template === 'github_new_prs' ? githubNewPrsParamsSchema : genericPollParamsSchema;
    const r = schema.safeParse(v.params);
    if (!r.success) {
      for (const i of r.error.issues) {
        const keys = 'keys' in i && Array.isArray(i.keys) ? (i.keys as string[]) : null;
        ctx.addIssue({
          code: 'custom',
          path: ['params', ...i.path.map(String), ...(keys?.length ? [keys[0] as string] : [])],
          message: keys?.length
            ? `unknown field for template ${v.template}: ${keys.join(', ')}`
            : `${i.message} (template ${v.template})`,
        });
      }
    }
  });
export type PollConfig = z.infer<typeof pollConfigSchema>;

/* ---------------------------------------------------------------------------------------------- */
/* Trigger create / update                                                                         */
/* ---------------------------------------------------------------------------------------------- */

const cronExpressionSchema = z.string().superRefine((v, ctx) => {
  const problem = checkCronExpression(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const timeZoneSchema = z.string().superRefine((v, ctx) => {
  const problem = checkTimeZone(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid HTTP header name');

/**
 * Where a webhook's idempotency key comes from: a JSONPath into the JSON body (`$.delivery.id`), or a
 * request header written `header:<name>` (`header:webhook-id`, `header:X-GitHub-Delivery`).
 */
export const idempotencyKeyPathSchema = z
  .string()
  .max(1000)
  .superRefine((v, ctx) => {
    if (v.toLowerCase().startsWith('header:')) {
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(v.slice('header:'.length))) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be "header:<HTTP header name>" or a JSONPath starting with "$"',
        });
      }
      return;
    }
    const problem = checkJsonPath(v);
    if (problem) ctx.addIssue({ code: 'custom', message: `${problem} (or use "header:<name>")` });
  });

export const signatureConfigSchema = z
  .object({
    preset: z.enum(SIGNATURE_PRESETS),
    /** The signing secret (Stripe's and Standard Webhooks' `whsec_…` as given). Stored encrypted, never shown. */
    secret: z.string().min(8).max(1000).optional(),
    /** Stripe and Standard Webhooks: how old a signed timestamp may be (default 300 s). */
    toleranceSeconds: z.number().int().min(1).max(86_400).optional(),
    /** hmac_sha256 only: the header carrying the signature, its encoding and an optional prefix (`sha256=`). */
    header: headerName.optional(),
    encoding: z.enum(['hex', 'base64']).optional(),
    prefix: z.string().max(50).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    // Standard Webhooks secrets are `whsec_` + base64 of the key: a typo would make every delivery fail.
    if (v.preset === 'standard_webhooks' && v.secret?.startsWith('whsec_')) {
      const b64 = v.secret.slice(6);
      const bytes = Math.floor((b64.length * 3) / 4) - (b64.match(/=+$/)?.[0].length ?? 0);
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || bytes < 16) {
        ctx.addIssue({
          code: 'custom',
          path: ['secret'],
          message: 'must be "whsec_" followed by the base64 of at least 16 bytes',
        });
      }
    }
    if (v.preset !== 'hmac_sha256' && (v.header !== undefined || v.encoding !== undefined || v.prefix !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['header'],
        message: `header, encoding and prefix apply to the hmac_sha256 preset only`,
      });
    }
  });
export type SignatureConfigInput = z.infer<typeof signatureConfigSchema>;

const enabled = z.boolean().optional();
const runInput = z.unknown().optional().describe('the input of every run this trigger starts (default {})');

export const cronTriggerFields = {
  cronExpression: cronExpressionSchema,
  cronTimezone: timeZoneSchema.optional(),
  overlapPolicy: z.enum(OVERLAP_POLICIES).optional(),
  catchupWindowSeconds: z
    .number()
    .int()
    .min(10)
    .max(7 * 86_400)
    .optional(),
  input: runInput,
};
export const webhookTriggerFields = {
  signature: signatureConfigSchema.nullish(),
  idempotencyKeyPath: idempotencyKeyPathSchema.nullish(),
  rateLimitPerMinute: z.number().int().min(1).max(100_000).optional(),
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(5 * 1024 * 1024)
    .optional(),
};

/** A button's start limit per client per minute when none is set (src/services/button.ts). */
export const BUTTON_DEFAULT_RATE_LIMIT_PER_MINUTE = 10;
export const BUTTON_MAX_RATE_LIMIT_PER_MINUTE = 10_000;
export const BUTTON_MAX_ALLOWED_ORIGINS = 50;

/**
 * The browser origin `v` names, normalised (`https://Shop.Example:443/` → `https://shop.example`), or why
 * it is not one. An origin is what browsers send in `Origin`: `http` or `https`, a host and an optional
 * port. A path, query, fragment, credentials or a wildcard would never match that header, so they are
 * refused rather than silently never matching.
 */
export function parseOrigin(v: string): { origin: string } | { problem: string } {
  const example = 'an origin such as "https://shop.example" or "http://localhost:8080"';
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return { problem: `"${v}" is not ${example}` };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return { problem: `"${v}" must start with http:// or https://` };
  }
  if (u.username || u.password) return { problem: `"${v}" must not contain credentials` };
  if (u.hostname.includes('*')) return { problem: `"${v}": wildcards are not supported; list each origin` };
  // Only scheme://host[:port], with at most a trailing slash: no path, query or fragment.
  if (!/^https?:\/\/[^/?#]+\/?$/i.test(v)) {
    return { problem: `"${v}" must be ${example}, without a path, query or fragment` };
  }
  return { origin: u.origin };
}

const originSchema = z
  .string()
  .max(300)
  .superRefine((v, ctx) => {
    const r = parseOrigin(v);
    if ('problem' in r) ctx.addIssue({ code: 'custom', message: r.problem });
  });

export const buttonTriggerFields = {
  input: runInput,
  label: z
    .string()
    .trim()
    .min(1)
    .max(80)
    .nullish()
    .describe('button: the text on the button (default "Run <runner name>"); null resets it'),
  allowedOrigins: z
    .array(originSchema)
    .max(BUTTON_MAX_ALLOWED_ORIGINS)
    .nullish()
    .describe(
      'button: origins (scheme://host[:port]) whose pages may embed the button and start runs through embed.js; ' +
        'null or absent: any origin; []: no embedding (the hosted page only)',
    ),
  rateLimitPerMinute: z
    .number()
    .int()
    .min(1)
    .max(BUTTON_MAX_RATE_LIMIT_PER_MINUTE)
    .optional()
    .describe(
      `button: starts per minute per client (default ${BUTTON_DEFAULT_RATE_LIMIT_PER_MINUTE}); ten times that per runner`,
    ),
};

export const triggerCreateSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('cron'), enabled, ...cronTriggerFields }).strict(),
  z.object({ kind: z.literal('webhook'), enabled, ...webhookTriggerFields }).strict(),
  z.object({ kind: z.literal('poll'), enabled, pollConfig: pollConfigSchema }).strict(),
  z.object({ kind: z.literal('button'), enabled, ...buttonTriggerFields }).strict(),
  z.object({ kind: z.literal('manual'), enabled }).strict(),
  z.object({ kind: z.literal('api'), enabled }).strict(),
]);
export type TriggerCreate = z.infer<typeof triggerCreateSchema>;

/** Every field a PATCH may carry; which ones apply depends on the trigger's kind (checked in the service). */
export const triggerUpdateSchema = z
  .object({
    enabled,
    ...cronTriggerFields,
    cronExpression: cronExpressionSchema.optional(),
    ...webhookTriggerFields,
    /** Button (`rateLimitPerMinute` is shared with webhooks; the button's own range is checked in the service). */
    label: buttonTriggerFields.label,
    allowedOrigins: buttonTriggerFields.allowedOrigins,
    /** Webhook: issue a new token (the old URL stops working); the response shows the new `url` once. */
    rotateToken: z.literal(true).optional(),
    /** Poll: replaces the poll config (validated against its template). */
    pollConfig: pollConfigSchema.optional(),
    /** Poll: set or reset (null) the cursor; the next poll starts from it. */
    pollCursor: z.union([z.string().max(1000), z.number(), z.null()]).optional(),
  })
  .strict();
export type TriggerUpdate = z.infer<typeof triggerUpdateSchema>;

/** Which PATCH fields each kind accepts (besides `enabled`). */
export const UPDATABLE_BY_KIND: Record<TriggerKind, readonly string[]> = {
  cron: ['cronExpression', 'cronTimezone', 'overlapPolicy', 'catchupWindowSeconds', 'input'],
  webhook: ['signature', 'idempotencyKeyPath', 'rateLimitPerMinute', 'maxBodyBytes', 'rotateToken'],
  poll: ['pollConfig', 'pollCursor'],
  button: ['input', 'label', 'allowedOrigins', 'rateLimitPerMinute'],
  manual: [],
  api: [],
};

/* ---------------------------------------------------------------------------------------------- */
/* Trigger responses: one shape per kind                                                           */
/* ---------------------------------------------------------------------------------------------- */

const triggerBase = {
  id: z.uuid(),
  runnerId: z.uuid(),
  enabled: z.boolean(),
  lastFiredAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
};
const runInputOut = z.unknown().describe('the input of every run this trigger starts');

export const cronTriggerResponseSchema = z.object({
  ...triggerBase,
  kind: z.literal('cron'),
  cronExpression: z.string(),
  cronTimezone: z.string(),
  overlapPolicy: z.enum(OVERLAP_POLICIES),
  catchupWindowSeconds: z.number(),
  input: runInputOut,
  scheduleId: z.string().nullable(),
  nextFireTimes: z
    .array(z.string())
    .describe('the next five fire times, written in the trigger zone (offsets show DST); empty while disabled'),
});

export const signatureResponseSchema = z.object({
  preset: z.enum(SIGNATURE_PRESETS),
  secret: z.string().describe('a masked hint of the signing secret; the secret itself is never shown'),
  toleranceSeconds: z.number().optional(),
  header: z.string().optional(),
  encoding: z.enum(['hex', 'base64']).optional(),
  prefix: z.string().optional(),
});

export const webhookTriggerResponseSchema = z.object({
  ...triggerBase,
  kind: z.literal('webhook'),
  token: z.string().optional().describe('the full token, only in the create and rotate responses'),
  url: z.string().optional().describe('the full inbound URL, only in the create and rotate responses'),
  tokenPrefix: z.string().nullable(),
  signature: signatureResponseSchema.nullable(),
  idempotencyKeyPath: z.string().nullable(),
  rateLimitPerMinute: z.number(),
  maxBodyBytes: z.number(),
});

export const pollTriggerResponseSchema = z.object({
  ...triggerBase,
  kind: z.literal('poll'),
  pollConfig: pollConfigSchema,
  pollCursor: z.union([z.string(), z.number(), z.null()]),
  scheduleId: z.string().nullable(),
});

export const buttonTriggerResponseSchema = z.object({
  ...triggerBase,
  kind: z.literal('button'),
  input: runInputOut,
  label: z.string().nullable().describe('the text on the button (null: "Run <runner name>")'),
  allowedOrigins: z
    .array(z.string())
    .nullable()
    .describe('origins that may embed the button (null: any origin; empty: the hosted page only)'),
  rateLimitPerMinute: z.number().describe('starts per minute per client'),
});
export const manualTriggerResponseSchema = z.object({ ...triggerBase, kind: z.literal('manual') });
export const apiTriggerResponseSchema = z.object({ ...triggerBase, kind: z.literal('api') });

export const triggerResponseSchema = z.discriminatedUnion('kind', [
  cronTriggerResponseSchema,
  webhookTriggerResponseSchema,
  pollTriggerResponseSchema,
  buttonTriggerResponseSchema,
  manualTriggerResponseSchema,
  apiTriggerResponseSchema,
]);
export type TriggerResponse = z.input<typeof triggerResponseSchema>;

/**
 * The same fields as one object (each kind's fields optional): for MCP tool outputs, which must be
 * object schemas, not unions.
 */
export const triggerObjectResponseSchema = z.object({
  ...cronTriggerResponseSchema.partial().shape,
  ...webhookTriggerResponseSchema.partial().shape,
  ...pollTriggerResponseSchema.partial().shape,
  ...buttonTriggerResponseSchema.partial().shape,
  ...triggerBase,
  kind: z.enum(TRIGGER_KINDS),
});
