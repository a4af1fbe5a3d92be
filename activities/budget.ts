/**
 * Budget warnings: record the event on the run (once, whatever the retries) and POST a small JSON notice
 * to the runner's `budgetWarningWebhookUrl` through egress control. A notice that cannot be delivered is
 * logged and dropped after the activity's few attempts: it never fails the run.
 */
import { Context } from '@temporalio/activity';
import type { PrismaClient } from '../src/db/client';
import { withSqlClient } from '../src/db/scoped';
import { Sql } from '../src/db/sql-batch';
import type { EgressGuard } from '../src/net/egress';
import { HttpError, postJson } from '../src/net/http-client';
import type { BudgetWarningEvent } from '../src/shared/budget';
import { appendEvent } from './persistence';

export interface BudgetWarningArgs {
  runId: string;
  orgId: string;
  runnerId: string;
  event: BudgetWarningEvent;
}

export interface BudgetWarningResult {
  recorded: boolean;
  /** `skipped` when the runner has no warning webhook. */
  delivery: 'delivered' | 'skipped' | 'failed';
  status?: number;
}

export function createBudgetActivities(deps: { db: PrismaClient; guard: EgressGuard; timeoutMs?: number }) {
  return {
    async notifyBudgetWarning(args: BudgetWarningArgs): Promise<BudgetWarningResult> {
      const { runId, orgId, event } = args;
      const rows = await withSqlClient(deps.db, async (c) => {
        const q = new Sql(c);
        const r = await c.query(
          [
            q.beginOrg(orgId),
            `UPDATE runner_runs SET ${appendEvent(q, event)} WHERE id = ${q.lit(runId)}
             RETURNING snapshot->'budget'->>'warningWebhookUrl' AS url, snapshot->'runner'->>'name' AS runner_name`,
            'COMMIT',
          ].join(';\n'),
        );
        return ((Array.isArray(r) ? r : [r])[2]?.rows ?? []) as { url: string | null; runner_name: string | null }[];
      });
      const row = rows[0];
      if (!row) return { recorded: false, delivery: 'skipped' };
      if (!row.url) return { recorded: true, delivery: 'skipped' };
      const notice = {
        type: 'budget_warning',
        runId,
        runnerId: args.runnerId,
        runnerName: row.runner_name,
        threshold: event.threshold,
        spentUsd: event.spentUsd,
        budgetUsd: event.budgetUsd,
        step: event.step,
        at: event.at,
      };
      const ctx = Context.current();
      let host = '(invalid URL)';
      try {
        host = new URL(row.url).host;
      } catch {
        // reported below by postJson
      }
      try {
        const res = await postJson({
          url: row.url,
          body: notice,
          headers: { 'Idempotency-Key': `${runId}:${event.id}`, 'User-Agent': 'flapjack-runners-budget' },
          timeoutMs: deps.timeoutMs ?? 10_000,
          maxResponseBytes: 64 * 1024,
          guard: deps.guard,
          signal: ctx.cancellationSignal,
        });
        if (res.status >= 200 && res.status < 300) return { recorded: true, delivery: 'delivered', status: res.status };
        // Only the host is logged: such URLs often carry a token in the path.
        ctx.log.warn('budget warning webhook answered an error', { runId, host, status: res.status });
        if (res.status >= 500 && ctx.info.attempt < 3)
          throw new Error(`budget warning webhook at ${host} answered ${res.status}`);
        return { recorded: true, delivery: 'failed', status: res.status };
      } catch (e) {
        const refused = e instanceof HttpError && (e.kind === 'egress_refused' || e.kind === 'invalid_url');
        if (!refused && ctx.info.attempt < 3) throw e;
        ctx.log.warn('budget warning webhook not delivered', { runId, host, reason: (e as Error).message });
        return { recorded: true, delivery: 'failed' };
      }
    },
  };
}
