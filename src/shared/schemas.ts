import { z } from 'zod';
import { checkJsonPath } from './jsonpath';
import { FAILURE_CODES } from './failure-codes';
import { RUN_STATUSES, STEP_KINDS, STEP_STATUSES, type StepKind } from './status';
import { triggerResponseSchema } from './trigger-schemas';

/** Wire schemas of the REST contract (camelCase). The API validates with them and OpenAPI is built from them. */

const jsonObject = z.record(z.string(), z.unknown());
const jsonPathString = z.string().superRefine((v, ctx) => {
  const problem = checkJsonPath(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const runnerCreateSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(5000).nullish(),
    inputSchema: jsonObject.nullish().describe('JSON Schema that every run input must match'),
    learnedInstructions: z.string().max(50_000).nullish(),
    defaultModel: z.string().min(1).max(200).nullish(),
    reflectOnFailure: z
      .boolean()
      .optional()
      .describe('After a failed run, ask the model for one short lesson and append it to learnedInstructions'),
  })
  .strict();
export const runnerUpdateSchema = runnerCreateSchema.partial().strict();
export type RunnerCreate = z.infer<typeof runnerCreateSchema>;
export type RunnerUpdate = z.infer<typeof runnerUpdateSchema>;

export const STEP_NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

export const computerConfigSchema = z
  .object({
    runtime: z.literal('javascript'),
    code: z.string().min(1).max(200_000),
    timeoutMs: z.number().int().min(10).max(60_000).optional(),
    memoryLimitMb: z.number().int().min(8).max(512).optional(),
  })
  .strict();
export type ComputerConfig = z.infer<typeof computerConfigSchema>;

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid HTTP header name');

const stepFields = {
  name: z
    .string()
    .regex(STEP_NAME_RE, 'must start with a letter or _ and contain only letters, digits, _ and - (max 64)'),
  kind: z.enum(STEP_KINDS),
  orderIndex: z.number().int().min(0).max(10_000),
  agentId: z.uuid().nullish(),
  preambleOverride: z.string().max(50_000).nullish(),
  modelOverride: z.string().min(1).max(200).nullish(),
  outputSchema: jsonObject.nullish(),
  inputMapping: z.record(z.string().min(1).max(128), jsonPathString).nullish(),
  webhookUrl: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .max(2048)
    .nullish(),
  webhookHeaders: z.record(headerName, z.string().max(8192)).nullish(),
  conditionExpr: jsonPathString.nullish(),
  computer: computerConfigSchema.nullish(),
};

type StepShape = {
  kind?: string | undefined;
  webhookUrl?: string | null | undefined;
  conditionExpr?: string | null | undefined;
  computer?: unknown;
};

/** Kind-specific required fields; used on create and on the merged result of an update. */
export function stepKindIssues(step: StepShape): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  if (step.kind === 'webhook' && !step.webhookUrl)
    issues.push({ path: 'webhookUrl', message: 'is required for a webhook step' });
  if (step.kind === 'condition' && !step.conditionExpr)
    issues.push({ path: 'conditionExpr', message: 'is required for a condition step' });
  if (step.kind === 'computer' && !step.computer)
    issues.push({ path: 'computer.code', message: 'is required for a computer step' });
  return issues;
}

/** The fields only some kinds of step read: on any other kind they would be stored and never used. */
const KIND_ONLY_FIELDS = {
  agentId: ['agent'],
  preambleOverride: ['agent'],
  modelOverride: ['agent'],
  webhookUrl: ['webhook'],
  webhookHeaders: ['webhook'],
  conditionExpr: ['condition'],
  computer: ['computer'],
} as const satisfies Record<string, readonly StepKind[]>;

/**
 * The fields of a request body (create or update) set for a kind of step that does not read them, `kind`
 * being the step's kind after the request. `null` clears a field and is always accepted (so changing a
 * step's kind can clear what the old kind used).
 */
export function stepForeignFieldIssues(
  kind: string,
  body: Record<string, unknown>,
): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  for (const [field, kinds] of Object.entries(KIND_ONLY_FIELDS)) {
    if (body[field] == null || (kinds as readonly string[]).includes(kind)) continue;
    const article = /^[aeiou]/.test(kind) ? 'an' : 'a';
    issues.push({ path: field, message: `applies only to ${kinds.join(', ')} steps, not to ${article} ${kind} step` });
  }
  return issues;
}

export const stepCreateSchema = z
  .object(stepFields)
  .strict()
  .superRefine((v, ctx) => {
    for (const i of [...stepKindIssues(v), ...stepForeignFieldIssues(v.kind, v)])
      ctx.addIssue({ code: 'custom', path: i.path.split('.'), message: i.message });
  });
export const stepUpdateSchema = z.object(stepFields).partial().strict();
export type StepCreate = z.infer<typeof stepCreateSchema>;
export type StepUpdate = z.infer<typeof stepUpdateSchema>;

export const runCreateSchema = z
  .object({
    input: z.unknown().optional(),
    idempotencyKey: z.string().min(1).max(255).optional(),
  })
  .strict();
export type RunCreate = z.infer<typeof runCreateSchema>;

/** What can start a run (`triggerKind` of a run). */
export const RUN_TRIGGER_KINDS = ['api', 'bulk', 'cron', 'webhook', 'poll', 'button'] as const;
export type RunTriggerKind = (typeof RUN_TRIGGER_KINDS)[number];

export const runListQuerySchema = z.object({
  status: z.enum(RUN_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

export const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

export const resumeRunSchema = z
  .object({ additionalBudgetUsd: z.number().positive().max(1_000_000).optional() })
  .strict();

/* ---------- responses (documented in OpenAPI) ---------- */

export const errorResponseSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

export const stepResponseSchema = z.object({
  id: z.uuid(),
  runnerId: z.uuid(),
  name: z.string(),
  kind: z.enum(STEP_KINDS),
  orderIndex: z.number().int(),
  agentId: z.uuid().nullable(),
  preambleOverride: z.string().nullable(),
  modelOverride: z.string().nullable(),
  outputSchema: jsonObject.nullable(),
  inputMapping: z.record(z.string(), z.string()).nullable(),
  webhookUrl: z.string().nullable(),
  webhookHeaders: z.record(z.string(), z.string()).nullable().describe('values are masked'),
  conditionExpr: z.string().nullable(),
  computer: computerConfigSchema.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const runnerResponseSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string().nullable(),
  inputSchema: jsonObject.nullable(),
  learnedInstructions: z.string().nullable(),
  defaultModel: z.string().nullable(),
  reflectOnFailure: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  steps: z.array(stepResponseSchema).optional(),
  triggers: z.array(triggerResponseSchema).optional(),
});

/** A run's or step's failure; `code` is from the closed set of src/shared/failure-codes.ts (docs/failure-codes.md). */
export const failureErrorSchema = z.object({
  code: z.enum(FAILURE_CODES),
  message: z.string(),
  step: z.string().optional().describe('the step the failure happened in'),
});

export const runStepResponseSchema = z.object({
  stepId: z.uuid(),
  name: z.string(),
  kind: z.enum(STEP_KINDS),
  status: z.enum(STEP_STATUSES),
  input: z.unknown(),
  output: z.unknown(),
  error: failureErrorSchema.nullable(),
  costUsd: z.number(),
  details: z
    .unknown()
    .describe(
      "agent steps: the step's record (model, provider, tools offered, notes, knowledge sources, plan, modelCalls, toolCalls, costUnknown); null for other steps",
    ),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
});

/** Something that happened to a run besides its steps (`RunEvent` in src/shared/budget.ts). */
export const runEventSchema = z.discriminatedUnion('type', [
  z.object({
    id: z.string(),
    type: z.literal('budget_warning'),
    at: z.string(),
    threshold: z.number(),
    spentUsd: z.number(),
    budgetUsd: z.number(),
    step: z.string(),
  }),
  z.object({
    id: z.string(),
    type: z.literal('budget_paused'),
    at: z.string(),
    step: z.string(),
    model: z.string(),
    callIndex: z.number().int(),
    worstCaseUsd: z.number(),
    remainingUsd: z.number(),
    overByUsd: z.number(),
    spentUsd: z.number(),
    budgetUsd: z.number(),
    message: z.string(),
  }),
  z.object({
    id: z.string(),
    type: z.literal('budget_resumed'),
    at: z.string(),
    additionalBudgetUsd: z.number(),
    budgetUsd: z.number(),
  }),
]);

export const runResponseSchema = z.object({
  id: z.uuid(),
  runnerId: z.uuid(),
  status: z.enum(RUN_STATUSES),
  input: z.unknown(),
  output: z.unknown(),
  context: z
    .object({
      input: z.unknown(),
      steps: z.record(z.string(), z.object({ output: z.unknown(), status: z.enum(STEP_STATUSES) })),
    })
    .describe('the run context JSONPath runs over: the input and each finished step by name'),
  currentStep: z.number().int().nullable().describe('index (0-based, in run order) of the step being run or last run'),
  error: failureErrorSchema.nullable(),
  costUsd: z.number(),
  budgetUsd: z.number().nullable(),
  budgetOnExceed: z.enum(['pause', 'fail']).nullable(),
  budgetPausedAt: z.string().nullable(),
  idempotencyKey: z.string().nullable(),
  triggerKind: z
    .enum(RUN_TRIGGER_KINDS)
    .describe(
      'what started the run: `api` (POST /runs, the MCP server), `bulk` (POST /runs/bulk), or the kind of the trigger that fired (`cron`, `webhook`, `poll`, `button`)',
    ),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  events: z.array(runEventSchema).describe('budget warnings, pauses and resumes, oldest first'),
  steps: z.array(runStepResponseSchema),
});

export function listResponseSchema<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() });
}
