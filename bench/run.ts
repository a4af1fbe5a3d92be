/**
 * `npm run bench`: the engine's overhead over bare Temporal, on this machine, in one run.
 *
 * For a 3-step runner (webhook → condition → computer) it measures end-to-end latency of single runs on
 * an idle stack (POST /api/runners/:id/runs over HTTP until the workflow has finished and recorded its
 * result) and sustained throughput with 50 concurrent runs; beside each, the same figure for a bare
 * Temporal workflow running 3 no-op activities on the same server and in the same process, measured in
 * alternating rounds (BENCH_ROUNDS, default 8) so that neither side always runs second. Prints a
 * table and a JSON line. Env: BENCH_LATENCY_RUNS (default 100), BENCH_THROUGHPUT_RUNS (default 500),
 * BENCH_CONCURRENCY (default 50), DATABASE_URL (else an embedded PostgreSQL), TEMPORAL_ADDRESS (else a
 * dev server with a file database, as `npm start` runs it).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { createApp } from '../api/app';
import { createRunWorker, installTemporalRuntime, WORKFLOWS_PATH } from '../src/bin/worker-runtime';
import { createLogger } from '../src/config/logger';
import { createDb } from '../src/db/client';
import { applyMigrations, ensureDatabase } from '../src/db/migrate';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { resolveTemporalBinary } from '../src/dev/temporal-binary';
import { startTemporalDevServer } from '../src/dev/temporal-server';
import { createApiKey, createKeyResolver } from '../src/services/api-keys';

const LATENCY_RUNS = Number(process.env.BENCH_LATENCY_RUNS ?? 100);
const THROUGHPUT_RUNS = Number(process.env.BENCH_THROUGHPUT_RUNS ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const WARMUP = 10;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);

const out = (s: string) => process.stdout.write(s + '\n');
const quietLogger = new DefaultLogger('ERROR');

function pct(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

async function timeSequentialRaw(n: number, one: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await one();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return times;
}

async function timeSequential(n: number, one: () => Promise<void>) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await one();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: pct(times, 50), p99: pct(times, 99), mean: times.reduce((a, b) => a + b, 0) / times.length };
}

async function timeConcurrent(total: number, concurrency: number, one: () => Promise<void>) {
  let next = 0;
  const t = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        await one();
      }
    }),
  );
  return total / ((Date.now() - t) / 1000);
}

async function main(): Promise<void> {
  const log = createLogger('error', 'bench');
  installTemporalRuntime(log, 'ERROR');
  const cleanups: (() => Promise<void>)[] = [];
  try {
    // --- the stack ---
    let pgUrl = process.env.DATABASE_URL;
    if (!pgUrl) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'fj-bench-pg-'));
      await chmod(dir, 0o755);
      const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), port: 0 });
      cleanups.push(async () => {
        await pg.stop();
        await rm(dir, { recursive: true, force: true });
      });
      pgUrl = pg.url;
    }
    const dbUrl = new URL(pgUrl);
    dbUrl.pathname = `/flapjack_bench_${Date.now()}`;
    await ensureDatabase(dbUrl.toString());
    await applyMigrations(dbUrl.toString());

    let address = process.env.TEMPORAL_ADDRESS;
    let namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
    if (!address) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'fj-bench-temporal-'));
      const inMemory = process.env.BENCH_TEMPORAL_DB === 'memory';
      const server = await startTemporalDevServer({
        binary: await resolveTemporalBinary(),
        dataDir: inMemory ? undefined : dir,
        port: 0,
        uiPort: false,
      });
      cleanups.push(async () => {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      });
      address = server.address;
      namespace = server.namespace;
    }

    const hook: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"items":[1,2,3]}'));
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => hook.close(() => r())));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;

    const db = createDb(dbUrl.toString(), { poolSize: 30 });
    cleanups.push(() => db.$disconnect());
    const nativeConnection = await NativeConnection.connect({ address });
    cleanups.push(() => nativeConnection.close());
    const connection = await Connection.connect({ address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace });

    const engineQueue = `bench-engine-${randomUUID()}`;
    const bareQueue = `bench-bare-${randomUUID()}`;
    const [engineBundle, bareBundle] = await Promise.all([
      bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger }),
      bundleWorkflowCode({ workflowsPath: require.resolve('./bare-workflow'), logger: quietLogger }),
    ]);
    const { worker: engineWorker } = await createRunWorker({
      db,
      connection: nativeConnection,
      temporal: { address, namespace, taskQueue: engineQueue },
      egressAllowlist: ['127.0.0.1'],
      workflowBundle: engineBundle,
    });
    const bareWorker = await Worker.create({
      connection: nativeConnection,
      namespace,
      taskQueue: bareQueue,
      workflowBundle: bareBundle,
      activities: { noop: async (i: number) => i },
      maxConcurrentWorkflowTaskExecutions: 100,
      maxConcurrentActivityTaskExecutions: 200,
      maxCachedWorkflows: 1000,
    });
    const engineRunning = engineWorker.run();
    const bareRunning = bareWorker.run();
    cleanups.unshift(async () => {
      engineWorker.shutdown();
      bareWorker.shutdown();
      await Promise.allSettled([engineRunning, bareRunning]);
    });

    // --- the API over real HTTP ---
    const services = { db, log, temporal: { client, taskQueue: engineQueue, namespace } };
    const app = createApp({ services, resolveApiKey: createKeyResolver(db), rateLimit: { ratePerSec: 1e6, burst: 1e6 } });
    const api: Server = createServer(app);
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    cleanups.unshift(() => new Promise<void>((r) => api.close(() => r())));
    const base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    const { key } = await createApiKey(db, `bench-${randomUUID()}`);
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const post = async (p: string, body: unknown) => {
      const r = await fetch(base + p, { method: 'POST', headers, body: JSON.stringify(body) });
      if (r.status >= 300) throw new Error(`${p} → ${r.status} ${await r.text()}`);
      return (await r.json()) as { id: string };
    };
    const runner = await post('/api/runners', { name: 'bench' });
    await post(`/api/runners/${runner.id}/steps`, { name: 'fetch', kind: 'webhook', orderIndex: 0, webhookUrl: hookUrl });
    await post(`/api/runners/${runner.id}/steps`, { name: 'gate', kind: 'condition', orderIndex: 1, conditionExpr: '$.steps.fetch.output.items.length' });
    await post(`/api/runners/${runner.id}/steps`, {
      name: 'sum',
      kind: 'computer',
      orderIndex: 2,
      inputMapping: { items: '$.steps.fetch.output.items' },
      computer: { runtime: 'javascript', code: 'return { total: input.items.reduce((a, b) => a + b, 0) };' },
    });

    const engineRun = async () => {
      const run = await post(`/api/runners/${runner.id}/runs`, { input: { n: 1 } });
      const result = (await client.workflow.getHandle(run.id).result()) as { status: string };
      if (result.status !== 'completed') throw new Error(`run ${run.id} ended ${result.status}`);
    };
    const bareRun = async () => {
      const h = await client.workflow.start('bareWorkflow', { taskQueue: bareQueue, workflowId: randomUUID(), args: [3] });
      await h.result();
    };

    if (process.env.BENCH_PROBE === '1') {
      for (let i = 0; i < 8; i++) {
        const t = Date.now();
        const run = await post(`/api/runners/${runner.id}/runs`, { input: { n: 1 } });
        const t1 = Date.now();
        await client.workflow.getHandle(run.id).result();
        const t2 = Date.now();
        const hist = await client.workflow.getHandle(run.id).fetchHistory();
        const ms = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) =>
          Number(e.eventTime?.seconds) * 1000 + Number(e.eventTime?.nanos) / 1e6;
        const t0 = ms(hist.events![0]!);
        out(`post=${t1 - t}ms result=${t2 - t1}ms ` + (hist.events ?? []).map((e) => `${e.eventType}:${Math.round(ms(e) - t0)}`).join(' '));
      }
    }
    out(
      `bench: ${LATENCY_RUNS} sequential runs and ${THROUGHPUT_RUNS} runs at concurrency ${CONCURRENCY} per side, ` +
        `in ${ROUNDS} alternating rounds; ${os.cpus().length} cores, node ${process.version}`,
    );
    if (process.env.BENCH_ONLY === 'engine-throughput') {
      await timeSequential(WARMUP, engineRun);
      out(`engine throughput @${CONCURRENCY}: ${(await timeConcurrent(THROUGHPUT_RUNS, CONCURRENCY, engineRun)).toFixed(1)} runs/s`);
      return;
    }
    await timeSequential(WARMUP, engineRun);
    await timeSequential(WARMUP, bareRun);
    // Alternate which side goes first in each round, so neither always runs on a fuller server.
    const lat: Record<'engine' | 'bare', number[]> = { engine: [], bare: [] };
    const tput: Record<'engine' | 'bare', number[]> = { engine: [], bare: [] };
    const runs = { engine: engineRun, bare: bareRun };
    for (let round = 0; round < ROUNDS; round++) {
      const order: ('engine' | 'bare')[] = round % 2 === 0 ? ['bare', 'engine'] : ['engine', 'bare'];
      for (const side of order) lat[side].push(...(await timeSequentialRaw(Math.ceil(LATENCY_RUNS / ROUNDS), runs[side])));
      for (const side of order) {
        tput[side].push(await timeConcurrent(Math.ceil(THROUGHPUT_RUNS / ROUNDS), CONCURRENCY, runs[side]));
      }
    }
    const summarize = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return { p50: pct(sorted, 50), p99: pct(sorted, 99), mean: xs.reduce((a, b) => a + b, 0) / xs.length };
    };
    const engLat = summarize(lat.engine);
    const bareLat = summarize(lat.bare);
    const engTput = tput.engine.reduce((a, b) => a + b, 0) / ROUNDS;
    const bareTput = tput.bare.reduce((a, b) => a + b, 0) / ROUNDS;
    out(`throughput per round (runs/s): engine ${tput.engine.map((x) => x.toFixed(1)).join(', ')}; bare ${tput.bare.map((x) => x.toFixed(1)).join(', ')}`);

    const f = (n: number) => n.toFixed(1).padStart(8);
    out('');
    out('metric                         engine      bare   ratio (engine/bare; runs/s: bare/engine)');
    out(`latency p50 (ms)             ${f(engLat.p50)}  ${f(bareLat.p50)}   ${(engLat.p50 / bareLat.p50).toFixed(2)}x`);
    out(`latency p99 (ms)             ${f(engLat.p99)}  ${f(bareLat.p99)}   ${(engLat.p99 / bareLat.p99).toFixed(2)}x`);
    out(`throughput @${CONCURRENCY} (runs/s)     ${f(engTput)}  ${f(bareTput)}   ${(bareTput / engTput).toFixed(2)}x`);
    out('');
    out(
      'BENCH_JSON ' +
        JSON.stringify({
          latencyMs: { engine: engLat, bare: bareLat },
          throughputRunsPerSec: { engine: engTput, bare: bareTput, concurrency: CONCURRENCY },
          ratios: {
            latencyP50: engLat.p50 / bareLat.p50,
            latencyP99: engLat.p99 / bareLat.p99,
            throughput: bareTput / engTput,
          },
        }),
    );
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
