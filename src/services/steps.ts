import { withOrg, type Tx } from '../db/scoped';
import { AppError, type FieldIssue } from '../errors/app-error';
import { stepForeignFieldIssues, stepKindIssues, type StepCreate, type StepUpdate } from '../shared/schemas';
import type { ServiceDeps } from './deps';
import { checkJsonSchema } from '../validation/json-schema';
import { jsonOrNull, requireRunner } from './runners';
import type { SecretBox } from '../crypto/secret-box';
import { serializeStep } from './serialize';
import { sealWebhookHeaders } from '../crypto/webhook-headers';

async function checkStep(
  tx: Tx,
  runnerId: string,
  merged: StepCreate,
  stepId: string | null,
  body: StepUpdate,
): Promise<void> {
  const issues: FieldIssue[] = [...stepKindIssues(merged), ...stepForeignFieldIssues(merged.kind, body)];
  if (merged.outputSchema != null) {
    const problem = checkJsonSchema(merged.outputSchema);
    if (problem) issues.push({ path: 'outputSchema', message: problem });
  }
  if (merged.agentId) {
    const agent = await tx.agent.findFirst({ where: { id: merged.agentId }, select: { id: true } });
    if (!agent) issues.push({ path: 'agentId', message: 'no agent with this id exists in your org' });
  }
  if (issues.length) throw AppError.validation(issues);
  // A taken name is a conflict (409), as for every other unique name; a valid step is checked first.
  const clash = await tx.runnerStep.findFirst({
    where: { runnerId, name: merged.name, ...(stepId ? { id: { not: stepId } } : {}) },
    select: { id: true },
  });
  if (clash) throw AppError.conflict(`A step named "${merged.name}" already exists in this runner`);
}

function stepData(body: StepUpdate, box: SecretBox | undefined, orgId: string) {
  const data: Record<string, unknown> = {};
  const plain = [
    'name',
    'kind',
    'orderIndex',
    'agentId',
    'preambleOverride',
    'modelOverride',
    'webhookUrl',
    'conditionExpr',
  ] as const;
  for (const k of plain) if (body[k] !== undefined) data[k] = body[k];
  const json = ['outputSchema', 'inputMapping', 'computer'] as const;
  for (const k of json) if (body[k] !== undefined) data[k] = jsonOrNull(body[k]);
  if (body.webhookHeaders !== undefined)
    data.webhookHeaders = jsonOrNull(sealWebhookHeaders(box, orgId, body.webhookHeaders));
  return data;
}

export async function addStep(deps: ServiceDeps, orgId: string, runnerId: string, body: StepCreate) {
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    await checkStep(tx, runnerId, body, null, body);
    const s = await tx.runnerStep.create({
      data: {
        ...(stepData(body, deps.secrets, orgId) as object),
        runnerId,
        orgId,
        name: body.name,
        kind: body.kind,
        orderIndex: body.orderIndex,
      },
    });
    await tx.runner.update({ where: { id: runnerId }, data: { updatedAt: new Date() } });
    return serializeStep(s, deps.secrets);
  });
}

export async function listSteps(deps: ServiceDeps, orgId: string, runnerId: string) {
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const rows = await tx.runnerStep.findMany({
      where: { runnerId },
      orderBy: [{ orderIndex: 'asc' }, { createdAt: 'asc' }],
    });
    return { data: rows.map((r) => serializeStep(r, deps.secrets)), nextCursor: null };
  });
}

export async function updateStep(deps: ServiceDeps, orgId: string, runnerId: string, stepId: string, body: StepUpdate) {
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const existing = await tx.runnerStep.findFirst({ where: { id: stepId, runnerId } });
    if (!existing) throw AppError.notFound('Step');
    const merged = {
      name: body.name ?? existing.name,
      kind: body.kind ?? existing.kind,
      orderIndex: body.orderIndex ?? existing.orderIndex,
      agentId: body.agentId !== undefined ? body.agentId : existing.agentId,
      outputSchema: body.outputSchema !== undefined ? body.outputSchema : existing.outputSchema,
      webhookUrl: body.webhookUrl !== undefined ? body.webhookUrl : existing.webhookUrl,
      conditionExpr: body.conditionExpr !== undefined ? body.conditionExpr : existing.conditionExpr,
      computer: body.computer !== undefined ? body.computer : existing.computer,
    } as StepCreate;
    await checkStep(tx, runnerId, merged, stepId, body);
    const s = await tx.runnerStep.update({ where: { id: stepId }, data: stepData(body, deps.secrets, orgId) });
    await tx.runner.update({ where: { id: runnerId }, data: { updatedAt: new Date() } });
    return serializeStep(s, deps.secrets);
  });
}

export async function removeStep(deps: ServiceDeps, orgId: string, runnerId: string, stepId: string): Promise<void> {
  await withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const { count } = await tx.runnerStep.deleteMany({ where: { id: stepId, runnerId } });
    if (count === 0) throw AppError.notFound('Step');
  });
}
