import type { PoolClient } from 'pg';
import type { PrismaClient } from '../src/db/client';
import { withOrgSql } from '../src/db/scoped';
import type { PersistBatch, PersistOp } from '../src/shared/run-types';

const j = (v: unknown): string => JSON.stringify(v ?? null);

/** One write of the workflow's batch. Every statement is idempotent, so a retried batch is harmless. */
async function applyOp(c: PoolClient, runId: string, op: PersistOp): Promise<void> {
  switch (op.op) {
    case 'runStarted':
      await c.query(
        `UPDATE runner_runs SET status = 'running', started_at = COALESCE(started_at, now()),
           workflow_started_at = COALESCE(workflow_started_at, now())
         WHERE id = $1 AND status = 'pending'`,
        [runId],
      );
      return;
    case 'stepStarted':
      await c.query(
        `UPDATE runner_run_steps SET status = 'running', input = $3::jsonb, started_at = now(), attempts = attempts + 1
         WHERE run_id = $1 AND order_index = $2`,
        [runId, op.index, j(op.input)],
      );
      return;
    case 'stepFinished':
      await c.query(
        `UPDATE runner_run_steps SET status = $3, input = $4::jsonb, output = $5::jsonb, error = $6::jsonb,
           started_at = COALESCE(started_at, now()), completed_at = now()
         WHERE run_id = $1 AND order_index = $2`,
        [runId, op.index, op.status, j(op.input), j(op.output), op.error ? j(op.error) : null],
      );
      return;
    case 'stepsSkipped':
      await c.query(
        `UPDATE runner_run_steps SET status = 'skipped'
         WHERE run_id = $1 AND order_index >= $2 AND status IN ('pending', 'running')`,
        [runId, op.fromIndex],
      );
      return;
    case 'runFinished':
      await c.query(
        `UPDATE runner_runs SET status = $2, output = $3::jsonb, error = $4::jsonb, completed_at = now() WHERE id = $1`,
        [runId, op.status, op.output === undefined || op.output === null ? null : j(op.output), op.error ? j(op.error) : null],
      );
      return;
  }
}

export function createPersistenceActivities(deps: { db: PrismaClient }) {
  return {
    /** Applies the workflow's batched writes in one org-scoped (RLS) transaction; safe to retry. */
    async persistRun(batch: PersistBatch): Promise<void> {
      await withOrgSql(deps.db, batch.orgId, async (c) => {
        for (const op of batch.ops) await applyOp(c, batch.runId, op);
        await c.query(`UPDATE runner_runs SET context = $2::jsonb, current_step = $3 WHERE id = $1`, [
          batch.runId,
          j(batch.context),
          batch.currentStep,
        ]);
      });
    },
  };
}
