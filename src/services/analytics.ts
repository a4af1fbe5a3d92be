/**
 * Cost analytics, computed in SQL from the ledger (`model_calls`, `tool_calls`) and the runs. Shapes are
 * the spec's (snake_case). Days are UTC calendar days; a period of `Nd` is today (UTC) and the N-1 days
 * before it, every day listed (zeros when nothing happened). Runs count on the day they were created;
 * costs on the day the model call was made (money is spent when the call is made).
 *
 * All queries of one answer go to the database in one round trip, inside the org-scoped (RLS)
 * transaction, and every one reads a rollup kept by triggers in the writing transaction, never rows per
 * run or per call: runs per runner and UTC day from `run_counts_daily` (on `runner_runs`), costs, calls,
 * tokens, agents and tools per UTC day from `model_usage_daily*` and `tool_usage_daily` (on the ledger),
 * and each principal's last day of use per model from `model_usage_principal_last_day`. On 100,000 runs
 * and 500,000 ledger rows the largest of them reads ~11,000 rows (org, 90 days); see docs/budgets.md.
 */
import { z } from 'zod';
import type { PrismaClient } from '../db/client';
import { withSqlClient } from '../db/scoped';
import { resultSets, Sql } from '../db/sql-batch';
import { AppError } from '../errors/app-error';

export const ANALYTICS_PERIODS = ['7d', '30d', '90d'] as const;
export type AnalyticsPeriod = (typeof ANALYTICS_PERIODS)[number];

export const analyticsQuerySchema = z
  .object({
    period: z
      .enum(ANALYTICS_PERIODS, { message: `must be one of ${ANALYTICS_PERIODS.join(', ')}` })
      .default('30d')
      .describe('UTC days: today and the days before it'),
  })
  .strict();

const usd = z.number();
const summarySchema = z.object({
  total_runs: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  total_cost_usd: usd,
  avg_cost_per_run_usd: usd,
});
const dailySchema = z.object({
  day: z.string().describe('YYYY-MM-DD (UTC)'),
  total_runs: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  cost_usd: usd,
});

export const runnerAnalyticsSchema = z.object({
  runner: z.object({ id: z.uuid(), name: z.string() }),
  period: z.enum(ANALYTICS_PERIODS),
  summary: summarySchema,
  cost_by_model: z.array(
    z.object({
      model: z.string(),
      calls: z.number().int(),
      input_tokens: z.number().int(),
      output_tokens: z.number().int(),
      cost_usd: usd,
      unpriced_calls: z.number().int().describe('calls of a model with no known price (not in cost_usd)'),
    }),
  ),
  daily: z.array(dailySchema),
});

export const orgAnalyticsSchema = z.object({
  period: z.enum(ANALYTICS_PERIODS),
  summary: summarySchema,
  daily: z.array(dailySchema),
  by_model: z.array(
    z.object({
      model: z.string(),
      unique_users: z.number().int().describe('distinct principals (API keys, triggers) that started the runs'),
      total_turns: z.number().int().describe('model calls'),
      estimated_cost_usd: usd,
      unpriced_calls: z.number().int().describe('calls of this model with no known price (not in estimated_cost_usd)'),
    }),
  ),
  by_agent: z.array(
    z.object({
      agent_id: z.uuid().nullable().describe('null: inline agent steps (no agentId)'),
      agent_name: z.string().nullable(),
      total_turns: z.number().int(),
      estimated_cost_usd: usd,
    }),
  ),
  top_tools: z.array(z.object({ tool: z.string(), calls: z.number().int(), errors: z.number().int() })),
});

export type RunnerAnalytics = z.infer<typeof runnerAnalyticsSchema>;
export type OrgAnalytics = z.infer<typeof orgAnalyticsSchema>;

const DAY_MS = 86_400_000;

/** The period's days (UTC, oldest first) and the instant it starts. */
export function periodDays(period: AnalyticsPeriod, now = new Date()): { days: string[]; start: Date } {
  const n = Number(period.slice(0, -1));
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const start = new Date(today - (n - 1) * DAY_MS);
  const days = Array.from({ length: n }, (_, i) => new Date(start.getTime() + i * DAY_MS).toISOString().slice(0, 10));
  return { days, start };
}

/** Decimal text from PostgreSQL → number of USD, rounded to the ledger's 8 decimals. */
const money = (v: string | null | undefined): number => (v ? Number(Number(v).toFixed(8)) : 0);
const int = (v: string | number | null | undefined): number => (v == null ? 0 : Number(v));

/** Exact sum of decimal texts (in 1e-8 units), back as decimal text; null when all are null. */
function sumMoney(values: (string | null)[]): string | null {
  let units = 0n;
  let any = false;
  for (const v of values) {
    if (v === null) continue;
    any = true;
    const [i = '0', f = ''] = v.replace('-', '').split('.');
    const u = BigInt(i) * 100_000_000n + BigInt((f + '00000000').slice(0, 8));
    units += v.startsWith('-') ? -u : u;
  }
  if (!any) return null;
  const neg = units < 0n;
  const a = neg ? -units : units;
  return `${neg ? '-' : ''}${a / 100_000_000n}.${(a % 100_000_000n).toString().padStart(8, '0')}`;
}

interface DayRow {
  day: string;
  total_runs: string;
  completed: string;
  failed: string;
}

function daily(days: string[], runs: DayRow[], costs: { day: string; cost: string | null }[]) {
  const r = new Map(runs.map((x) => [x.day, x]));
  const c = new Map(costs.map((x) => [x.day, x.cost]));
  return days.map((day) => {
    const x = r.get(day);
    return {
      day,
      total_runs: int(x?.total_runs),
      completed: int(x?.completed),
      failed: int(x?.failed),
      cost_usd: money(c.get(day)),
    };
  });
}

function summary(rows: ReturnType<typeof daily>, totalCost: string | null) {
  const total_runs = rows.reduce((a, d) => a + d.total_runs, 0);
  const total_cost_usd = money(totalCost);
  return {
    total_runs,
    completed: rows.reduce((a, d) => a + d.completed, 0),
    failed: rows.reduce((a, d) => a + d.failed, 0),
    total_cost_usd,
    avg_cost_per_run_usd: total_runs ? Number((total_cost_usd / total_runs).toFixed(8)) : 0,
  };
}

const DAY = `to_char(day, 'YYYY-MM-DD')`;

/** Runs per UTC day of creation (one row per runner and day in the rollup: summed for the org). */
const runsByDay = (where: string) => `
  SELECT ${DAY} AS day, sum(runs) AS total_runs, sum(completed) AS completed, sum(failed) AS failed
    FROM run_counts_daily WHERE ${where} GROUP BY day`;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

async function query(db: PrismaClient, orgId: string, statements: (q: Sql) => string[]): Promise<unknown[][]> {
  return withSqlClient(db, async (c) => {
    const q = new Sql(c);
    const sets = resultSets<unknown>(await c.query([q.beginOrg(orgId), ...statements(q), 'COMMIT'].join(';\n')));
    // BEGIN and set_config come first; COMMIT last.
    return sets.slice(2, -1).map((s) => s.rows);
  });
}

export async function runnerAnalytics(
  deps: { db: PrismaClient },
  orgId: string,
  runnerId: string,
  period: AnalyticsPeriod,
  now = new Date(),
): Promise<RunnerAnalytics> {
  const { days } = periodDays(period, now);
  const [runner, runs, byDayRows, modelRows] = await query(deps.db, orgId, (q) => {
    const org = q.lit(orgId);
    const rid = q.lit(runnerId);
    const sinceDay = q.lit(days[0] as string);
    return [
      `SELECT id, name FROM runners WHERE id = ${rid} AND deleted_at IS NULL`,
      runsByDay(`org_id = ${org} AND runner_id = ${rid} AND day >= ${sinceDay}`),
      `SELECT ${DAY} AS day, sum(cost_usd)::text AS cost FROM model_usage_daily
        WHERE org_id = ${org} AND runner_id = ${rid} AND day >= ${sinceDay} GROUP BY day`,
      `SELECT model, sum(calls) AS calls, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
              sum(cost_usd)::text AS cost, sum(unpriced_calls) AS unpriced
         FROM model_usage_daily WHERE org_id = ${org} AND runner_id = ${rid} AND day >= ${sinceDay}
        GROUP BY model HAVING sum(calls) > 0`,
    ];
  });
  const r = (runner as { id: string; name: string }[])[0];
  if (!r) throw AppError.notFound('Runner');
  const byDay = byDayRows as { day: string; cost: string | null }[];
  const d = daily(days, runs as DayRow[], byDay);
  const models = (
    modelRows as {
      model: string;
      calls: string;
      input_tokens: string;
      output_tokens: string;
      cost: string | null;
      unpriced: string;
    }[]
  ).sort((x, y) => money(y.cost) - money(x.cost) || x.model.localeCompare(y.model));
  return {
    runner: { id: r.id, name: r.name },
    period,
    summary: summary(d, sumMoney(byDay.map((x) => x.cost))),
    cost_by_model: models.map((m) => ({
      model: m.model,
      calls: int(m.calls),
      input_tokens: int(m.input_tokens),
      output_tokens: int(m.output_tokens),
      cost_usd: money(m.cost),
      unpriced_calls: int(m.unpriced),
    })),
    daily: d,
  };
}

export async function orgAnalytics(
  deps: { db: PrismaClient },
  orgId: string,
  period: AnalyticsPeriod,
  now = new Date(),
  topTools = 10,
): Promise<OrgAnalytics> {
  const { days } = periodDays(period, now);
  const [runs, byDayRows, modelRows, agentRows, tools] = await query(deps.db, orgId, (q) => {
    const org = q.lit(orgId);
    const sinceDay = q.lit(days[0] as string);
    const inPeriod = `org_id = ${org} AND day >= ${sinceDay}`;
    return [
      runsByDay(inPeriod),
      // Every ledger row is in exactly one agent row, and there are fewer agents than runners × models.
      `SELECT ${DAY} AS day, sum(cost_usd)::text AS cost FROM model_usage_daily_agent WHERE ${inPeriod} GROUP BY day`,
      // Periods end today, so a principal called a model in the period iff its last day is in it.
      `SELECT m.model, m.calls, m.cost, m.unpriced, COALESCE(u.users, 0) AS unique_users
         FROM (SELECT model, sum(calls) AS calls, sum(cost_usd)::text AS cost, sum(unpriced_calls) AS unpriced
                 FROM model_usage_daily WHERE ${inPeriod}
                GROUP BY model HAVING sum(calls) > 0) m
         LEFT JOIN (SELECT model, count(*) AS users FROM model_usage_principal_last_day
                     WHERE org_id = ${org} AND last_day >= ${sinceDay} AND principal <> '' GROUP BY model) u
           ON u.model = m.model`,
      `SELECT NULLIF(u.agent_key, ${q.lit(NIL_UUID)}::uuid) AS agent_id, a.name AS agent_name, u.calls, u.cost
         FROM (SELECT agent_key, sum(calls) AS calls, sum(cost_usd)::text AS cost FROM model_usage_daily_agent WHERE ${inPeriod}
                GROUP BY agent_key HAVING sum(calls) > 0) u
         LEFT JOIN agents a ON a.id = u.agent_key`,
      `SELECT tool_name AS tool, sum(calls) AS calls, sum(errors) AS errors FROM tool_usage_daily WHERE ${inPeriod}
        GROUP BY tool_name HAVING sum(calls) > 0 ORDER BY sum(calls) DESC, tool_name LIMIT ${q.lit(topTools)}`,
    ];
  });
  const byDay = byDayRows as { day: string; cost: string | null }[];
  const d = daily(days, runs as DayRow[], byDay);
  const byModel = (
    modelRows as { model: string; calls: string; cost: string | null; unpriced: string; unique_users: string }[]
  )
    .map((m) => ({
      model: m.model,
      unique_users: int(m.unique_users),
      total_turns: int(m.calls),
      estimated_cost_usd: money(m.cost),
      unpriced_calls: int(m.unpriced),
    }))
    .sort((x, y) => y.estimated_cost_usd - x.estimated_cost_usd || x.model.localeCompare(y.model));
  const byAgent = (
    agentRows as { agent_id: string | null; agent_name: string | null; calls: string; cost: string | null }[]
  )
    .map((x) => ({
      agent_id: x.agent_id,
      agent_name: x.agent_name,
      total_turns: int(x.calls),
      estimated_cost_usd: money(x.cost),
    }))
    .sort((x, y) => y.estimated_cost_usd - x.estimated_cost_usd || y.total_turns - x.total_turns);
  return {
    period,
    summary: summary(d, sumMoney(byDay.map((x) => x.cost))),
    daily: d,
    by_model: byModel,
    by_agent: byAgent,
    top_tools: (tools as { tool: string; calls: string; errors: string }[]).map((t) => ({
      tool: t.tool,
      calls: int(t.calls),
      errors: int(t.errors),
    })),
  };
}
