import { Context } from '@temporalio/activity';
import type { PrismaClient } from '../src/db/client';
import { withSqlClient } from '../src/db/scoped';
import { Sql } from '../src/db/sql-batch';

/**
 * Books one tool call of an agent step in `tool_calls` (analytics' `top_tools`). Keyed by the run and the
 * activity's id (stable across retries of the same call), so a retried activity books it once. A failed
 * write is logged and dropped: it must not make the tool call fail or run again.
 */
export async function recordToolCall(
  db: PrismaClient,
  args: { runId: string; orgId: string; stepName: string; toolName: string; isError: boolean; latencyMs: number },
): Promise<void> {
  let activityId = 'unknown';
  try {
    activityId = Context.current().info.activityId;
  } catch {
    // outside an activity (unit use): the key still separates calls by time
    activityId = `t${Date.now()}`;
  }
  try {
    await withSqlClient(db, async (c) => {
      const q = new Sql(c);
      await c.query(
        [
          q.beginOrg(args.orgId),
          `INSERT INTO tool_calls (org_id, runner_id, run_id, step_name, call_key, tool_name, is_error, latency_ms)
           SELECT r.org_id, r.runner_id, r.id, ${q.lit(args.stepName)}, ${q.lit(`${args.runId}:${activityId}`)},
                  ${q.lit(args.toolName)}, ${q.lit(args.isError)}, ${q.lit(Math.round(args.latencyMs))}
             FROM runner_runs r WHERE r.id = ${q.lit(args.runId)}
           ON CONFLICT (call_key) DO NOTHING`,
          'COMMIT',
        ].join(';\n'),
      );
    });
  } catch (e) {
    try {
      Context.current().log.warn('could not book a tool call for analytics', {
        runId: args.runId,
        error: (e as Error).message,
      });
    } catch {
      // no activity context
    }
  }
}
