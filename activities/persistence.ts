import { Prisma } from '../src/generated/prisma/client';
import type { PrismaClient } from '../src/db/client';
import { withOrg, type Tx } from '../src/db/scoped';
import type { PersistBatch, PersistOp } from '../src/shared/run-types';

const json = (v: unknown): Prisma.InputJsonValue | typeof Prisma.JsonNull =>
  v === undefined || v === null ? Prisma.JsonNull : (v as Prisma.InputJsonValue);

async function applyOp(tx: Tx, runId: string, op: PersistOp): Promise<void> {
  switch (op.op) {
    case 'runStarted':
      await tx.$executeRaw`UPDATE runner_runs SET status = 'running', started_at = COALESCE(started_at, now()),
        workflow_started_at = COALESCE(workflow_started_at, now()) WHERE id = ${runId}::uuid AND status = 'pending'`;
      return;
    case 'stepStarted':
      await tx.runnerRunStep.updateMany({
        where: { runId, orderIndex: op.index },
        data: { status: 'running', input: json(op.input), startedAt: new Date(), attempts: { increment: 1 } },
      });
      return;
    case 'stepFinished':
      await tx.$executeRaw`UPDATE runner_run_steps SET status = ${op.status}, input = ${JSON.stringify(op.input ?? null)}::jsonb,
        output = ${JSON.stringify(op.output ?? null)}::jsonb, error = ${op.error ? JSON.stringify(op.error) : null}::jsonb,
        started_at = COALESCE(started_at, now()), completed_at = now()
        WHERE run_id = ${runId}::uuid AND order_index = ${op.index}`;
      return;
    case 'stepsSkipped':
      await tx.runnerRunStep.updateMany({
        where: { runId, orderIndex: { gte: op.fromIndex }, status: { in: ['pending', 'running'] } },
        data: { status: 'skipped' },
      });
      return;
    case 'runFinished':
      await tx.runnerRun.updateMany({
        where: { id: runId },
        data: { status: op.status, output: json(op.output), error: json(op.error), completedAt: new Date() },
      });
      return;
  }
}

export function createPersistenceActivities(deps: { db: PrismaClient }) {
  return {
    /** Applies the workflow's batched writes in one org-scoped transaction (safe to retry). */
    async persistRun(batch: PersistBatch): Promise<void> {
      await withOrg(deps.db, batch.orgId, async (tx) => {
        for (const op of batch.ops) await applyOp(tx, batch.runId, op);
        await tx.$executeRaw`UPDATE runner_runs SET context = ${JSON.stringify(batch.context)}::jsonb,
          current_step = ${batch.currentStep} WHERE id = ${batch.runId}::uuid`;
      });
    },
  };
}
