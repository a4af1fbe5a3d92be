import type { PrismaClient } from '../src/db/client';
import { withSqlClient } from '../src/db/scoped';
import { Sql } from '../src/db/sql-batch';
import type { RunEvent } from '../src/shared/budget';
import type { PersistBatch, PersistOp } from '../src/shared/run-types';

/** One write of the workflow's batch. Every statement is idempotent, so a retried batch is harmless. */
function opSql(q: Sql, runId: string, op: PersistOp, onlyIfActive: boolean, startedAt?: string): string {
  const run = q.lit(runId);
  const started = startedAt === undefined ? 'now()' : `LEAST(${q.lit(startedAt)}::timestamptz, now())`;
  // Guards for writes made by activities: the run must still be active when they land.
  const activeRun = onlyIfActive ? `AND status IN ('pending', 'running')` : '';
  const activeStep = onlyIfActive
    ? `AND EXISTS (SELECT 1 FROM runner_runs r WHERE r.id = ${run} AND r.status IN ('pending', 'running'))`
    : '';
  switch (op.op) {
    case 'runStarted':
      return `UPDATE runner_runs SET status = 'running', started_at = COALESCE(started_at, ${started}),
                workflow_started_at = COALESCE(workflow_started_at, ${started})
              WHERE id = ${run} AND status = 'pending'`;
    case 'stepStarted':
      return `UPDATE runner_run_steps SET status = 'running', input = ${q.json(op.input)}, started_at = ${started},
                attempts = attempts + 1
              WHERE run_id = ${run} AND order_index = ${q.lit(op.index)} ${activeStep}`;
    case 'stepFinished':
      return `UPDATE runner_run_steps SET status = ${q.lit(op.status)}, input = ${q.json(op.input)},
                output = ${q.json(op.output)}, error = ${q.jsonOrNull(op.error)},
                started_at = COALESCE(started_at, now()), completed_at = now()
              WHERE run_id = ${run} AND order_index = ${q.lit(op.index)} ${activeStep}`;
    case 'stepsSkipped':
      return `UPDATE runner_run_steps SET status = 'skipped'
              WHERE run_id = ${run} AND order_index >= ${q.lit(op.fromIndex)} AND status IN ('pending', 'running')
                ${activeStep}`;
    case 'runPaused':
      return `UPDATE runner_runs SET status = 'paused_budget', budget_paused_at = now(), error = ${q.json(op.error)},
                budget_usd = ${q.lit(op.budgetUsd)}, ${appendEvent(q, op.event)}
              WHERE id = ${run} AND status IN ('pending', 'running', 'paused_budget')`;
    case 'runResumed':
      return `UPDATE runner_runs SET status = 'running', budget_paused_at = NULL, error = NULL,
                budget_usd = ${q.lit(op.budgetUsd)}, ${appendEvent(q, op.event)}
              WHERE id = ${run} AND status IN ('running', 'paused_budget')`;
    case 'runFinished':
      return `UPDATE runner_runs SET status = ${q.lit(op.status)}, output = ${q.jsonOrNull(op.output)},
                error = ${q.jsonOrNull(op.error)}, completed_at = now()
              WHERE id = ${run} ${activeRun}`;
  }
}

/** `events = events || [event]` unless an event with the same id is there already (a retried batch). */
export function appendEvent(q: Sql, event: RunEvent): string {
  const one = q.json([event]);
  const probe = q.json([{ id: event.id }]);
  return `events = CASE WHEN events @> ${probe} THEN events ELSE events || ${one} END`;
}

/**
 * The statements of a batch, without its transaction: the context first (a `runFinished` in the batch ends
 * the run, which would then fail the guard of a later context write), then each op. `guard`, an SQL
 * condition, is added to every statement's WHERE (every statement here ends with one).
 */
export function persistStatements(q: Sql, batch: PersistBatch, guard?: string): string[] {
  const active = batch.onlyIfActive === true;
  const extra = guard ? ` AND (${guard})` : '';
  return [
    `UPDATE runner_runs SET context = ${q.json(batch.context)}, current_step = ${q.lit(batch.currentStep)}
     WHERE id = ${q.lit(batch.runId)} ${active ? `AND status IN ('pending', 'running')` : ''}`,
    ...batch.ops.map((op) => opSql(q, batch.runId, op, active, batch.startedAt)),
  ].map((sql) => sql + extra);
}

export function createPersistenceActivities(deps: { db: PrismaClient }) {
  return {
    /**
     * Applies the workflow's batched writes in one org-scoped (RLS) transaction, sent as a single
     * round trip; safe to retry.
     */
    async persistRun(batch: PersistBatch): Promise<void> {
      await withSqlClient(deps.db, async (client) => {
        const q = new Sql(client);
        const statements = [q.beginOrg(batch.orgId), ...persistStatements(q, batch), 'COMMIT'];
        await client.query(statements.join(';\n'));
      });
    },
  };
}
