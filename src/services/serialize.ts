import { type SecretBox } from '../crypto/secret-box';
import { maskRecord } from '../shared/mask';
import { openWebhookHeaders } from '../crypto/webhook-headers';
import type { Runner, RunnerRun, RunnerRunStep, RunnerStep, RunnerTrigger } from '../generated/prisma/client';
import type { z } from 'zod';
import type { RunEvent } from '../shared/budget';
import type { FailureError } from '../shared/failure-codes';
import type { RunContext } from '../shared/run-types';
import type {
  ComputerConfig,
  RunTriggerKind,
  runnerResponseSchema,
  runResponseSchema,
  runStepResponseSchema,
  stepResponseSchema,
} from '../shared/schemas';
import type { RunStatus, StepKind, StepStatus } from '../shared/status';
import { serializeTrigger } from './triggers-serialize';

/*
 * Each serializer's result `satisfies` the input type of its response schema (src/shared/schemas.ts), the
 * schema OpenAPI documents: a field returned but not documented, or documented but missing, does not compile.
 * The casts below name what a JSON or text column holds; only this code writes those columns.
 */

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
/** A numeric column: Prisma's Decimal, or a number (raw SQL reads cast to float8). */
type Numeric = { toNumber(): number } | number;
const num = (d: Numeric | null | undefined): number | null =>
  d == null ? null : typeof d === 'number' ? d : d.toNumber();

/** The columns of a run row `serializeRun` reads (a Prisma row, or the same columns read with raw SQL). */
export type RunRow = Pick<
  RunnerRun,
  | 'id'
  | 'runnerId'
  | 'status'
  | 'input'
  | 'output'
  | 'context'
  | 'currentStep'
  | 'error'
  | 'budgetOnExceed'
  | 'budgetPausedAt'
  | 'idempotencyKey'
  | 'triggerKind'
  | 'createdAt'
  | 'startedAt'
  | 'completedAt'
  | 'events'
> & { costUsd: Numeric; budgetUsd: Numeric | null };

/** The columns of a run's step row `serializeRunStep` reads. */
export type RunStepRow = Pick<
  RunnerRunStep,
  | 'stepId'
  | 'name'
  | 'kind'
  | 'orderIndex'
  | 'status'
  | 'input'
  | 'output'
  | 'error'
  | 'details'
  | 'startedAt'
  | 'completedAt'
> & { costUsd: Numeric };

/** Header values are shown masked (`maskRecord`); `box` opens them (503 without one when there are any). */
export function serializeStep(s: RunnerStep, box?: SecretBox) {
  return {
    id: s.id,
    runnerId: s.runnerId,
    name: s.name,
    kind: s.kind as StepKind,
    orderIndex: s.orderIndex,
    agentId: s.agentId,
    preambleOverride: s.preambleOverride,
    modelOverride: s.modelOverride,
    outputSchema: s.outputSchema as Record<string, unknown> | null,
    inputMapping: s.inputMapping as Record<string, string> | null,
    webhookUrl: s.webhookUrl,
    webhookHeaders: maskRecord(openWebhookHeaders(box, s.orgId, s.webhookHeaders)),
    conditionExpr: s.conditionExpr,
    computer: s.computer as ComputerConfig | null,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  } satisfies z.input<typeof stepResponseSchema>;
}

/** Triggers are serialized by their own module (kind-specific fields, masked secrets, next fire times). */
export { serializeTrigger } from './triggers-serialize';

export function serializeRunner(
  r: Runner,
  extra?: { steps?: RunnerStep[]; triggers?: RunnerTrigger[] },
  box?: SecretBox,
) {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    inputSchema: r.inputSchema as Record<string, unknown> | null,
    learnedInstructions: r.learnedInstructions,
    defaultModel: r.defaultModel,
    reflectOnFailure: r.reflectOnFailure,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    ...(extra?.steps ? { steps: extra.steps.map((st) => serializeStep(st, box)) } : {}),
    ...(extra?.triggers ? { triggers: extra.triggers.map((t) => serializeTrigger(t)) } : {}),
  } satisfies z.input<typeof runnerResponseSchema>;
}

export function serializeRunStep(s: RunStepRow) {
  return {
    stepId: s.stepId,
    name: s.name,
    kind: s.kind as StepKind,
    status: s.status as StepStatus,
    input: s.input ?? null,
    output: s.output ?? null,
    error: (s.error ?? null) as FailureError | null,
    costUsd: num(s.costUsd) ?? 0,
    details: s.details ?? null,
    startedAt: iso(s.startedAt),
    completedAt: iso(s.completedAt),
  } satisfies z.input<typeof runStepResponseSchema>;
}

export function serializeRun(r: RunRow, steps: RunStepRow[] = []) {
  return {
    id: r.id,
    runnerId: r.runnerId,
    status: r.status as RunStatus,
    input: r.input ?? null,
    output: r.output ?? null,
    context: (r.context ?? { input: r.input ?? null, steps: {} }) as RunContext,
    currentStep: r.currentStep,
    error: (r.error ?? null) as FailureError | null,
    costUsd: num(r.costUsd) ?? 0,
    budgetUsd: num(r.budgetUsd),
    budgetOnExceed: r.budgetOnExceed as 'pause' | 'fail' | null,
    budgetPausedAt: iso(r.budgetPausedAt),
    idempotencyKey: r.idempotencyKey,
    triggerKind: r.triggerKind as RunTriggerKind,
    createdAt: r.createdAt.toISOString(),
    startedAt: iso(r.startedAt),
    completedAt: iso(r.completedAt),
    events: (Array.isArray(r.events) ? r.events : []) as RunEvent[],
    steps: [...steps].sort((a, b) => a.orderIndex - b.orderIndex).map(serializeRunStep),
  } satisfies z.input<typeof runResponseSchema>;
}
