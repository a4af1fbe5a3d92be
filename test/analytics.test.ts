import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestContext } from './harness';

/**
 * Analytics against ledger and run rows inserted directly (as the table owner), on both sides of UTC day
 * boundaries; every expected number is recomputed here from the fixture rows, independently of the SQL.
 */
const ctx = useTestContext();

const DAY = 86_400_000;
const startOfTodayUtc = (() => {
  const n = new Date();
  return Date.UTC(n.getUTCFullYear(), n.getUTCMonth(), n.getUTCDate());
})();
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

interface RunFx {
  id: string;
  runnerId: string;
  status: string;
  at: number;
}
interface CallFx {
  runId: string;
  runnerId: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** Decimal text (8 places), or null: unpriced. */
  cost: string | null;
  apiKeyId: string | null;
  trigger: { kind: string; id: string } | null;
  agentId: string | null;
  at: number;
}
interface ToolFx {
  runId: string;
  runnerId: string;
  tool: string;
  isError: boolean;
  at: number;
}

/** Exact USD arithmetic in 1e-8 units. */
const units = (c: string | null) => (c === null ? 0 : Math.round(Number(c) * 1e8));
const usd = (u: number) => Number((u / 1e8).toFixed(8));

let runnerId = '';
let otherRunnerId = '';
let emptyRunnerId = '';
let agentA = '';
let agentB = '';
const runs: RunFx[] = [];
const calls: CallFx[] = [];
const tools: ToolFx[] = [];

async function insertAll(orgId: string, rs: RunFx[], cs: CallFx[], ts: ToolFx[]) {
  for (const r of rs) {
    await ctx.systemDb.$executeRaw`
      INSERT INTO runner_runs (id, org_id, runner_id, status, snapshot, created_at)
      VALUES (${r.id}::uuid, ${orgId}::uuid, ${r.runnerId}::uuid, ${r.status}, '{}'::jsonb, ${new Date(r.at)})`;
  }
  for (const c of cs) {
    await ctx.systemDb.$executeRaw`
      INSERT INTO model_calls (id, org_id, runner_id, run_id, step_name, call_key, provider, model, input_tokens,
                               output_tokens, cost_usd, api_key_id, trigger_kind, trigger_id, agent_id, created_at)
      VALUES (gen_random_uuid(), ${orgId}::uuid, ${c.runnerId}::uuid, ${c.runId}::uuid, 's', ${randomUUID()}, 'openai',
              ${c.model}, ${c.inputTokens}, ${c.outputTokens}, ${c.cost}::numeric, ${c.apiKeyId}::uuid,
              ${c.trigger?.kind ?? null}, ${c.trigger?.id ?? null}::uuid, ${c.agentId}::uuid, ${new Date(c.at)})`;
  }
  for (const t of ts) {
    await ctx.systemDb.$executeRaw`
      INSERT INTO tool_calls (org_id, runner_id, run_id, step_name, call_key, tool_name, is_error, created_at)
      VALUES (${orgId}::uuid, ${t.runnerId}::uuid, ${t.runId}::uuid, 's', ${randomUUID()}, ${t.tool}, ${t.isError}, ${new Date(t.at)})`;
  }
}

beforeAll(async () => {
  runnerId = (await ctx.api.post('/api/runners', { name: 'analytics' })).body.id;
  otherRunnerId = (await ctx.api.post('/api/runners', { name: 'analytics-other' })).body.id;
  emptyRunnerId = (await ctx.api.post('/api/runners', { name: 'analytics-empty' })).body.id;
  agentA = (await ctx.api.post('/api/agents', { name: 'researcher', preamble: 'r', model: 'gpt-5.4' })).body.id;
  agentB = (await ctx.api.post('/api/agents', { name: 'writer', preamble: 'w', model: 'claude-sonnet-4-6' })).body.id;
  expect(agentA).toBeTruthy();
  expect(agentB).toBeTruthy();
  const keyIds = [randomUUID(), randomUUID(), randomUUID()];
  const cron = { kind: 'cron', id: randomUUID() };

  // Instants on both sides of day boundaries: the last millisecond of a day and the first of the next.
  const instants = [
    startOfTodayUtc - 1, // yesterday, 23:59:59.999
    startOfTodayUtc, // today, 00:00:00.000
    startOfTodayUtc + 1_000,
    startOfTodayUtc - 6 * DAY, // first day of a 7d period
    startOfTodayUtc - 6 * DAY - 1, // the day before it: in 30d, not in 7d
    startOfTodayUtc - 29 * DAY, // first day of 30d
    startOfTodayUtc - 29 * DAY - 1, // only in 90d
    startOfTodayUtc - 89 * DAY, // first day of 90d
    startOfTodayUtc - 89 * DAY - 1, // in no period
  ];
  const statuses = [
    'completed',
    'failed',
    'completed',
    'cancelled',
    'completed',
    'failed',
    'completed',
    'paused_budget',
    'completed',
  ];
  const models = ['gpt-5.4', 'claude-sonnet-4-6', 'gpt-5.4-mini'];
  let n = 0;
  instants.forEach((at, i) => {
    for (const rid of [runnerId, otherRunnerId]) {
      const run: RunFx = { id: randomUUID(), runnerId: rid, status: statuses[i] as string, at };
      runs.push(run);
      // Two or three calls per run, the first one exactly at the run's instant.
      for (let k = 0; k < 2 + (i % 2); k++) {
        n++;
        calls.push({
          runId: run.id,
          runnerId: rid,
          model: models[(i + k) % 3] as string,
          inputTokens: 100 * n + k,
          outputTokens: 10 * n,
          cost: n % 7 === 0 ? null : (0.01234567 * n + 0.00000001 * k).toFixed(8),
          apiKeyId: n % 4 === 3 ? null : (keyIds[n % 3] as string),
          trigger: n % 4 === 3 ? cron : null,
          agentId: n % 3 === 0 ? null : n % 3 === 1 ? agentA : agentB,
          at: at + k * 1,
        });
        tools.push({
          runId: run.id,
          runnerId: rid,
          tool: ['github.list_prs', 'search_knowledge', 'sql_query'][(n + k) % 3] as string,
          isError: n % 5 === 0,
          at,
        });
      }
    }
  });
  await insertAll(ctx.orgA, runs, calls, tools);

  // Another org's activity on the same days must never show up.
  const foreignRunner = (await ctx.as(ctx.keyB).post('/api/runners', { name: 'foreign' })).body.id as string;
  const fr: RunFx = { id: randomUUID(), runnerId: foreignRunner, status: 'completed', at: startOfTodayUtc };
  await insertAll(
    ctx.orgB,
    [fr],
    [
      {
        runId: fr.id,
        runnerId: foreignRunner,
        model: 'gpt-5.4',
        inputTokens: 1,
        outputTokens: 1,
        cost: '99.00000000',
        apiKeyId: randomUUID(),
        trigger: null,
        agentId: null,
        at: fr.at,
      },
    ],
    [{ runId: fr.id, runnerId: foreignRunner, tool: 'foreign_tool', isError: false, at: fr.at }],
  );
});

function periodStart(period: '7d' | '30d' | '90d') {
  return startOfTodayUtc - (Number(period.slice(0, -1)) - 1) * DAY;
}

function expectedDaily(period: '7d' | '30d' | '90d', rs: RunFx[], cs: CallFx[]) {
  const n = Number(period.slice(0, -1));
  const start = periodStart(period);
  return Array.from({ length: n }, (_, i) => {
    const from = start + i * DAY;
    const inDay = (at: number) => at >= from && at < from + DAY;
    const dr = rs.filter((r) => inDay(r.at));
    return {
      day: dayOf(from),
      total_runs: dr.length,
      completed: dr.filter((r) => r.status === 'completed').length,
      failed: dr.filter((r) => r.status === 'failed').length,
      cost_usd: usd(cs.filter((c) => inDay(c.at)).reduce((a, c) => a + units(c.cost), 0)),
    };
  });
}

function expectedSummary(period: '7d' | '30d' | '90d', rs: RunFx[], cs: CallFx[]) {
  const start = periodStart(period);
  const r = rs.filter((x) => x.at >= start);
  const total = cs.filter((c) => c.at >= start).reduce((a, c) => a + units(c.cost), 0);
  return {
    total_runs: r.length,
    completed: r.filter((x) => x.status === 'completed').length,
    failed: r.filter((x) => x.status === 'failed').length,
    total_cost_usd: usd(total),
    avg_cost_per_run_usd: r.length ? Number((usd(total) / r.length).toFixed(8)) : 0,
  };
}

/** The runner route's whole answer against the fixture rows of that runner. */
async function expectRunnerMatchesFixtures(id: string, name: string, period: '7d' | '30d' | '90d') {
  const r = await ctx.api.get(`/api/runners/${id}/analytics?period=${period}`);
  expect(r.status).toBe(200);
  const rs = runs.filter((x) => x.runnerId === id);
  const cs = calls.filter((x) => x.runnerId === id);
  expect(r.body.runner).toEqual({ id, name });
  expect(r.body.period).toBe(period);
  expect(r.body.daily).toEqual(expectedDaily(period, rs, cs));
  expect(r.body.summary).toEqual(expectedSummary(period, rs, cs));

  const start = periodStart(period);
  const byModel = new Map<string, { calls: number; input: number; output: number; cost: number; unpriced: number }>();
  for (const c of cs.filter((x) => x.at >= start)) {
    const m = byModel.get(c.model) ?? { calls: 0, input: 0, output: 0, cost: 0, unpriced: 0 };
    m.calls++;
    m.input += c.inputTokens;
    m.output += c.outputTokens;
    m.cost += units(c.cost);
    if (c.cost === null) m.unpriced++;
    byModel.set(c.model, m);
  }
  const expected = [...byModel.entries()]
    .map(([model, m]) => ({
      model,
      calls: m.calls,
      input_tokens: m.input,
      output_tokens: m.output,
      cost_usd: usd(m.cost),
      unpriced_calls: m.unpriced,
    }))
    .sort((a, b) => b.cost_usd - a.cost_usd || a.model.localeCompare(b.model));
  expect(r.body.cost_by_model).toEqual(expected);
  // Sorted by cost, most expensive first.
  const costs = r.body.cost_by_model.map((m: { cost_usd: number }) => m.cost_usd);
  expect([...costs].sort((a, b) => b - a)).toEqual(costs);
}

describe('GET /api/runners/:id/analytics', () => {
  it.each(['7d', '30d', '90d'] as const)('equals the sums of the fixture rows for %s, per UTC day', async (period) => {
    await expectRunnerMatchesFixtures(runnerId, 'analytics', period);
  });

  it('puts the last millisecond of a day and the first of the next on different days', async () => {
    const r = await ctx.api.get(`/api/runners/${runnerId}/analytics?period=7d`);
    const today = r.body.daily.at(-1);
    const yesterday = r.body.daily.at(-2);
    expect(today.day).toBe(dayOf(startOfTodayUtc));
    expect(yesterday.day).toBe(dayOf(startOfTodayUtc - 1));
    expect(today.total_runs).toBe(2); // 00:00:00.000 and 00:00:01
    expect(yesterday.total_runs).toBe(1); // 23:59:59.999
  });

  it('lists every day of the period, zeros included, for a runner without runs', async () => {
    const r = await ctx.api.get(`/api/runners/${emptyRunnerId}/analytics?period=30d`);
    expect(r.status).toBe(200);
    expect(r.body.daily).toHaveLength(30);
    expect(r.body.daily[0].day).toBe(dayOf(periodStart('30d')));
    expect(r.body.daily.every((d: Record<string, unknown>) => d.total_runs === 0 && d.cost_usd === 0)).toBe(true);
    expect(r.body.summary).toEqual({
      total_runs: 0,
      completed: 0,
      failed: 0,
      total_cost_usd: 0,
      avg_cost_per_run_usd: 0,
    });
    expect(r.body.cost_by_model).toEqual([]);
  });

  it('defaults to 30d, 422s a bad period naming the field, 404s unknown and foreign runners', async () => {
    expect((await ctx.api.get(`/api/runners/${runnerId}/analytics`)).body.daily).toHaveLength(30);
    for (const bad of ['1d', '30', 'all', '30D']) {
      const r = await ctx.api.get(`/api/runners/${runnerId}/analytics?period=${bad}`);
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('validation_failed');
      expect(r.body.error.details[0].path).toBe('query.period');
    }
    expect((await ctx.api.get(`/api/runners/${randomUUID()}/analytics`)).status).toBe(404);
    expect((await ctx.as(ctx.keyB).get(`/api/runners/${runnerId}/analytics`)).status).toBe(404);
  });
});

/** The org route's whole answer against all of org A's fixture rows. */
async function expectOrgMatchesFixtures(period: '7d' | '30d' | '90d') {
  const r = await ctx.api.get(`/api/analytics?period=${period}`);
  expect(r.status).toBe(200);
  expect(r.body.period).toBe(period);
  expect(r.body.daily).toEqual(expectedDaily(period, runs, calls));
  expect(r.body.summary).toEqual(expectedSummary(period, runs, calls));

  const start = periodStart(period);
  const inPeriod = calls.filter((c) => c.at >= start);
  const principal = (c: CallFx) =>
    c.apiKeyId ? `key:${c.apiKeyId}` : c.trigger ? `trigger:${c.trigger.kind}:${c.trigger.id}` : null;
  const models = new Map<string, { users: Set<string>; turns: number; cost: number; unpriced: number }>();
  for (const c of inPeriod) {
    const m = models.get(c.model) ?? { users: new Set<string>(), turns: 0, cost: 0, unpriced: 0 };
    const p = principal(c);
    if (p) m.users.add(p);
    m.turns++;
    m.cost += units(c.cost);
    if (c.cost === null) m.unpriced++;
    models.set(c.model, m);
  }
  expect(r.body.by_model).toEqual(
    [...models.entries()]
      .map(([model, m]) => ({
        model,
        unique_users: m.users.size,
        total_turns: m.turns,
        estimated_cost_usd: usd(m.cost),
        unpriced_calls: m.unpriced,
      }))
      .sort((a, b) => b.estimated_cost_usd - a.estimated_cost_usd || a.model.localeCompare(b.model)),
  );

  const names: Record<string, string> = { [agentA]: 'researcher', [agentB]: 'writer' };
  const agents = new Map<string | null, { turns: number; cost: number }>();
  for (const c of inPeriod) {
    const a = agents.get(c.agentId) ?? { turns: 0, cost: 0 };
    a.turns++;
    a.cost += units(c.cost);
    agents.set(c.agentId, a);
  }
  const byAgent = [...agents.entries()].map(([id, a]) => ({
    agent_id: id,
    agent_name: id ? names[id] : null,
    total_turns: a.turns,
    estimated_cost_usd: usd(a.cost),
  }));
  expect(r.body.by_agent).toHaveLength(byAgent.length);
  expect(r.body.by_agent).toEqual(expect.arrayContaining(byAgent));

  const toolCounts = new Map<string, { calls: number; errors: number }>();
  for (const t of tools.filter((x) => x.at >= start)) {
    const e = toolCounts.get(t.tool) ?? { calls: 0, errors: 0 };
    e.calls++;
    if (t.isError) e.errors++;
    toolCounts.set(t.tool, e);
  }
  expect(r.body.top_tools).toEqual(
    [...toolCounts.entries()]
      .map(([tool, e]) => ({ tool, calls: e.calls, errors: e.errors }))
      .sort((a, b) => b.calls - a.calls || a.tool.localeCompare(b.tool)),
  );
  // Nothing of the other org leaks in.
  expect(JSON.stringify(r.body)).not.toContain('foreign_tool');
}

describe('GET /api/analytics', () => {
  it.each(['7d', '30d', '90d'] as const)('equals the sums of the org’s fixture rows for %s', async (period) => {
    await expectOrgMatchesFixtures(period);
  });

  it('422s a bad period', async () => {
    const r = await ctx.api.get('/api/analytics?period=365d');
    expect(r.status).toBe(422);
    expect(r.body.error.details[0].path).toBe('query.period');
  });
});

/**
 * The rollups (runs per runner and day, each principal's last day per model) against rows that change
 * after they were written: status changes into and out of completed/failed, updates that change no count,
 * a multi-row insert and update, and deletes that cascade to the ledger. After every change both routes
 * must still equal the sums recomputed here from the fixture arrays (kept in step with the database).
 */
describe('analytics follow runs and ledger rows that change', () => {
  const PERIODS = ['7d', '30d', '90d'] as const;
  let moverId = '';
  const principalKey = randomUUID();
  const otherKey = randomUUID();
  const moved: RunFx[] = [];

  const expectBothMatch = async () => {
    for (const period of PERIODS) {
      await expectRunnerMatchesFixtures(moverId, 'analytics-moves', period);
      await expectOrgMatchesFixtures(period);
    }
  };
  /** Sets the status in the database (one statement for all ids) and in the fixtures. */
  const setStatus = async (ids: string[], status: string) => {
    const n = await ctx.systemDb.$executeRaw`UPDATE runner_runs SET status = ${status} WHERE id = ANY(${ids}::uuid[])`;
    expect(n).toBe(ids.length);
    for (const r of runs) if (ids.includes(r.id)) r.status = status;
  };
  /** Deletes a run; its ledger and tool rows go with it (ON DELETE CASCADE), in the fixtures too. */
  const deleteRun = async (id: string) => {
    expect(await ctx.systemDb.$executeRaw`DELETE FROM runner_runs WHERE id = ${id}::uuid`).toBe(1);
    runs.splice(
      runs.findIndex((r) => r.id === id),
      1,
    );
    for (const list of [calls, tools] as { runId: string }[][]) {
      for (let i = list.length - 1; i >= 0; i--) if (list[i]?.runId === id) list.splice(i, 1);
    }
  };
  const today = (r: Record<string, unknown>[]) => r.at(-1) as { total_runs: number; completed: number; failed: number };

  beforeAll(async () => {
    moverId = (await ctx.api.post('/api/runners', { name: 'analytics-moves' })).body.id;
    expect(moverId).toBeTruthy();
    // today (twice), the last millisecond of yesterday, and 8 days ago (in 30d, not in 7d)
    const at = [startOfTodayUtc + 5_000, startOfTodayUtc + 6_000, startOfTodayUtc - 1, startOfTodayUtc - 8 * DAY];
    const statuses = ['running', 'pending', 'running', 'completed'];
    at.forEach((t, i) => moved.push({ id: randomUUID(), runnerId: moverId, status: statuses[i] as string, at: t }));
    // One INSERT statement for all four, as a bulk import writes them.
    await ctx.systemDb.$executeRaw`
      INSERT INTO runner_runs (id, org_id, runner_id, status, snapshot, created_at)
      SELECT id, ${ctx.orgA}::uuid, ${moverId}::uuid, status, '{}'::jsonb, at
        FROM unnest(${moved.map((r) => r.id)}::uuid[], ${moved.map((r) => r.status)}::text[],
                    ${moved.map((r) => new Date(r.at).toISOString())}::timestamptz[]) AS t(id, status, at)`;
    runs.push(...moved);
    // Two principals seen only in this runner, on a model of their own (o4-mini): `principalKey` today
    // (run 0) and 8 days ago (run 3), `otherKey` today (run 1); `principalKey` also yesterday on gpt-5.4.
    const call = (run: RunFx, model: string, apiKeyId: string, n: number): CallFx => ({
      runId: run.id,
      runnerId: moverId,
      model,
      inputTokens: 7 * n,
      outputTokens: 3 * n,
      cost: (0.00000123 * n).toFixed(8),
      apiKeyId,
      trigger: null,
      agentId: n % 2 ? agentA : null,
      at: run.at,
    });
    const [r0, r1, r2, r3] = moved as [RunFx, RunFx, RunFx, RunFx];
    const mc = [
      call(r0, 'o4-mini', principalKey, 1),
      call(r3, 'o4-mini', principalKey, 2),
      call(r1, 'o4-mini', otherKey, 3),
      call(r2, 'gpt-5.4', principalKey, 4),
    ];
    const tc: ToolFx[] = [{ runId: r0.id, runnerId: moverId, tool: 'plan', isError: false, at: r0.at }];
    await insertAll(ctx.orgA, [], mc, tc);
    calls.push(...mc);
    tools.push(...tc);
  });

  it('counts runs written in one statement', async () => {
    await expectBothMatch();
    const r = await ctx.api.get(`/api/runners/${moverId}/analytics?period=7d`);
    expect(today(r.body.daily)).toEqual(expect.objectContaining({ total_runs: 2, completed: 0, failed: 0 }));
  });

  it('moves a run between the counts when its status changes, and only then', async () => {
    const [a, b, c, d] = moved.map((r) => r.id) as [string, string, string, string];
    await setStatus([a], 'completed'); // running → completed
    let r = await ctx.api.get(`/api/runners/${moverId}/analytics?period=7d`);
    expect(today(r.body.daily)).toEqual(expect.objectContaining({ total_runs: 2, completed: 1, failed: 0 }));
    await setStatus([b], 'running'); // pending → running: no count changes
    await setStatus([a], 'failed'); // completed → failed: out of one count, into the other
    r = await ctx.api.get(`/api/runners/${moverId}/analytics?period=7d`);
    expect(today(r.body.daily)).toEqual(expect.objectContaining({ total_runs: 2, completed: 0, failed: 1 }));
    await setStatus([b, c, d], 'completed'); // one statement, three days (d was completed already)
    await ctx.systemDb.$executeRaw`UPDATE runner_runs SET current_step = 1 WHERE id = ${a}::uuid`; // not a count
    r = await ctx.api.get(`/api/runners/${moverId}/analytics?period=7d`);
    expect(today(r.body.daily)).toEqual(expect.objectContaining({ total_runs: 2, completed: 1, failed: 1 }));
    expect(r.body.daily.at(-2)).toEqual(expect.objectContaining({ total_runs: 1, completed: 1, failed: 0 }));
    await setStatus([a], 'paused_budget'); // failed → paused: out of failed
    // A run whose creation time changes day moves its counts to the other day.
    const twoDaysAgo = startOfTodayUtc - 2 * DAY + 1;
    await ctx.systemDb.$executeRaw`UPDATE runner_runs SET created_at = ${new Date(twoDaysAgo)} WHERE id = ${c}::uuid`;
    (runs.find((x) => x.id === c) as RunFx).at = twoDaysAgo;
    r = await ctx.api.get(`/api/runners/${moverId}/analytics?period=7d`);
    expect(r.body.daily.at(-2)).toEqual(expect.objectContaining({ total_runs: 0, completed: 0 }));
    expect(r.body.daily.at(-3)).toEqual(expect.objectContaining({ total_runs: 1, completed: 1 }));
    await expectBothMatch();
  });

  it('forgets deleted runs, their costs, and a principal whose last calls went with them', async () => {
    const usersOf = async (period: string) =>
      (
        (await ctx.api.get(`/api/analytics?period=${period}`)).body.by_model as {
          model: string;
          unique_users: number;
        }[]
      ).find((m) => m.model === 'o4-mini')?.unique_users;
    const [r0, , , r3] = moved as [RunFx, RunFx, RunFx, RunFx];
    expect(await usersOf('7d')).toBe(2);
    await deleteRun(r0.id); // principalKey's o4-mini call today: its last day walks back 8 days
    expect(await usersOf('7d')).toBe(1);
    expect(await usersOf('30d')).toBe(2);
    await expectBothMatch();
    await deleteRun(r3.id); // its only other o4-mini call: no last day left
    expect(await usersOf('30d')).toBe(1);
    expect(await usersOf('90d')).toBe(1);
    await expectBothMatch();
    const r = await ctx.api.get(`/api/runners/${moverId}/analytics?period=30d`);
    expect(r.body.summary).toEqual(expect.objectContaining({ total_runs: 2 }));
  });
});
