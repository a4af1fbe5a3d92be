import { Prisma } from '../generated/prisma/client';
import { withOrg, type Tx } from '../db/scoped';
import { AppError, type FieldIssue } from '../errors/app-error';
import type { RunnerCreate, RunnerUpdate } from '../shared/schemas';
import type { ServiceDeps } from './deps';
import { checkJsonSchema } from '../validation/json-schema';
import { afterCursor, decodeCursor, newestFirst, page } from '../db/pagination';
import { serializeRunner } from './serialize';

export const jsonOrNull = (v: unknown): Prisma.InputJsonValue | typeof Prisma.DbNull =>
  v === undefined || v === null ? Prisma.DbNull : (v as Prisma.InputJsonValue);

function checkRunnerFields(body: RunnerUpdate): void {
  const issues: FieldIssue[] = [];
  if (body.inputSchema != null) {
    const problem = checkJsonSchema(body.inputSchema);
    if (problem) issues.push({ path: 'inputSchema', message: problem });
  }
  if (issues.length) throw AppError.validation(issues);
}

/** Loads a live runner of the org inside `tx`, or throws 404. */
export async function requireRunner(tx: Tx, runnerId: string) {
  const runner = await tx.runner.findFirst({ where: { id: runnerId, deletedAt: null } });
  if (!runner) throw AppError.notFound('Runner');
  return runner;
}

export async function createRunner(deps: ServiceDeps, orgId: string, body: RunnerCreate) {
  checkRunnerFields(body);
  return withOrg(deps.db, orgId, async (tx) => {
    const r = await tx.runner.create({
      data: {
        orgId,
        name: body.name,
        description: body.description ?? null,
        inputSchema: jsonOrNull(body.inputSchema),
        learnedInstructions: body.learnedInstructions ?? null,
        defaultModel: body.defaultModel ?? null,
        reflectOnFailure: body.reflectOnFailure ?? false,
      },
    });
    return serializeRunner(r, { steps: [], triggers: [] });
  });
}

export async function listRunners(deps: ServiceDeps, orgId: string, q: { limit: number; cursor?: string }) {
  const cursor = decodeCursor(q.cursor);
  return withOrg(deps.db, orgId, async (tx) => {
    const rows = await tx.runner.findMany({
      where: { deletedAt: null, ...afterCursor(cursor) },
      orderBy: newestFirst,
      take: q.limit + 1,
    });
    return page(rows, q.limit, (r) => serializeRunner(r));
  });
}

/** The runner as `GET /api/runners/:id` shows it: with its ordered steps and its triggers. */
async function runnerDetail(tx: Tx, r: Awaited<ReturnType<typeof requireRunner>>, secrets: ServiceDeps['secrets']) {
  const steps = await tx.runnerStep.findMany({
    where: { runnerId: r.id },
    orderBy: [{ orderIndex: 'asc' }, { createdAt: 'asc' }],
  });
  const triggers = await tx.runnerTrigger.findMany({ where: { runnerId: r.id }, orderBy: { createdAt: 'asc' } });
  return serializeRunner(r, { steps, triggers }, secrets);
}

export async function getRunner(deps: ServiceDeps, orgId: string, runnerId: string) {
  return withOrg(deps.db, orgId, async (tx) => runnerDetail(tx, await requireRunner(tx, runnerId), deps.secrets));
}

export async function updateRunner(deps: ServiceDeps, orgId: string, runnerId: string, body: RunnerUpdate) {
  checkRunnerFields(body);
  return withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const r = await tx.runner.update({
      where: { id: runnerId },
      data: {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.inputSchema !== undefined ? { inputSchema: jsonOrNull(body.inputSchema) } : {}),
        ...(body.learnedInstructions !== undefined ? { learnedInstructions: body.learnedInstructions } : {}),
        ...(body.defaultModel !== undefined ? { defaultModel: body.defaultModel } : {}),
        ...(body.reflectOnFailure !== undefined ? { reflectOnFailure: body.reflectOnFailure } : {}),
      },
    });
    return runnerDetail(tx, r, deps.secrets);
  });
}

/**
 * Soft-deletes the runner (runs in flight keep their rows and finish), and removes the Temporal
 * schedules of its triggers.
 */
export async function deleteRunner(deps: ServiceDeps, orgId: string, runnerId: string): Promise<void> {
  const scheduleIds = await withOrg(deps.db, orgId, async (tx) => {
    await requireRunner(tx, runnerId);
    const triggers = await tx.runnerTrigger.findMany({ where: { runnerId, scheduleId: { not: null } } });
    await tx.runner.update({ where: { id: runnerId }, data: { deletedAt: new Date() } });
    await tx.runnerTrigger.updateMany({ where: { runnerId }, data: { enabled: false } });
    return triggers.map((t) => t.scheduleId as string);
  });
  for (const id of scheduleIds) {
    await deps.temporal.client.schedule
      .getHandle(id)
      .delete()
      .catch((e: unknown) => deps.log.warn({ err: e, scheduleId: id }, 'could not delete schedule'));
  }
}
