import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { withOrg, type Tx } from '../db/scoped';
import { AppError } from '../errors/app-error';
import type { RunnerRun, RunnerRunStep } from '../generated/prisma/client';
import type { RunnerSnapshot, RunWorkflowInput, StepSnapshot } from '../shared/run-types';
import type { RunCreate } from '../shared/schemas';
import { isTerminalRunStatus, type RunStatus, type StepKind } from '../shared/status';
import { OrgIdKey, RUN_WORKFLOW_TYPE, RunnerIdKey, RunStatusKey, TriggerKindKey } from '../shared/workflow-defs';
import type { ServiceDeps } from './deps';
import { validateAgainst } from './json-schema';
import { afterCursor, decodeCursor, newestFirst, page } from './pagination';
import { serializeRun } from './serialize';

export interface TriggerSource {
  kind: 'api' | 'manual' | 'cron' | 'webhook' | 'poll' | 'bulk' | 'button';
  triggerId?: string | null;
}

/** The stored snapshot keeps webhook headers (for the activity); the workflow's copy does not. */
type StoredStep = StepSnapshot & { webhookHeaders?: Record<string, string> | null };

async function buildSnapshot(tx: Tx, runnerId: string): Promise<{ stored: RunnerSnapshot; name: string; inputSchema: unknown }> {
  // One query for the runner and everything a run freezes from it.
  const runner = await tx.runner.findFirst({
    where: { id: runnerId, deletedAt: null },
    include: {
      steps: { orderBy: [{ orderIndex: 'asc' }, { createdAt: 'asc' }] },
      mcps: { select: { mcpServerId: true } },
      integrations: { select: { integrationId: true } },
      tools: { select: { toolId: true } },
      skills: { select: { skillId: true } },
      webConfig: true,
      planConfig: true,
      budgetConfig: true,
    },
  });
  if (!runner) throw AppError.notFound('Runner');
  const { steps, mcps, integrations, tools, skills, webConfig: web, planConfig: plan, budgetConfig: budget } = runner;
  const stepSnaps: StoredStep[] = steps.map((s) => {
    const headers = (s.webhookHeaders as Record<string, string> | null) ?? null;
    return {
      id: s.id,
      name: s.name,
      kind: s.kind as StepKind,
      orderIndex: s.orderIndex,
      agentId: s.agentId,
      preambleOverride: s.preambleOverride,
      modelOverride: s.modelOverride,
      outputSchema: (s.outputSchema as Record<string, unknown> | null) ?? null,
      inputMapping: (s.inputMapping as Record<string, string> | null) ?? null,
      webhookUrl: s.webhookUrl,
      hasWebhookHeaders: !!headers && Object.keys(headers).length > 0,
      webhookHeaders: headers,
      conditionExpr: s.conditionExpr,
      computer: (s.computer as StepSnapshot['computer']) ?? null,
    };
  });
  const stored: RunnerSnapshot = {
    runner: {
      id: runner.id,
      name: runner.name,
      learnedInstructions: runner.learnedInstructions,
      defaultModel: runner.defaultModel,
    },
    steps: stepSnaps,
    connections: {
      mcpServerIds: mcps.map((m) => m.mcpServerId),
      integrationIds: integrations.map((i) => i.integrationId),
      toolIds: tools.map((t) => t.toolId),
      skillIds: skills.map((s) => s.skillId),
      webConfig: web ? { enabled: web.enabled, searchEnabled: web.searchEnabled, researchEnabled: web.researchEnabled } : null,
      planConfig: plan ? { enabled: plan.enabled } : null,
    },
    budget:
      budget && budget.enabled
        ? {
            budgetUsd: budget.budgetUsd?.toNumber() ?? null,
            onExceed: budget.onExceed === 'fail' ? 'fail' : 'pause',
            warningThreshold1: budget.warningThreshold1.toNumber(),
            warningThreshold2: budget.warningThreshold2.toNumber(),
          }
        : null,
  };
  return { stored, name: runner.name, inputSchema: runner.inputSchema };
}

/** The workflow's copy of the snapshot: no header values in Temporal history. */
export function workflowSnapshot(stored: RunnerSnapshot): RunnerSnapshot {
  return {
    ...stored,
    steps: stored.steps.map((s) => {
      const { webhookHeaders: _omit, ...rest } = s as StoredStep;
      return rest;
    }),
  };
}

function workflowInput(run: Pick<RunnerRun, 'id' | 'orgId' | 'runnerId' | 'input' | 'snapshot'>): RunWorkflowInput {
  return {
    runId: run.id,
    orgId: run.orgId,
    runnerId: run.runnerId,
    input: run.input,
    snapshot: workflowSnapshot(run.snapshot as unknown as RunnerSnapshot),
  };
}

/** Starts the run's workflow (id = run id). "Already started" counts as success. */
export async function startRunWorkflow(
  deps: ServiceDeps,
  run: Pick<RunnerRun, 'id' | 'orgId' | 'runnerId' | 'input' | 'snapshot' | 'triggerKind'>,
  timeoutMs = 5_000,
): Promise<void> {
  const args = workflowInput(run);
  const client = deps.temporal.client;
  try {
    await client.connection.withDeadline(Date.now() + timeoutMs, () =>
      client.workflow.start(RUN_WORKFLOW_TYPE, {
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
      }),
    );
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) return;
    throw e;
  }
}

async function loadRun(tx: Tx, runnerId: string, runId: string) {
  const run = await tx.runnerRun.findFirst({ where: { id: runId, runnerId }, include: { steps: true } });
  if (!run) throw AppError.notFound('Run');
  return run;
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
): Promise<{ created: boolean; run: ReturnType<typeof serializeRun> }> {
  const input = body.input === undefined ? {} : body.input;
  const key = body.idempotencyKey ?? null;
  const findExisting = async () =>
    key
      ? withOrg(deps.db, orgId, async (tx) => {
          const r = await tx.runnerRun.findFirst({ where: { runnerId, idempotencyKey: key }, include: { steps: true } });
          return r ? serializeRun(r, r.steps) : null;
        })
      : null;

  const existing = await findExisting();
  if (existing) return { created: false, run: existing };

  const runId = randomUUID();
  let row: RunnerRun;
  let stepRows: RunnerRunStep[] = [];
  try {
    row = await withOrg(deps.db, orgId, async (tx) => {
      const { stored, inputSchema } = await buildSnapshot(tx, runnerId);
      if (inputSchema && typeof inputSchema === 'object') {
        const issues = validateAgainst(inputSchema, input, 'input');
        if (issues.length) throw AppError.validation(issues, `Run input does not match the runner's inputSchema: ${issues[0]?.path} ${issues[0]?.message}`);
      }
      const run = await tx.runnerRun.create({
        data: {
          id: runId,
          orgId,
          runnerId,
          status: 'pending',
          input: input as object,
          idempotencyKey: key,
          snapshot: stored as unknown as object,
          triggerKind: source.kind,
          triggerId: source.triggerId ?? null,
          budgetUsd: stored.budget?.budgetUsd ?? null,
          budgetOnExceed: stored.budget ? stored.budget.onExceed : null,
          context: { input, steps: {} } as object,
        },
      });
      if (stored.steps.length) {
        stepRows = await tx.runnerRunStep.createManyAndReturn({
          data: stored.steps.map((s, i) => ({
            runId,
            orgId,
            stepId: s.id,
            name: s.name,
            kind: s.kind,
            orderIndex: i,
            status: 'pending',
          })),
        });
      }
      return run;
    });
  } catch (e) {
    if ((e as { code?: string }).code === 'P2002' && key) {
      const again = await findExisting();
      if (again) return { created: false, run: again };
    }
    throw e;
  }

  deps.faults?.afterRunRecorded?.(runId);
  try {
    await startRunWorkflow(deps, row);
  } catch (e) {
    deps.log.warn({ err: e, runId }, 'could not start run workflow; removing the run');
    await withOrg(deps.db, orgId, (tx) => tx.runnerRun.deleteMany({ where: { id: runId, status: 'pending' } })).catch(
      (err: unknown) => deps.log.error({ err, runId }, 'could not remove unstarted run; the reconciler will start it'),
    );
    throw AppError.unavailable('Temporal', e);
  }
  return { created: true, run: serializeRun(row, stepRows) };
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
    const runner = await tx.runner.findFirst({ where: { id: runnerId }, select: { id: true } });
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
        data: { status: 'cancelled', completedAt: new Date(), error: { code: 'cancelled', message: 'The run was cancelled' } },
      });
      await tx.runnerRunStep.updateMany({ where: { runId, status: 'pending' }, data: { status: 'skipped' } });
    });
    return getRun(deps, orgId, runnerId, runId);
  }
  await Promise.race([handle.result().catch(() => undefined), new Promise((r) => setTimeout(r, waitMs).unref())]);
  return getRun(deps, orgId, runnerId, runId);
}

/**
 * Starts the workflows of runs that were recorded but never started (the API died in between, or
 * Temporal was briefly unreachable and the cleanup failed). Runs as the table owner across orgs.
 */
export async function reconcilePendingRuns(deps: ServiceDeps, olderThanMs = 10_000, limit = 100): Promise<number> {
  const stale = await deps.db.$queryRaw<{ id: string }[]>`
    SELECT id FROM runner_runs
    WHERE status = 'pending' AND workflow_started_at IS NULL
      AND created_at < now() - make_interval(secs => ${olderThanMs / 1000})
    ORDER BY created_at LIMIT ${limit}`;
  let started = 0;
  for (const { id } of stale) {
    const run = await deps.db.runnerRun.findUnique({ where: { id } });
    if (!run || run.status !== 'pending') continue;
    try {
      await startRunWorkflow(deps, run);
      await deps.db.runnerRun.update({ where: { id }, data: { workflowStartedAt: new Date() } });
      started++;
      deps.log.info({ runId: id }, 'reconciler started a pending run');
    } catch (e) {
      deps.log.warn({ err: e, runId: id }, 'reconciler could not start run');
    }
  }
  return started;
}
