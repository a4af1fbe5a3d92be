import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { systemBatch, withOrg, withSqlClient, withSystem, type Tx } from '../db/scoped';
import { announceRunCancel } from '../db/run-cancel';
import { trackRunRecord } from '../db/run-records';
import { ensurePrepared, preparedStatement, resultSets, Sql } from '../db/sql-batch';
import { AppError } from '../errors/app-error';
import { RUN_SHAPE, type RunnerSnapshot, type RunWorkflowInput, type StepSnapshot } from '../shared/run-types';
import type { FailureError } from '../shared/failure-codes';
import type { RunCreate, RunTriggerKind } from '../shared/schemas';
import { isTerminalRunStatus, type RunStatus, type StepKind } from '../shared/status';
import {
  OrgIdKey,
  RUN_WORKFLOW_TYPE,
  RunnerIdKey,
  RunStatusKey,
  TriggerKindKey,
  type RunWorkflow,
} from '../shared/workflow-defs';
import type { ServiceDeps } from './deps';
import { validateAgainst } from '../validation/json-schema';
import { afterCursor, decodeCursor, newestFirst, page } from '../db/pagination';
import { connectionQueries, withConnectionDefinitions } from './run-snapshot';
import { serializeRun, type RunRow, type RunStepRow } from './serialize';

export interface TriggerSource {
  kind: RunTriggerKind;
  triggerId?: string | null;
  /** The API key that asked for the run (the principal the cost ledger attributes calls to). */
  apiKeyId?: string | null;
}

/** Stored steps keep webhook headers as stored (ciphertext, or a plain object from before encryption). */
type StoredStep = Omit<StepSnapshot, 'webhookHeaders'> & { webhookHeaders?: unknown };

interface RunnerRow {
  id: string;
  name: string;
  input_schema: unknown;
  learned_instructions: string | null;
  default_model: string | null;
  reflect_on_failure: boolean | null;
  web_enabled: boolean | null;
  web_search: boolean | null;
  web_research: boolean | null;
  plan_enabled: boolean | null;
  budget_enabled: boolean | null;
  budget_usd: string | null;
  on_exceed: string | null;
  warning_threshold1: string | null;
  warning_threshold2: string | null;
  warning_webhook_url: string | null;
}

interface StepRow {
  id: string;
  name: string;
  kind: StepKind;
  order_index: number;
  agent_id: string | null;
  preamble_override: string | null;
  model_override: string | null;
  output_schema: Record<string, unknown> | null;
  input_mapping: Record<string, string> | null;
  webhook_url: string | null;
  /** Ciphertext (see webhook-headers.ts); copied into the snapshot as is. */
  webhook_headers: unknown;
  condition_expr: string | null;
  computer: StepSnapshot['computer'];
}

/** The three reads a run's snapshot needs (runner with its 1:1 configs, steps, attachments), prepared. */
const SNAPSHOT_RUNNER = preparedStatement(
  'fj_snapshot_runner',
  ['uuid'],
  `SELECT r.id, r.name, r.input_schema, r.learned_instructions, r.default_model, r.reflect_on_failure,
          w.enabled AS web_enabled, w.search_enabled AS web_search, w.research_enabled AS web_research,
          p.enabled AS plan_enabled, b.enabled AS budget_enabled, b.budget_usd::text AS budget_usd, b.on_exceed,
          b.warning_threshold1::text AS warning_threshold1, b.warning_threshold2::text AS warning_threshold2,
          b.warning_webhook_url
     FROM runners r
     LEFT JOIN runner_web_config w ON w.runner_id = r.id
     LEFT JOIN runner_plan_config p ON p.runner_id = r.id
     LEFT JOIN runner_budget_config b ON b.runner_id = r.id
    WHERE r.id = $1 AND r.deleted_at IS NULL`,
);
const SNAPSHOT_STEPS = preparedStatement(
  'fj_snapshot_steps',
  ['uuid'],
  `SELECT id, name, kind, order_index, agent_id, preamble_override, model_override, output_schema, input_mapping,
          webhook_url, webhook_headers, condition_expr, computer
     FROM runner_steps WHERE runner_id = $1 ORDER BY order_index, created_at`,
);
const SNAPSHOT_LINKS = preparedStatement(
  'fj_snapshot_links',
  ['uuid'],
  `SELECT 'mcp' AS k, mcp_server_id AS id FROM runner_mcps WHERE runner_id = $1
   UNION ALL SELECT 'integration', integration_id FROM runner_integrations WHERE runner_id = $1
   UNION ALL SELECT 'tool', tool_id FROM runner_tools WHERE runner_id = $1
   UNION ALL SELECT 'skill', skill_id FROM runner_skills WHERE runner_id = $1`,
);
const SNAPSHOT_STATEMENTS = [SNAPSHOT_RUNNER, SNAPSHOT_STEPS, SNAPSHOT_LINKS];

function snapshotQueries(q: Sql, runnerId: string): string[] {
  const id = q.lit(runnerId);
  return SNAPSHOT_STATEMENTS.map((stmt) => q.exec(stmt, id));
}

/** Builds the frozen snapshot from the rows of `snapshotQueries`; 404 when the runner is gone. */
function snapshotFromRows(
  runners: RunnerRow[],
  steps: StepRow[],
  links: { k: string; id: string }[],
): { stored: RunnerSnapshot; inputSchema: unknown } {
  const runner = runners[0];
  if (!runner) throw AppError.notFound('Runner');
  const ids = (k: string) => links.filter((l) => l.k === k).map((l) => l.id);
  const stepSnaps: StoredStep[] = steps.map((s) => ({
    id: s.id,
    name: s.name,
    kind: s.kind,
    orderIndex: s.order_index,
    agentId: s.agent_id,
    preambleOverride: s.preamble_override,
    modelOverride: s.model_override,
    outputSchema: s.output_schema ?? null,
    inputMapping: s.input_mapping ?? null,
    webhookUrl: s.webhook_url,
    hasWebhookHeaders: s.webhook_headers !== null && s.webhook_headers !== undefined,
    webhookHeaders: s.webhook_headers ?? null,
    conditionExpr: s.condition_expr,
    computer: s.computer ?? null,
  }));
  const stored: RunnerSnapshot = {
    runner: {
      id: runner.id,
      name: runner.name,
      learnedInstructions: runner.learned_instructions,
      defaultModel: runner.default_model,
      reflectOnFailure: runner.reflect_on_failure === true,
    },
    // A step row from before header encryption may still hold a plain object; workflowSnapshot drops it.
    steps: stepSnaps as StepSnapshot[],
    connections: {
      mcpServerIds: ids('mcp'),
      integrationIds: ids('integration'),
      toolIds: ids('tool'),
      skillIds: ids('skill'),
      webConfig:
        runner.web_enabled === null
          ? null
          : { enabled: runner.web_enabled, searchEnabled: !!runner.web_search, researchEnabled: !!runner.web_research },
      planConfig: runner.plan_enabled === null ? null : { enabled: runner.plan_enabled },
    },
    budget: runner.budget_enabled
      ? {
          budgetUsd: runner.budget_usd === null ? null : Number(runner.budget_usd),
          onExceed: runner.on_exceed === 'fail' ? 'fail' : 'pause',
          warningThreshold1: Number(runner.warning_threshold1 ?? 0.8),
          warningThreshold2: Number(runner.warning_threshold2 ?? 0.95),
          warningWebhookUrl: runner.warning_webhook_url,
        }
      : null,
  };
  return { stored, inputSchema: runner.input_schema };
}

/**
 * The workflow's copy of the snapshot: header ciphertext travels to the activity (which alone opens
 * it); headers stored in plain form before encryption never enter Temporal history (the activity
 * reads those from the stored snapshot).
 */
export function workflowSnapshot(stored: RunnerSnapshot): RunnerSnapshot {
  const budget = stored.budget ? { ...stored.budget } : null;
  if (budget) delete budget.warningWebhookUrl;
  return {
    ...stored,
    budget,
    steps: stored.steps.map((s) => {
      const { webhookHeaders, ...rest } = s as StoredStep;
      return typeof webhookHeaders === 'string' ? { ...rest, webhookHeaders } : rest;
    }),
  };
}

/** What starting a run's workflow needs (a stored row, or a run just created). */
export interface RunRecord {
  id: string;
  orgId: string;
  runnerId: string;
  input: unknown;
  snapshot: unknown;
  triggerKind: string;
}

/** A stored snapshot column, checked for the shape every snapshot this code wrote has. */
function storedSnapshot(runId: string, value: unknown): RunnerSnapshot {
  const v = value as Partial<RunnerSnapshot> | null;
  if (!v || typeof v !== 'object' || !v.runner || typeof v.runner !== 'object' || !Array.isArray(v.steps)) {
    throw new Error(`run ${runId} has no valid runner snapshot`);
  }
  return v as RunnerSnapshot;
}

export function workflowInput(run: RunRecord, recordedAfterStart = false): RunWorkflowInput {
  return {
    runId: run.id,
    orgId: run.orgId,
    runnerId: run.runnerId,
    input: run.input,
    snapshot: workflowSnapshot(storedSnapshot(run.id, run.snapshot)),
    shape: RUN_SHAPE,
    ...(recordedAfterStart ? { recordedAfterStart: true } : {}),
  };
}

/**
 * Starts the run's workflow (id = run id). "Already started" counts as success. `eagerlyStarted`: the
 * server handed the first workflow task straight to this process's worker (eager start).
 */
export async function startRunWorkflow(
  deps: ServiceDeps,
  run: RunRecord,
  timeoutMs = 5_000,
  /** The run's record is being written meanwhile (`createRun`, see `RunWorkflowInput.recordedAfterStart`). */
  recordedAfterStart = false,
): Promise<{ eagerlyStarted: boolean }> {
  const args = workflowInput(run, recordedAfterStart);
  const client = deps.temporal.client;
  try {
    const handle = await client.connection.withDeadline(Date.now() + timeoutMs, () =>
      client.workflow.start<RunWorkflow>(RUN_WORKFLOW_TYPE, {
        workflowId: run.id,
        taskQueue: deps.temporal.taskQueue,
        args: [args],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: RunnerIdKey, value: run.runnerId },
          { key: OrgIdKey, value: run.orgId },
          { key: RunStatusKey, value: 'running' },
          { key: TriggerKindKey, value: run.triggerKind },
        ],
        memo: { runnerName: args.snapshot.runner.name, runnerId: run.runnerId },
        staticSummary: `Run of runner "${args.snapshot.runner.name}"`,
        // The first workflow task comes back with the start response, to this process's worker.
        requestEagerStart: deps.temporal.eagerStart === true,
      }),
    );
    return { eagerlyStarted: handle.eagerlyStarted };
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) return { eagerlyStarted: false };
    throw e;
  }
}

async function loadRun(tx: Tx, runnerId: string, runId: string) {
  // The runs of a deleted runner are gone from the API like the runner itself (their rows stay).
  const run = await tx.runnerRun.findFirst({
    where: { id: runId, runnerId, runner: { deletedAt: null } },
    include: { steps: true },
  });
  if (!run) throw AppError.notFound('Run');
  return run;
}

/** The runner's frozen snapshot and its input schema, as read inside an open org transaction. */
export interface RunnerSnapshotRead {
  stored: RunnerSnapshot;
  inputSchema: unknown;
}

/**
 * Round trip 1 of recording runs: opens the org-scoped transaction (left open for `recordRunsSql`)
 * and reads the runner's snapshot; 404 when the runner is gone. The connection definitions (the runner's
 * MCP servers, integrations, tools, skills and its agents' own) are read in a second round trip, and only
 * when the runner links any or has a step that names an agent: that read is the most expensive of the
 * snapshot (about 1.4 ms of PostgreSQL CPU, mostly planning its 7-way union, measured with
 * `bench/pg-cpu.ts`), and for every other runner it returns nothing.
 */
export async function beginAndReadSnapshot(
  c: PoolClient,
  q: Sql,
  orgId: string,
  runnerId: string,
): Promise<RunnerSnapshotRead> {
  // The statements of the record round trip too: it runs inside the transaction this opens.
  await ensurePrepared(c, [...SNAPSHOT_STATEMENTS, RECORD_RUNS, RUN_ROW, RUN_STEP_ROWS]);
  const reads = resultSets<never>(await c.query([q.beginOrg(orgId), ...snapshotQueries(q, runnerId)].join(';\n')));
  const steps = (reads[3]?.rows ?? []) as StepRow[];
  const links = (reads[4]?.rows ?? []) as { k: string; id: string }[];
  const base = snapshotFromRows((reads[2]?.rows ?? []) as RunnerRow[], steps, links);
  const hasDefinitions = links.length > 0 || steps.some((s) => s.agent_id !== null);
  const defs = hasDefinitions ? resultSets<never>(await c.query(connectionQueries(q, runnerId).join(';\n'))) : [];
  return {
    inputSchema: base.inputSchema,
    stored: withConnectionDefinitions(base.stored, (defs[0]?.rows ?? []) as never[], (defs[1]?.rows ?? []) as never[]),
  };
}

/** One run to record: its new id, its input and its idempotency key (null: none). */
export interface RunToRecord {
  id: string;
  input: unknown;
  key: string | null;
}

/**
 * Records runs with their pending step rows (the same snapshot, budget and trigger for all): a multi-row
 * insert that skips any run whose idempotency key this runner already used (`ON CONFLICT DO NOTHING` on
 * the unique index, which also waits for a concurrent writer of the same key). Returns `(id, created_at)`
 * of the runs actually inserted. Used for one run and for bulk batches; prepared (`beginAndReadSnapshot`
 * prepares it with the snapshot's reads).
 * $1 ids, $2 inputs, $3 idempotency keys (arrays, one entry per run), $4 org, $5 runner, $6 snapshot,
 * $7 trigger kind, $8 trigger id, $9 API key id, $10 budget, $11 on exceed, $12 the step rows
 * (`[{step_id, name, kind, ord}]`).
 */
const RECORD_RUNS = preparedStatement(
  'fj_record_runs',
  ['uuid[]', 'jsonb[]', 'text[]', 'uuid', 'uuid', 'jsonb', 'text', 'uuid', 'uuid', 'numeric', 'text', 'jsonb'],
  `WITH items AS (
     SELECT * FROM unnest($1, $2, $3) WITH ORDINALITY AS t(id, input, idempotency_key, ord)
   ), ins AS (
     INSERT INTO runner_runs (id, org_id, runner_id, status, input, idempotency_key, snapshot, trigger_kind, trigger_id,
                              api_key_id, budget_usd, budget_on_exceed, context)
     SELECT id, $4, $5, 'pending', input, idempotency_key, $6, $7, $8, $9, $10, $11,
            jsonb_build_object('input', input, 'steps', '{}'::jsonb)
       FROM items ORDER BY ord
     ON CONFLICT (runner_id, idempotency_key) DO NOTHING
     RETURNING id, created_at
   ), st AS (
     INSERT INTO runner_run_steps (id, run_id, org_id, step_id, name, kind, order_index, status)
     SELECT gen_random_uuid(), ins.id, $4, s.step_id, s.name, s.kind, s.ord, 'pending'
       FROM ins CROSS JOIN jsonb_to_recordset($12) AS s(step_id uuid, name text, kind text, ord int)
   )
   SELECT id, created_at FROM ins`,
);

/** See `RECORD_RUNS`. */
export function recordRunsSql(
  q: Sql,
  orgId: string,
  runnerId: string,
  stored: RunnerSnapshot,
  source: TriggerSource,
  runs: RunToRecord[],
): string {
  const arr = (vals: string[], type: string) => `ARRAY[${vals.join(', ')}]::${type}[]`;
  const budgetUsd = stored.budget?.budgetUsd ?? null;
  const onExceed = stored.budget ? stored.budget.onExceed : null;
  return q.exec(
    RECORD_RUNS,
    arr(
      runs.map((r) => q.lit(r.id)),
      'uuid',
    ),
    arr(
      runs.map((r) => q.lit(JSON.stringify(r.input))),
      'jsonb',
    ),
    arr(
      runs.map((r) => q.lit(r.key)),
      'text',
    ),
    q.lit(orgId),
    q.lit(runnerId),
    q.json(stored),
    q.lit(source.kind),
    q.lit(source.triggerId ?? null),
    q.lit(source.apiKeyId ?? null),
    q.lit(budgetUsd),
    q.lit(onExceed),
    q.json(stored.steps.map((st, i) => ({ step_id: st.id, name: st.name, kind: st.kind, ord: i }))),
  );
}

/** Reads back a run just recorded (and its step rows), with the columns `serializeRun` reads, as Prisma names them. */
const RUN_ROW = preparedStatement(
  'fj_run_row',
  ['uuid'],
  `SELECT id, runner_id AS "runnerId", status, input, output, context, current_step AS "currentStep", error,
          cost_usd::float8 AS "costUsd", budget_usd::float8 AS "budgetUsd", budget_on_exceed AS "budgetOnExceed",
          budget_paused_at AS "budgetPausedAt", idempotency_key AS "idempotencyKey", trigger_kind AS "triggerKind",
          created_at AS "createdAt", started_at AS "startedAt", completed_at AS "completedAt", events
     FROM runner_runs WHERE id = $1`,
);
const RUN_STEP_ROWS = preparedStatement(
  'fj_run_step_rows',
  ['uuid'],
  `SELECT step_id AS "stepId", name, kind, order_index AS "orderIndex", status, input, output, error,
          cost_usd::float8 AS "costUsd", details, started_at AS "startedAt", completed_at AS "completedAt"
     FROM runner_run_steps WHERE run_id = $1`,
);

function runRowSql(q: Sql, runId: string): string[] {
  const id = q.lit(runId);
  return [q.exec(RUN_ROW, id), q.exec(RUN_STEP_ROWS, id)];
}

/** The issues of an input that does not match the runner's `inputSchema` (none without a schema). */
export function inputIssues(inputSchema: unknown, input: unknown, pathPrefix: string) {
  return inputSchema && typeof inputSchema === 'object' ? validateAgainst(inputSchema, input, pathPrefix) : [];
}

/**
 * Records a run and starts its workflow. With an idempotency key already used for this runner, the
 * existing run is returned (`created: false`). If Temporal cannot be reached, the run is removed
 * again and the caller gets 503: nothing is left half-created. If this process dies between the
 * insert and the start, the reconciler starts the workflow later.
 */
export async function createRun(
  deps: ServiceDeps,
  orgId: string,
  runnerId: string,
  body: RunCreate,
  source: TriggerSource = { kind: 'api' },
  /**
   * `lookupFirst: false` skips the read of an earlier run with the same key before inserting: for keys
   * that are almost always new (a cron fire's), it saves a transaction on the critical path; a key
   * already used still answers the existing run, found after the insert skipped it.
   */
  opts: { startWorkflow?: boolean; lookupFirst?: boolean } = {},
): Promise<{ created: boolean; run: ReturnType<typeof serializeRun>; eagerlyStarted?: boolean; record?: RunRecord }> {
  const input = body.input === undefined ? {} : body.input;
  const key = body.idempotencyKey ?? null;
  const findExisting = async () =>
    key
      ? withOrg(deps.db, orgId, async (tx) => {
          const r = await tx.runnerRun.findFirst({
            where: { runnerId, idempotencyKey: key, runner: { deletedAt: null } },
            include: { steps: true },
          });
          return r ? serializeRun(r, r.steps) : null;
        })
      : null;

  const existing = opts.lookupFirst === false ? null : await findExisting();
  if (existing) return { created: false, run: existing };

  const runId = randomUUID();
  // With API and worker in one process (eager start) and no idempotency key, the run's record is written
  // while its workflow starts, not before: the start's round trip hides the insert's. The run's first
  // write waits for the record (src/db/run-records.ts); if the record fails, the workflow is terminated
  // before its first step does anything. With a key, the insert may find the key taken and record
  // nothing, so the workflow starts only after it (docs/run-shape.md).
  const sideBySide =
    deps.temporal.eagerStart === true && key === null && opts.startWorkflow !== false && deps.faults === undefined;
  let starting: Promise<{ eagerlyStarted: boolean }> | undefined;
  const recording = withSqlClient(deps.db, async (c) => {
    // Round trip 1: open the org-scoped transaction and read the runner; round trip 2: write and commit.
    const q = new Sql(c);
    const { stored, inputSchema } = await beginAndReadSnapshot(c, q, orgId, runnerId);
    const issues = inputIssues(inputSchema, input, 'input');
    if (issues.length)
      throw AppError.validation(
        issues,
        `Run input does not match the runner's inputSchema: ${issues[0]?.path} ${issues[0]?.message}`,
      );
    // The run as recorded, read back in the same round trip and shaped by the serializer GET uses.
    const sql = [
      recordRunsSql(q, orgId, runnerId, stored, source, [{ id: runId, input, key }]),
      ...runRowSql(q, runId),
      'COMMIT',
    ];
    const record: RunRecord = { id: runId, orgId, runnerId, input, snapshot: stored, triggerKind: source.kind };
    const written = c.query(sql.join(';\n')).then((r) => resultSets<never>(r));
    if (sideBySide) {
      trackRunRecord(
        runId,
        written.then(
          (sets) => (sets[1]?.rows.length ?? 0) > 0,
          () => false,
        ),
      );
      starting = startRunWorkflow(deps, record, undefined, true);
      // Awaited after the record (below); a rejection meanwhile is not unhandled.
      starting.catch(() => undefined);
    }
    const sets = await written;
    const run = (sets[1]?.rows ?? []) as RunRow[];
    // No row: a concurrent request recorded this idempotency key first.
    if (!run[0]) return null;
    return { run: record, response: serializeRun(run[0], (sets[2]?.rows ?? []) as RunStepRow[]) };
  });
  const created = await recording.catch(async (e: unknown) => {
    // The record failed with the workflow started beside it: the workflow goes (its first write is
    // waiting for this record and learns it failed), and the caller gets the record's error.
    if (starting) await terminateUnrecorded(deps, runId, starting);
    throw e;
  });
  if (!created) {
    const again = await findExisting();
    if (again) return { created: false, run: again };
    throw AppError.conflict('A run with this idempotencyKey is being created; retry');
  }

  // The cron trigger workflow starts the run itself, as its child (see workflows/trigger-cron.ts).
  if (opts.startWorkflow === false) return { created: true, run: created.response, record: created.run };
  deps.faults?.afterRunRecorded?.(runId);
  let started: { eagerlyStarted: boolean };
  try {
    started = await (starting ?? startRunWorkflow(deps, created.run));
  } catch (e) {
    deps.log.warn({ err: e, runId }, 'could not start run workflow; removing the run');
    await withOrg(deps.db, orgId, (tx) => tx.runnerRun.deleteMany({ where: { id: runId, status: 'pending' } })).catch(
      (err: unknown) => deps.log.error({ err, runId }, 'could not remove unstarted run; the reconciler will start it'),
    );
    throw AppError.unavailable('Temporal', e);
  }
  return { created: true, run: created.response, eagerlyStarted: started.eagerlyStarted };
}

/** Ends the workflow of a run whose record failed after its start was sent (`createRun`). */
async function terminateUnrecorded(
  deps: ServiceDeps,
  runId: string,
  starting: Promise<{ eagerlyStarted: boolean }>,
): Promise<void> {
  const started = await starting.then(
    () => true,
    () => false,
  );
  if (!started) return;
  await deps.temporal.client.workflow
    .getHandle(runId)
    .terminate('the run could not be recorded')
    .catch((err: unknown) => {
      // Its first write keeps failing (the record is not there), so its steps never run; it ends failed.
      deps.log.error({ err, runId }, 'could not terminate the workflow of an unrecorded run');
    });
}

export async function getRun(deps: ServiceDeps, orgId: string, runnerId: string, runId: string) {
  return withOrg(deps.db, orgId, async (tx) => {
    const r = await loadRun(tx, runnerId, runId);
    return serializeRun(r, r.steps);
  });
}

export async function listRuns(
  deps: ServiceDeps,
  orgId: string,
  runnerId: string,
  q: { status?: RunStatus; limit: number; cursor?: string },
) {
  const cursor = decodeCursor(q.cursor);
  return withOrg(deps.db, orgId, async (tx) => {
    const runner = await tx.runner.findFirst({ where: { id: runnerId, deletedAt: null }, select: { id: true } });
    if (!runner) throw AppError.notFound('Runner');
    const rows = await tx.runnerRun.findMany({
      where: { runnerId, ...(q.status ? { status: q.status } : {}), ...afterCursor(cursor) },
      orderBy: newestFirst,
      take: q.limit + 1,
      include: { steps: true },
    });
    return page(rows, q.limit, (r) => serializeRun(r, r.steps));
  });
}

/**
 * Cancels a run: Temporal cancellation of its workflow (the running activity is cancelled, remaining
 * steps do not run), then waits briefly for the workflow to record `cancelled`.
 */
export async function cancelRun(deps: ServiceDeps, orgId: string, runnerId: string, runId: string, waitMs = 10_000) {
  const run = await getRun(deps, orgId, runnerId, runId);
  if (isTerminalRunStatus(run.status)) throw AppError.conflict(`Run is already ${run.status}`);
  const handle = deps.temporal.client.workflow.getHandle(runId);
  try {
    await handle.cancel();
  } catch (e) {
    if (!(e instanceof WorkflowNotFoundError)) throw e;
    // Never started (e.g. the API died before starting it): nothing runs, so record it directly.
    await withOrg(deps.db, orgId, async (tx) => {
      await tx.runnerRun.updateMany({
        where: { id: runId, status: 'pending' },
        data: {
          status: 'cancelled',
          completedAt: new Date(),
          error: { code: 'cancelled', message: 'The run was cancelled' } satisfies FailureError,
        },
      });
      await tx.runnerRunStep.updateMany({ where: { runId, status: 'pending' }, data: { status: 'skipped' } });
    });
    return getRun(deps, orgId, runnerId, runId);
  }
  // A model call in flight holds the run's workflow task open, so Temporal's cancel reaches it late; the
  // announcement lets its worker abort the request now (src/db/run-cancel.ts). A hint: failure is harmless.
  await announceRunCancel(deps.db, runId).catch((err: unknown) =>
    deps.log.warn({ err, runId }, 'could not announce the cancel; it reaches the run at its next workflow task'),
  );
  await Promise.race([handle.result().catch(() => undefined), new Promise((r) => setTimeout(r, waitMs).unref())]);
  return getRun(deps, orgId, runnerId, runId);
}

/**
 * Records that these runs' workflows exist: one statement in one round trip, across orgs (the run
 * starter batches the starts of every org, and the ids come from this process, not from a caller).
 */
export async function markWorkflowsStarted(deps: Pick<ServiceDeps, 'db' | 'log'>, ids: string[]): Promise<void> {
  if (!ids.length) return;
  await systemBatch(deps.db, 'workflow start bookkeeping', (q) => [
    `UPDATE runner_runs SET workflow_started_at = COALESCE(workflow_started_at, now()) WHERE id = ANY(${q.uuids(ids)})`,
  ]).catch((err: unknown) =>
    deps.log.warn({ err, count: ids.length }, 'could not mark started runs; the reconciler will re-check them'),
  );
}

const reconciling = new WeakSet<object>();

/**
 * Starts the workflows of runs that were recorded but never started (the API died in between, a
 * bulk import's background starts were cut short, or Temporal was briefly unreachable). Reads across
 * orgs (`withSystem`). Reads pages of `pageSize` stale runs (keyset on `created_at, id`, so a run
 * that cannot be started does not stall the pass), starts each page with `concurrency` starts in
 * flight and marks the started ones in one statement. At most one pass per database client at a time.
 */
export async function reconcilePendingRuns(
  deps: ServiceDeps,
  olderThanMs = 10_000,
  pageSize = 500,
  concurrency = 32,
  /** Only this runner's runs (one runner re-driven by hand; test files that share a database). */
  scope: { runnerId?: string } = {},
): Promise<number> {
  if (reconciling.has(deps.db)) return 0;
  reconciling.add(deps.db);
  let started = 0;
  try {
    let after: { createdAt: Date; id: string } | null = null;
    for (;;) {
      const page: {
        id: string;
        org_id: string;
        runner_id: string;
        input: unknown;
        snapshot: unknown;
        trigger_kind: string;
        created_at: Date;
      }[] = await withSystem(
        deps.db,
        'pending-run reconciler',
        (tx) => tx.$queryRaw`
        SELECT id, org_id, runner_id, input, snapshot, trigger_kind, created_at FROM runner_runs
        WHERE status = 'pending' AND workflow_started_at IS NULL
          AND created_at < now() - make_interval(secs => ${olderThanMs / 1000})
          AND (${scope.runnerId ?? null}::uuid IS NULL OR runner_id = ${scope.runnerId ?? null}::uuid)
          AND (${after?.createdAt ?? null}::timestamptz IS NULL
               OR (created_at, id) > (${after?.createdAt ?? null}::timestamptz, ${after?.id ?? null}::uuid))
        ORDER BY created_at, id LIMIT ${pageSize}`,
      );
      const ok: string[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, page.length) }, async () => {
          while (next < page.length) {
            const r = page[next++];
            if (!r) break;
            const run: RunRecord = {
              id: r.id,
              orgId: r.org_id,
              runnerId: r.runner_id,
              input: r.input,
              snapshot: r.snapshot,
              triggerKind: r.trigger_kind,
            };
            try {
              await startRunWorkflow(deps, run);
              ok.push(r.id);
            } catch (e) {
              deps.log.warn({ err: e, runId: r.id }, 'reconciler could not start run');
            }
          }
        }),
      );
      await markWorkflowsStarted(deps, ok);
      started += ok.length;
      if (ok.length) deps.log.info({ count: ok.length }, 'reconciler started pending runs');
      const last = page[page.length - 1];
      if (!last || page.length < pageSize) break;
      after = { createdAt: last.created_at, id: last.id };
    }
  } finally {
    reconciling.delete(deps.db);
  }
  return started;
}
