/**
 * Scenario b: the API is SIGKILLed right after it accepted a bulk import of N items, while its
 * background starter is still starting their workflows. After the API is started again, every recorded
 * run must start (the worker's reconciler picks up what the dead API never started) and end once.
 */
import { createRunner, runExecutions, statusCounts, submitBulk, waitAllFinal } from './checks';
import { expectEq, fact, report, type ScenarioReport } from './report';
import type { ChaosStack, Say } from './stack';

export interface BulkScenarioOptions {
  items: number;
  timeoutMs: number;
  command: string;
}

export async function bulkWhileApiDies(stack: ChaosStack, o: BulkScenarioOptions, say: Say): Promise<ScenarioReport> {
  const started = Date.now();
  const runnerId = await createRunner(stack, `chaos-bulk-${Date.now()}`, [
    { name: 'echo', kind: 'computer', computer: { runtime: 'javascript', code: 'return { got: input };' } },
  ]);
  const items = Array.from({ length: o.items }, (_, i) => ({ input: { i }, idempotencyKey: `chaos-b-${i}` }));
  say(`b: bulk of ${o.items} items, then SIGKILL of the API`);
  const { ids } = await submitBulk(stack, runnerId, items, o.items);
  await stack.api.kill();
  const atKill = await stack.pg.query<{ started: string; n: string }>(
    'SELECT count(*) FILTER (WHERE workflow_started_at IS NOT NULL) AS started, count(*) AS n FROM runner_runs WHERE runner_id = $1',
    [runnerId],
  );
  const countsAtKill = await statusCounts(stack.pg, runnerId);
  say(`b: API killed; ${atKill.rows[0]?.started} of ${atKill.rows[0]?.n} marked started; restarting it`);
  await stack.api.start();
  const { counts, done } = await waitAllFinal(stack.pg, runnerId, o.items, o.timeoutMs, say);
  const pending = await stack.pg.query<{ n: string }>(
    "SELECT count(*) AS n FROM runner_runs WHERE runner_id = $1 AND (status = 'pending' OR workflow_started_at IS NULL)",
    [runnerId],
  );
  const ex = await runExecutions(stack.client, runnerId, o.items);
  return report(`b. API killed during a ${o.items}-item bulk start`, o.command, [
    fact('runs marked started when the API died', Number(atKill.rows[0]?.started ?? 0)),
    fact('runs still pending when the API died', countsAtKill.pending ?? 0),
    expectEq('runs accepted (202)', ids.length, o.items),
    expectEq('runs recorded', Number(atKill.rows[0]?.n ?? 0), o.items),
    { what: 'every run final before the timeout', value: String(done), expected: 'true', ok: done },
    expectEq('runs completed', counts.completed ?? 0, o.items),
    expectEq('runs never started (pending or unmarked)', Number(pending.rows[0]?.n ?? 0), 0),
    expectEq('Temporal run executions', ex.executions, o.items),
    expectEq('Temporal executions per run > 1', ex.executions - ex.distinctIds, 0),
    expectEq('runs without a Temporal execution', ids.filter((id) => !ex.ids.has(id)).length, 0),
    fact('wall time', `${((Date.now() - started) / 1000).toFixed(0)} s`),
  ]);
}
