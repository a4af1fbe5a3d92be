/**
 * Analytics latency: seeds one org with BENCH_RUNS runs (default 100,000) over 90 days across 20 runners,
 * BENCH_CALLS ledger rows (default 500,000: 5 model calls per run, 6 models, 50 principals, 10 agents)
 * and BENCH_TOOL_CALLS tool calls (default 200,000), all in the same org (the worst case for the org
 * query), then times `GET /api/runners/:id/analytics` and `GET /api/analytics` for 7d/30d/90d through
 * the real app (Express, auth, RLS transaction, SQL) over loopback HTTP. Prints a table and a JSON line.
 *
 * Env: DATABASE_URL (a server to create a scratch database on; else an embedded PostgreSQL),
 * BENCH_ITERATIONS (default 30 per case). Needs no Temporal: the analytics routes never call it.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { createApp } from '../api/app';
import { createLogger } from '../src/config/logger';
import { createDb } from '../src/db/client';
import { applyMigrations, dropDatabase, ensureDatabase } from '../src/db/migrate';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { createApiKey, createKeyResolver } from '../src/services/api-keys';

const RUNS = Number(process.env.BENCH_RUNS ?? 100_000);
const CALLS = Number(process.env.BENCH_CALLS ?? 500_000);
const TOOL_CALLS = Number(process.env.BENCH_TOOL_CALLS ?? 200_000);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 30);
const RUNNERS = 20;

const out = (s: string) => process.stdout.write(s + '\n');
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

/**
 * Seeds as the database owner on its own connection, like a migration: bulk rows for one org, then
 * VACUUM ANALYZE, which only the owner may run (the app's pool acts as flapjack_app, docs/tenancy.md).
 */
export async function seedAnalytics(
  db: Pick<PgClient, 'query'>,
  orgId: string,
  n: { runs: number; calls: number; toolCalls: number },
): Promise<string[]> {
  const runnerIds = Array.from({ length: RUNNERS }, () => randomUUID());
  const agentIds = Array.from({ length: 10 }, () => randomUUID());
  const keyIds = Array.from({ length: 50 }, () => randomUUID());
  const cronId = randomUUID();
  await db.query(
    `INSERT INTO runners (id, org_id, name) SELECT id::uuid, '${orgId}', 'bench-runner-' || ord
       FROM unnest(ARRAY['${runnerIds.join("','")}']) WITH ORDINALITY AS t(id, ord)`,
  );
  await db.query(
    `INSERT INTO agents (id, org_id, name) SELECT id::uuid, '${orgId}', 'bench-agent-' || ord
       FROM unnest(ARRAY['${agentIds.join("','")}']) WITH ORDINALITY AS t(id, ord)`,
  );
  // Runs spread evenly over the last 90 days; 80% completed, 15% failed, the rest cancelled.
  await db.query(`
    INSERT INTO runner_runs (id, org_id, runner_id, status, snapshot, created_at)
    SELECT gen_random_uuid(), '${orgId}', (ARRAY['${runnerIds.join("','")}']::uuid[])[1 + i % ${RUNNERS}],
           CASE WHEN i % 20 < 16 THEN 'completed' WHEN i % 20 < 19 THEN 'failed' ELSE 'cancelled' END,
           '{}'::jsonb, now() - (i::double precision / ${n.runs}) * interval '90 days'
      FROM generate_series(0, ${n.runs - 1}) AS i`);
  const perRun = Math.max(1, Math.round(n.calls / n.runs));
  await db.query(`
    INSERT INTO model_calls (id, org_id, runner_id, run_id, step_name, call_key, provider, model, input_tokens,
                             output_tokens, cost_usd, api_key_id, trigger_kind, trigger_id, agent_id, created_at)
    SELECT gen_random_uuid(), r.org_id, r.runner_id, r.id, 'step' || (k % 3), r.id || ':' || k,
           CASE WHEN k % 2 = 0 THEN 'openai' ELSE 'anthropic' END,
           (ARRAY['gpt-5.4','claude-sonnet-4-6','gpt-5.4-mini','claude-haiku-4-5','o4-mini','llama3.1:8b'])[1 + (hashint4((k + ord)::int) & 1023) % 6],
           500 + (ord * 7 + k) % 3000, 50 + (ord * 13 + k) % 800,
           round(((ord * 31 + k) % 1000)::numeric / 100000, 8),
           CASE WHEN (ord + k) % 10 = 0 THEN NULL ELSE (ARRAY['${keyIds.join("','")}']::uuid[])[1 + (ord + k) % 50] END,
           CASE WHEN (ord + k) % 10 = 0 THEN 'cron' END, CASE WHEN (ord + k) % 10 = 0 THEN '${cronId}'::uuid END,
           (ARRAY['${agentIds.join("','")}']::uuid[])[1 + (ord + k) % 11],
           r.created_at + k * interval '2 seconds'
      FROM (SELECT id, org_id, runner_id, created_at, row_number() OVER () AS ord FROM runner_runs WHERE org_id = '${orgId}') r,
           generate_series(0, ${perRun - 1}) AS k`);
  const toolsPerRun = Math.max(1, Math.round(n.toolCalls / n.runs));
  await db.query(`
    INSERT INTO tool_calls (org_id, runner_id, run_id, step_name, call_key, tool_name, is_error, created_at)
    SELECT r.org_id, r.runner_id, r.id, 'step0', r.id || ':t' || k,
           (ARRAY['github.list_prs','search_knowledge','sql.query','http.get_weather','web_search','plan'])[1 + (ord + k) % 6],
           (ord + k) % 17 = 0, r.created_at + k * interval '3 seconds'
      FROM (SELECT id, org_id, runner_id, created_at, row_number() OVER () AS ord FROM runner_runs WHERE org_id = '${orgId}') r,
           generate_series(0, ${toolsPerRun - 1}) AS k`);
  // What autovacuum would have done by the time such a history exists (statistics, visibility map),
  // for the base tables and the rollups the triggers filled while seeding.
  for (const t of [
    'runner_runs',
    'model_calls',
    'tool_calls',
    'run_counts_daily',
    'model_usage_daily',
    'model_usage_daily_principal',
    'model_usage_principal_last_day',
    'model_usage_daily_agent',
    'tool_usage_daily',
  ]) {
    await db.query(`VACUUM ANALYZE ${t}`);
  }
  return runnerIds;
}

async function main(): Promise<void> {
  const log = (m: string) => process.stderr.write(`[bench:analytics] ${m}\n`);
  let baseUrl = process.env.DATABASE_URL;
  let stopPg: (() => Promise<void>) | undefined;
  let scratch: string | undefined;
  if (!baseUrl) {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'fj-bench-pg-'));
    const pg = await startEmbeddedPostgres({ dataDir: path.join(scratch, 'data'), port: 0, log });
    baseUrl = pg.url;
    stopPg = () => pg.stop();
  }
  const url = new URL(baseUrl);
  url.pathname = `/flapjack_bench_analytics_${Date.now()}`;
  const databaseUrl = url.toString();
  await ensureDatabase(databaseUrl);
  await applyMigrations(databaseUrl);
  const db = createDb(databaseUrl, { poolSize: 4 });
  const { key, orgId } = await createApiKey(db, `bench-${randomUUID()}`);
  const t0 = Date.now();
  const owner = new PgClient({ connectionString: databaseUrl });
  await owner.connect();
  const runnerIds = await seedAnalytics(owner, orgId, { runs: RUNS, calls: CALLS, toolCalls: TOOL_CALLS });
  const counts = await owner.query<{ runs: string; calls: string; tools: string }>(
    'SELECT (SELECT count(*) FROM runner_runs) AS runs, (SELECT count(*) FROM model_calls) AS calls, (SELECT count(*) FROM tool_calls) AS tools',
  );
  await owner.end();
  log(
    `seeded ${JSON.stringify(counts.rows[0], (_k, v: unknown) => (typeof v === 'string' ? Number(v) : v))} in ${Date.now() - t0} ms`,
  );

  // The app needs a Temporal client object for its deps; the analytics routes never use it.
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const app = createApp({
    services: { db, log: createLogger('silent'), temporal: { client, taskQueue: 'unused', namespace: 'default' } },
    resolveApiKey: createKeyResolver(db),
    rateLimit: { ratePerSec: 1e6, burst: 1e6 },
  });
  const server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const get = async (p: string) => {
    const r = await fetch(base + p, { headers: { Authorization: `Bearer ${key}` } });
    if (r.status !== 200) throw new Error(`${p} answered ${r.status}: ${await r.text()}`);
    return r.json();
  };

  const rows: { route: string; period: string; p50: number; p95: number; p99: number; mean: number }[] = [];
  for (const period of ['7d', '30d', '90d']) {
    for (const [route, p] of [
      ['runner', `/api/runners/${runnerIds[0]}/analytics?period=${period}`],
      ['org', `/api/analytics?period=${period}`],
    ] as const) {
      for (let i = 0; i < 3; i++) await get(p); // warm-up
      const times: number[] = [];
      for (let i = 0; i < ITERATIONS; i++) {
        const t = process.hrtime.bigint();
        await get(p);
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      times.sort((a, b) => a - b);
      rows.push({
        route,
        period,
        p50: pct(times, 50),
        p95: pct(times, 95),
        p99: pct(times, 99),
        mean: times.reduce((a, b) => a + b, 0) / times.length,
      });
    }
  }
  const sample = (await get(`/api/analytics?period=90d`)) as { summary: unknown };
  log(`org 90d summary: ${JSON.stringify(sample.summary)}`);

  out('');
  out(
    `Analytics latency over HTTP (${RUNS} runs, ${CALLS} model calls, ${TOOL_CALLS} tool calls in one org; ${ITERATIONS} requests each)`,
  );
  out(
    `(load average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${os.cpus().length} CPUs)`,
  );
  out('| route | period | p50 ms | p95 ms | p99 ms | mean ms |');
  out('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const route = r.route === 'runner' ? 'GET /api/runners/:id/analytics' : 'GET /api/analytics';
    out(
      `| ${route} | ${r.period} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.mean.toFixed(1)} |`,
    );
  }
  out(
    JSON.stringify({
      bench: 'analytics',
      runs: RUNS,
      modelCalls: CALLS,
      toolCalls: TOOL_CALLS,
      iterations: ITERATIONS,
      results: rows,
    }),
  );

  server.close();
  await db.$disconnect();
  if (process.env.BENCH_KEEP_DB) {
    log(`kept database ${databaseUrl} (org ${orgId}, runner ${runnerIds[0]})`);
  } else {
    await dropDatabase(databaseUrl).catch(() => undefined);
  }
  if (stopPg) await stopPg();
  if (scratch) await rm(scratch, { recursive: true, force: true });
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
