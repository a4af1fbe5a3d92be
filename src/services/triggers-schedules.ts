import { createHash } from 'node:crypto';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type ScheduleOptions,
  type ScheduleOverlapPolicy,
} from '@temporalio/client';
import type { RunnerTrigger } from '../generated/prisma/client';
import {
  CRON_TRIGGER_WORKFLOW_TYPE,
  POLL_TRIGGER_WORKFLOW_TYPE,
  scheduleIdForTrigger,
  TRIGGER_SCHEDULE_PREFIX,
  type TriggerWorkflowInput,
} from '../shared/trigger-defs';
import { normalizeCron, type OverlapPolicy, type PollConfig } from '../shared/trigger-schemas';
import { OrgIdKey, RunnerIdKey, TriggerKindKey } from '../shared/workflow-defs';
import { withOrg, withSystem } from '../db/scoped';
import type { ServiceDeps } from './deps';

/**
 * Temporal Schedules behind cron and poll triggers: one per trigger, id `trigger-<triggerId>`, paused
 * while the trigger is disabled. The schedule's action passes a hash of the trigger's schedule-relevant
 * config, so the reconciler can tell a stale schedule from a current one.
 */

type TriggerRow = Pick<RunnerTrigger, 'id' | 'orgId' | 'runnerId' | 'kind' | 'enabled' | 'config'>;

export const hasSchedule = (kind: string): boolean => kind === 'cron' || kind === 'poll';

export interface CronConfig {
  cronExpression: string;
  cronTimezone: string;
  overlapPolicy: OverlapPolicy;
  catchupWindowSeconds: number;
  input?: unknown;
}

/** The schedule-relevant part of a trigger; its hash travels in the schedule's action arguments. */
function scheduleShape(t: TriggerRow): Record<string, unknown> {
  const c = t.config as Record<string, unknown>;
  if (t.kind === 'cron') {
    const cron = c as unknown as CronConfig;
    return {
      kind: 'cron',
      cron: normalizeCron(cron.cronExpression),
      tz: cron.cronTimezone,
      overlap: cron.overlapPolicy,
      catchup: cron.catchupWindowSeconds,
      enabled: t.enabled,
    };
  }
  const poll = c.pollConfig as PollConfig;
  return { kind: 'poll', every: poll.intervalMinutes, enabled: t.enabled };
}

export function scheduleConfigHash(t: TriggerRow): string {
  return createHash('sha256')
    .update(JSON.stringify(scheduleShape(t)))
    .digest('hex')
    .slice(0, 16);
}

function scheduleOptions(deps: ServiceDeps, t: TriggerRow): ScheduleOptions {
  const taskQueue = deps.temporal.taskQueue;
  const args: TriggerWorkflowInput = {
    orgId: t.orgId,
    runnerId: t.runnerId,
    triggerId: t.id,
    configHash: scheduleConfigHash(t),
  };
  const c = t.config as Record<string, unknown>;
  const searchAttributes = [
    { key: RunnerIdKey, value: t.runnerId },
    { key: OrgIdKey, value: t.orgId },
    { key: TriggerKindKey, value: t.kind },
  ];
  const note = t.enabled ? 'active' : 'trigger disabled';
  if (t.kind === 'cron') {
    const cron = c as unknown as CronConfig;
    return {
      scheduleId: scheduleIdForTrigger(t.id),
      spec: { cronExpressions: [normalizeCron(cron.cronExpression)], timezone: cron.cronTimezone },
      action: {
        type: 'startWorkflow',
        workflowType: CRON_TRIGGER_WORKFLOW_TYPE,
        workflowId: `cron-${t.id}`,
        taskQueue,
        args: [args],
        typedSearchAttributes: searchAttributes,
        staticSummary: `Cron trigger ${t.id} of runner ${t.runnerId}`,
      },
      policies: {
        overlap: cron.overlapPolicy.toUpperCase() as ScheduleOverlapPolicy,
        catchupWindow: cron.catchupWindowSeconds * 1000,
      },
      memo: { orgId: t.orgId, runnerId: t.runnerId, triggerId: t.id, kind: t.kind },
      state: { paused: !t.enabled, note },
    };
  }
  const poll = c.pollConfig as PollConfig;
  return {
    scheduleId: scheduleIdForTrigger(t.id),
    spec: { intervals: [{ every: `${poll.intervalMinutes}m` }] },
    action: {
      type: 'startWorkflow',
      workflowType: POLL_TRIGGER_WORKFLOW_TYPE,
      workflowId: `poll-${t.id}`,
      taskQueue,
      args: [args],
      typedSearchAttributes: searchAttributes,
      staticSummary: `Poll trigger ${t.id} of runner ${t.runnerId}`,
    },
    // A poll that is still going when the next is due is skipped; a missed poll is not replayed.
    policies: { overlap: 'SKIP', catchupWindow: 60_000 },
    memo: { orgId: t.orgId, runnerId: t.runnerId, triggerId: t.id, kind: t.kind },
    state: { paused: !t.enabled, note },
  };
}

/** Creates the trigger's schedule, or brings an existing one up to date. Returns its id. */
export async function upsertTriggerSchedule(deps: ServiceDeps, t: TriggerRow): Promise<string> {
  const opts = scheduleOptions(deps, t);
  const client = deps.temporal.client;
  try {
    await client.schedule.create(opts);
  } catch (e) {
    if (!(e instanceof ScheduleAlreadyRunning)) throw e;
    await client.schedule.getHandle(opts.scheduleId).update((prev) => ({
      ...prev,
      spec: opts.spec,
      action: opts.action,
      policies: { ...prev.policies, ...opts.policies },
      state: { ...prev.state, paused: !t.enabled, note: opts.state?.note },
    }));
  }
  return opts.scheduleId;
}

/** Deletes a schedule; one that is already gone counts as deleted. */
export async function deleteTriggerSchedule(deps: ServiceDeps, scheduleId: string): Promise<void> {
  try {
    await deps.temporal.client.schedule.getHandle(scheduleId).delete();
  } catch (e) {
    if (!(e instanceof ScheduleNotFoundError)) throw e;
  }
}

export interface ReconcileReport {
  created: number;
  updated: number;
  deleted: number;
}

/**
 * Repairs drift between trigger rows and Temporal Schedules, both ways: a cron/poll trigger of a live
 * runner whose schedule is missing or stale gets it (re)created or updated; a `trigger-*` schedule
 * whose trigger is gone (or whose runner was deleted) is deleted. Reads across orgs (`withSystem`)
 * (at worker start and on the worker's reconcile interval).
 */
export async function reconcileTriggerSchedules(deps: ServiceDeps): Promise<ReconcileReport> {
  const report: ReconcileReport = { created: 0, updated: 0, deleted: 0 };
  const rows = await withSystem(
    deps.db,
    'schedule reconciler',
    (tx) => tx.$queryRaw<TriggerRow[]>`
    SELECT t.id, t.org_id AS "orgId", t.runner_id AS "runnerId", t.kind, t.enabled, t.config
      FROM runner_triggers t JOIN runners r ON r.id = t.runner_id
     WHERE t.kind IN ('cron', 'poll') AND r.deleted_at IS NULL`,
  );
  const wanted = new Map(rows.map((r) => [scheduleIdForTrigger(r.id), r]));

  for (const [scheduleId, t] of wanted) {
    const expectedHash = scheduleConfigHash(t);
    let actualHash: string | undefined;
    let paused: boolean | undefined;
    try {
      const d = await deps.temporal.client.schedule.getHandle(scheduleId).describe();
      actualHash = (d.action.args?.[0] as Partial<TriggerWorkflowInput> | undefined)?.configHash;
      paused = d.state.paused;
    } catch (e) {
      if (!(e instanceof ScheduleNotFoundError)) throw e;
    }
    if (actualHash === expectedHash && paused === !t.enabled) continue;
    await upsertTriggerSchedule(deps, t);
    await withOrg(deps.db, t.orgId, (tx) =>
      tx.runnerTrigger.update({ where: { id: t.id }, data: { scheduleId } }),
    ).catch(() => undefined);
    if (actualHash === undefined) report.created++;
    else report.updated++;
    deps.log.info(
      { triggerId: t.id, scheduleId, created: actualHash === undefined },
      'reconciler repaired a trigger schedule',
    );
  }

  for await (const s of deps.temporal.client.schedule.list()) {
    if (!s.scheduleId.startsWith(TRIGGER_SCHEDULE_PREFIX) || wanted.has(s.scheduleId)) continue;
    // A trigger created after our read above already has its row committed (rows come first): re-check.
    const triggerId = s.scheduleId.slice(TRIGGER_SCHEDULE_PREFIX.length);
    const live = await withSystem(
      deps.db,
      'schedule reconciler',
      (tx) => tx.$queryRaw<{ id: string }[]>`
      SELECT t.id FROM runner_triggers t JOIN runners r ON r.id = t.runner_id
       WHERE t.id::text = ${triggerId} AND r.deleted_at IS NULL AND t.kind IN ('cron', 'poll')`,
    );
    if (live.length) continue;
    await deleteTriggerSchedule(deps, s.scheduleId);
    report.deleted++;
    deps.log.info({ scheduleId: s.scheduleId }, 'reconciler deleted a schedule without a trigger');
  }
  return report;
}
