import { type SecretBox } from '../crypto/secret-box';
import { maskRecord } from '../shared/mask';
import { openWebhookHeaders } from '../crypto/webhook-headers';
import type { Runner, RunnerRun, RunnerRunStep, RunnerStep, RunnerTrigger } from '../generated/prisma/client';
import { serializeTrigger } from './triggers-serialize';

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
const num = (d: { toNumber(): number } | null | undefined): number | null => (d == null ? null : d.toNumber());

/** Header values are shown masked (`maskRecord`); `box` opens them (503 without one when there are any). */
export function serializeStep(s: RunnerStep, box?: SecretBox) {
  return {
    id: s.id,
    runnerId: s.runnerId,
    name: s.name,
    kind: s.kind,
    orderIndex: s.orderIndex,
    agentId: s.agentId,
    preambleOverride: s.preambleOverride,
    modelOverride: s.modelOverride,
    outputSchema: s.outputSchema as Record<string, unknown> | null,
    inputMapping: s.inputMapping as Record<string, string> | null,
    webhookUrl: s.webhookUrl,
    webhookHeaders: maskRecord(openWebhookHeaders(box, s.orgId, s.webhookHeaders)),
    conditionExpr: s.conditionExpr,
    computer: s.computer,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
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
  };
}

export function serializeRunStep(s: RunnerRunStep) {
  return {
    stepId: s.stepId,
    name: s.name,
    kind: s.kind,
    status: s.status,
    input: s.input ?? null,
    output: s.output ?? null,
    error: s.error ?? null,
    costUsd: num(s.costUsd) ?? 0,
    details: s.details ?? null,
    startedAt: iso(s.startedAt),
    completedAt: iso(s.completedAt),
  };
}

export function serializeRun(r: RunnerRun, steps: RunnerRunStep[] = []) {
  return {
    id: r.id,
    runnerId: r.runnerId,
    status: r.status,
    input: r.input ?? null,
    output: r.output ?? null,
    context: r.context ?? { input: r.input ?? null, steps: {} },
    currentStep: r.currentStep,
    error: r.error ?? null,
    costUsd: num(r.costUsd) ?? 0,
    budgetUsd: num(r.budgetUsd),
    budgetOnExceed: r.budgetOnExceed,
    budgetPausedAt: iso(r.budgetPausedAt),
    idempotencyKey: r.idempotencyKey,
    triggerKind: r.triggerKind,
    createdAt: r.createdAt.toISOString(),
    startedAt: iso(r.startedAt),
    completedAt: iso(r.completedAt),
    events: Array.isArray(r.events) ? r.events : [],
    steps: [...steps].sort((a, b) => a.orderIndex - b.orderIndex).map(serializeRunStep),
  };
}
