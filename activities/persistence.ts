import type { PrismaClient } from '../src/db/client';
import { withSqlClient } from '../src/db/scoped';
import { ensurePrepared, preparedStatement, resultSets, Sql, type PreparedStatement } from '../src/db/sql-batch';
import type { RunEvent } from '../src/shared/budget';
import type { PersistBatch, PersistOp } from '../src/shared/run-types';
import type { RunWrites } from './run-writes';
import { forgetRunRecord, runRecordInFlight } from '../src/db/run-records';

/**
 * The frequent writes of a run, prepared once per connection (see `preparedStatement`): each in two forms,
 * the second (`_active`) for writes made by activities, which apply only while the run is still
 * pending/running. `$n::timestamptz` start times are the batch's `startedAt` (NULL: the transaction's).
 */
function guarded(name: string, types: string[], body: (activeRun: string, activeStep: string) => string) {
  const activeRun = `AND status IN ('pending', 'running')`;
  const activeStep = `AND EXISTS (SELECT 1 FROM runner_runs r WHERE r.id = $1 AND r.status IN ('pending', 'running'))`;
  return {
    plain: preparedStatement(name, types, body('', '')),
    active: preparedStatement(`${name}_active`, types, body(activeRun, activeStep)),
  };
}
const started = (param: string) => `LEAST(COALESCE(${param}::timestamptz, now()), now())`;
const WRITES = {
  context: guarded(
    'fj_run_context',
    ['uuid', 'jsonb', 'int'],
    (activeRun) => `UPDATE runner_runs SET context = $2, current_step = $3 WHERE id = $1 ${activeRun}`,
  ),
  runStarted: preparedStatement(
    'fj_run_started',
    ['uuid', 'timestamptz'],
    `UPDATE runner_runs SET status = 'running', started_at = COALESCE(started_at, ${started('$2')}),
       workflow_started_at = COALESCE(workflow_started_at, ${started('$2')})
     WHERE id = $1 AND status = 'pending'`,
  ),
  stepStarted: guarded(
    'fj_step_started',
    ['uuid', 'int', 'jsonb', 'timestamptz'],
    (_, activeStep) => `UPDATE runner_run_steps SET status = 'running', input = $3, started_at = ${started('$4')},
       attempts = attempts + 1
     WHERE run_id = $1 AND order_index = $2 ${activeStep}`,
  ),
  stepFinished: guarded(
    'fj_step_finished',
    ['uuid', 'int', 'text', 'jsonb', 'jsonb', 'jsonb'],
    (_, activeStep) => `UPDATE runner_run_steps SET status = $3, input = $4, output = $5, error = $6,
       started_at = COALESCE(started_at, now()), completed_at = now()
     WHERE run_id = $1 AND order_index = $2 ${activeStep}`,
  ),
  stepsSkipped: guarded(
    'fj_steps_skipped',
    ['uuid', 'int'],
    (_, activeStep) => `UPDATE runner_run_steps SET status = 'skipped'
     WHERE run_id = $1 AND order_index >= $2 AND status IN ('pending', 'running') ${activeStep}`,
  ),
  runFinished: guarded(
    'fj_run_finished',
    ['uuid', 'text', 'jsonb', 'jsonb'],
    (activeRun) => `UPDATE runner_runs SET status = $2, output = $3, error = $4, completed_at = now()
     WHERE id = $1 ${activeRun}`,
  ),
};
const WRITE_STATEMENTS = Object.values(WRITES).flatMap((w) => ('plain' in w ? [w.plain, w.active] : [w]));

/** One write of the workflow's batch. Every statement is idempotent, so a retried batch is harmless. */
/** How a prepared write is sent: `EXECUTE` (`Sql.exec`), or in full (`Sql.inline`, when a condition is added). */
type Render = (stmt: PreparedStatement, ...args: string[]) => string;

function opSql(
  q: Sql,
  runId: string,
  op: PersistOp,
  onlyIfActive: boolean,
  startedAt: string | undefined,
  call: Render,
): string {
  const run = q.lit(runId);
  const pick = (w: { plain: PreparedStatement; active: PreparedStatement }) => (onlyIfActive ? w.active : w.plain);
  const at = q.lit(startedAt ?? null);
  switch (op.op) {
    case 'runStarted':
      return call(WRITES.runStarted, run, at);
    case 'stepStarted':
      return call(pick(WRITES.stepStarted), run, q.lit(op.index), q.json(op.input), at);
    case 'stepFinished':
      return call(
        pick(WRITES.stepFinished),
        run,
        q.lit(op.index),
        q.lit(op.status),
        q.json(op.input),
        q.json(op.output),
        q.jsonOrNull(op.error),
      );
    case 'stepsSkipped':
      return call(pick(WRITES.stepsSkipped), run, q.lit(op.fromIndex));
    // Budget pauses and resumes are rare: plain statements.
    case 'runPaused':
      return `UPDATE runner_runs SET status = 'paused_budget', budget_paused_at = now(), error = ${q.json(op.error)},
                budget_usd = ${q.lit(op.budgetUsd)}, ${appendEvent(q, op.event)}
              WHERE id = ${run} AND status IN ('pending', 'running', 'paused_budget')`;
    case 'runResumed':
      return `UPDATE runner_runs SET status = 'running', budget_paused_at = NULL, error = NULL,
                budget_usd = ${q.lit(op.budgetUsd)}, ${appendEvent(q, op.event)}
              WHERE id = ${run} AND status IN ('running', 'paused_budget')`;
    case 'runFinished':
      return call(pick(WRITES.runFinished), run, q.lit(op.status), q.jsonOrNull(op.output), q.jsonOrNull(op.error));
  }
}

/**
 * Adds `event` to the run's events unless an event with the same id is there already (a retried batch),
 * keeping them in order of `at` (workflow time); budget warnings of one instant by threshold (spending only
 * grows); else as appended. Writers can run concurrently: the two warning activities of one workflow task
 * were seen appending in either order (`test/budget.test.ts` under load).
 */
export function appendEvent(q: Sql, event: RunEvent): string {
  const one = q.json([event]);
  const probe = q.json([{ id: event.id }]);
  return `events = CASE WHEN events @> ${probe} THEN events ELSE (
    SELECT jsonb_agg(e ORDER BY e->>'at', (e->>'threshold')::numeric NULLS FIRST, n)
      FROM jsonb_array_elements(events || ${one}) WITH ORDINALITY AS t(e, n)) END`;
}

/**
 * The statements of a batch, without its transaction: the context first (a `runFinished` in the batch ends
 * the run, which would then fail the guard of a later context write), then each op. `guard`, an SQL
 * condition, is added to every statement's WHERE (every statement here ends with one).
 */
export function persistStatements(q: Sql, batch: PersistBatch, guard?: string): string[] {
  const active = batch.onlyIfActive === true;
  const extra = guard ? ` AND (${guard})` : '';
  // Prepared (`persistRun` prepares WRITE_STATEMENTS first); in full with a guard: an EXECUTE takes no condition.
  const call: Render = guard ? (stmt, ...args) => q.inline(stmt, ...args) : (stmt, ...args) => q.exec(stmt, ...args);
  return [
    call(
      active ? WRITES.context.active : WRITES.context.plain,
      q.lit(batch.runId),
      q.json(batch.context),
      q.lit(batch.currentStep),
    ),
    ...batch.ops.map((op) => opSql(q, batch.runId, op, active, batch.startedAt, call)),
  ].map((sql) => sql + extra);
}

/**
 * The run of a batch that carries the run's first write for a run recorded while its workflow started
 * (`runStarted` with `recordedAfterStart`, see src/db/run-records.ts), else null.
 */
function recordAwaited(batch: PersistBatch | undefined): string | null {
  return batch?.ops.some((op) => op.op === 'runStarted' && op.recordedAfterStart === true) ? batch.runId : null;
}

/**
 * For the first write of a run recorded while its workflow started (`recordAwaited`): waits for the record
 * when this process is writing it (throwing `RunNotRecordedError` if that failed), and answers true when
 * another process wrote it, so it is not known to exist yet: the step's writes must then land, finding the
 * record, before the step does anything (one round trip more, only then). False for every other batch.
 */
export async function mustWriteFirst(batch: PersistBatch | undefined): Promise<boolean> {
  const runId = recordAwaited(batch);
  return runId !== null && !(await ownRecordWritten(runId));
}

/**
 * Waits for the record of `runId` when this process is writing it (true once committed; throws
 * `RunNotRecordedError` if it failed); false when this process is not writing it.
 */
async function ownRecordWritten(runId: string): Promise<boolean> {
  const inFlight = runRecordInFlight(runId);
  if (inFlight === undefined) return false;
  if (!(await inFlight)) throw new RunNotRecordedError(runId, 'could not be recorded');
  return true;
}

/** The run's record is not there (yet): the batch wrote nothing; retried, it finds the record once committed. */
export class RunNotRecordedError extends Error {
  constructor(runId: string, why: string) {
    super(`Run ${runId} ${why}`);
    this.name = 'RunNotRecordedError';
  }
}

export function createPersistenceActivities(deps: { db: PrismaClient; runWrites?: RunWrites }) {
  return {
    /**
     * Applies the workflow's batched writes in one org-scoped (RLS) transaction, sent as a single
     * round trip; safe to retry.
     */
    async persistRun(batch: PersistBatch): Promise<void> {
      // A model call's ledger row still being written (activities/run-writes.ts) goes first: a run's end,
      // pause or cancel is recorded after every call it made.
      await deps.runWrites?.settle(batch.runId);
      const ends = batch.ops.some((op) => op.op === 'runFinished');
      // The run's first write, for a run recorded while its workflow started: the record this process is
      // writing is awaited; in any case the batch checks that the record is there (every write of a batch
      // updates rows of the run, so without it they all match nothing and the batch changes nothing).
      const awaited = recordAwaited(batch);
      if (awaited) await ownRecordWritten(awaited);
      await withSqlClient(deps.db, async (client) => {
        const q = new Sql(client);
        await ensurePrepared(client, WRITE_STATEMENTS);
        const check = awaited
          ? [`SELECT EXISTS (SELECT 1 FROM runner_runs WHERE id = ${q.lit(batch.runId)}) AS fj_recorded`]
          : [];
        const statements = [q.beginOrg(batch.orgId), ...check, ...persistStatements(q, batch), 'COMMIT'];
        const sets = resultSets<{ fj_recorded?: boolean }>(await client.query(statements.join(';\n')));
        if (awaited && !sets.some((r) => r.rows[0]?.fj_recorded === true)) {
          throw new RunNotRecordedError(batch.runId, 'is not recorded yet');
        }
      });
      if (awaited) forgetRunRecord(awaited);
      // The run has ended: nothing will ask for its ledger rows' outcomes again.
      if (ends) deps.runWrites?.forget(batch.runId);
    },
  };
}
