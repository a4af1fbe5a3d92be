import { orgBatch, withOrg } from '../db/scoped';
import { AppError } from '../errors/app-error';
import type { RecordCronRunResult, PollItem, RunStartSpec } from '../shared/trigger-defs';
import type { ServiceDeps } from './deps';
import { createRun, workflowInput, type RunRecord } from './runs';
import type { CronConfig } from './triggers-schedules';

/**
 * What the trigger workflows' activities do in the database: record runs through `createRun` (the
 * API's path: same rows, idempotency and analytics), with the trigger id and kind.
 */

/** Idempotency key of a cron fire: one run per trigger and scheduled time, whatever retries happen. */
export const cronRunKey = (triggerId: string, scheduledAt: string): string => `cron:${triggerId}:${scheduledAt}`;
/** Idempotency key of a polled item: one run per trigger and item id. */
export const pollRunKey = (triggerId: string, itemId: string): string => {
  const raw = `poll:${triggerId}:${itemId}`;
  return raw.length <= 255 ? raw : raw.slice(0, 255);
};

function startSpec(record: RunRecord, runnerName: string): RunStartSpec {
  return { workflowInput: workflowInput(record), triggerKind: record.triggerKind, runnerName };
}

/**
 * Records the run of one cron fire (without starting it: the cron workflow starts it as its child, so
 * the schedule's overlap policy spans the whole run). A retry finds the run by its key and returns how
 * to start it if that never happened.
 */
export async function recordCronRun(
  deps: ServiceDeps,
  a: { orgId: string; runnerId: string; triggerId: string; scheduledAt: string },
): Promise<RecordCronRunResult> {
  // One org-scoped read in one round trip on the fire's critical path.
  const [found] = await orgBatch<{
    id: string;
    kind: string;
    enabled: boolean;
    config: CronConfig;
    runner_id: string;
    runner_deleted: boolean;
  }>(deps.db, a.orgId, (q) => [
    `SELECT t.id, t.kind, t.enabled, t.config, t.runner_id, r.deleted_at IS NOT NULL AS runner_deleted
         FROM runner_triggers t JOIN runners r ON r.id = t.runner_id WHERE t.id = ${q.lit(a.triggerId)}::uuid`,
  ]);
  const t = found?.rows[0];
  if (!t || t.kind !== 'cron') return { skipped: 'trigger deleted' };
  if (t.runner_deleted) return { skipped: 'runner deleted' };
  if (!t.enabled) return { skipped: 'trigger disabled' };
  const cfg = t.config;
  const key = cronRunKey(t.id, a.scheduledAt);
  const res = await createRun(
    deps,
    a.orgId,
    t.runner_id,
    { input: cfg.input ?? {}, idempotencyKey: key },
    { kind: 'cron', triggerId: t.id },
    // A fire's key is new except on a retry of this activity: insert first (ON CONFLICT finds a retry's run).
    { startWorkflow: false, lookupFirst: false },
  );
  // Informational: off the critical path.
  void orgBatch(deps.db, a.orgId, (q) => [
    `UPDATE runner_triggers SET last_fired_at = now() WHERE id = ${q.lit(t.id)}`,
  ]).catch((err: unknown) => deps.log.warn({ err, triggerId: t.id }, 'could not record lastFiredAt'));
  if (res.created && res.record) {
    const snap = res.record.snapshot as { runner: { name: string } };
    return { runId: res.record.id, start: startSpec(res.record, snap.runner.name) };
  }
  const row = await withOrg(deps.db, a.orgId, (tx) => tx.runnerRun.findFirst({ where: { id: res.run.id } }));
  if (!row || row.status !== 'pending' || row.workflowStartedAt) return { runId: res.run.id, start: null };
  const snap = row.snapshot as { runner: { name: string } };
  return { runId: row.id, start: startSpec(row, snap.runner.name) };
}

/**
 * Records (and starts) one run per polled item, the item id as idempotency key: a repeat after a crash
 * returns the runs already recorded instead of starting new ones.
 */
export async function recordPollRuns(
  deps: ServiceDeps,
  a: { orgId: string; runnerId: string; triggerId: string; items: PollItem[] },
): Promise<{ created: number; existing: number }> {
  let created = 0;
  let existing = 0;
  for (const item of a.items) {
    try {
      const r = await createRun(
        deps,
        a.orgId,
        a.runnerId,
        { input: item.input ?? {}, idempotencyKey: pollRunKey(a.triggerId, item.id) },
        { kind: 'poll', triggerId: a.triggerId },
      );
      if (r.created) created++;
      else existing++;
    } catch (e) {
      // An item the runner's inputSchema refuses can never become a run: skip it, keep the others.
      if (e instanceof AppError && e.code === 'validation_failed') {
        deps.log.warn(
          { triggerId: a.triggerId, itemId: item.id, err: e.message },
          'polled item refused by the inputSchema',
        );
        continue;
      }
      throw e;
    }
  }
  return { created, existing };
}
