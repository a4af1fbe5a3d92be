/**
 * The engine bench (`npx tsx bench/engine.ts`; `bench/run.ts` runs it too): a 3-step run (webhook →
 * condition → computer) through the REST API, against the same pipeline written by hand in Temporal's
 * fastest shape (bench/baseline-workflow.ts: local activities, eager start), on the same Temporal dev
 * server with the same settings, in the same run, in alternating rounds. Method: docs/BENCHMARKS.md.
 *
 * Processes: this one generates the load (and serves the webhook); the engine runs as the real entry
 * point (`src/bin/server.ts`, FLAPJACK_ROLES=api,worker); the baseline in bench/baseline-process.ts;
 * Temporal's dev server and PostgreSQL in their own. CPU per run is read from /proc for each.
 *
 * Env: BENCH_LATENCY_RUNS (sequential runs per side, default 200), BENCH_THROUGHPUT_RUNS (runs per
 * side per concurrency level, default 600, at least 3× the level per round), BENCH_CONCURRENCY
 * (default 10,50,200), BENCH_ROUNDS (default 4), BENCH_SPLIT=0 (skip the API/worker split phase),
 * BENCH_CPU_PROF=<dir> (write --cpu-prof profiles of the engine and baseline processes there),
 * BENCH_PLOT (SVG path, default docs/benchmarks/engine-vs-temporal.svg), DATABASE_URL (else an
 * embedded PostgreSQL), BENCH_TEMPORAL_DB=memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createDb } from '../src/db/client';
import { findFreePort } from '../src/dev/process';
import { REPO_ROOT } from '../src/dev/temporal-server';
import { createApiKey } from '../src/services/api-keys';
import { generateSecretKey } from '../src/crypto/secret-box';
import type { RunWorkflow } from '../src/shared/workflow-defs';
import {
  plotSvg,
  postgresCpuMs,
  processCpuMs,
  runClosedLoop,
  summarize,
  type BenchMessage,
  type BenchReply,
  type LatencySummary,
} from './load';
import { startBenchDatabase, startBenchTemporal } from './stack';

const LATENCY_RUNS = Number(process.env.BENCH_LATENCY_RUNS ?? 200);
const THROUGHPUT_RUNS = Number(process.env.BENCH_THROUGHPUT_RUNS ?? 600);
const LEVELS = (process.env.BENCH_CONCURRENCY ?? '10,50,200')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const WARMUP = 30;
const SPLIT = process.env.BENCH_SPLIT !== '0';
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
const PLOT = process.env.BENCH_PLOT ?? path.join(REPO_ROOT, 'docs', 'benchmarks', 'engine-vs-temporal.svg');

const out = (s: string) => process.stdout.write(s + '\n');

type Side = 'engine' | 'baseline';
/** One batch of runs: per-run latencies, wall time, CPU ms used by each process meanwhile. */
interface Batch {
  latencies: number[];
  elapsedMs: number;
  cpuMs: Record<string, number>;
}

/** Starts `node --import tsx <script>` (no tsx relay process, so the pid is the program's). */
function spawnNode(name: string, script: string, env: NodeJS.ProcessEnv, ipc = false): ChildProcess {
  // One directory per process, Node's default file names: every thread (main, tsx's loader, the SDK's
  // workflow threads) writes its own profile; with a fixed --cpu-prof-name they overwrote each other.
  const prof = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.join(CPU_PROF_DIR, name)}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'inherit', 'inherit'],
  });
  child.once('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`bench: ${name} exited early (${signal ?? code})\n`);
      process.exit(1);
    }
  });
  return child;
}
let stopping = false;

async function stopChild(child: ChildProcess, how: () => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  how();
  const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(t);
}

async function waitHealthy(base: string): Promise<void> {
  // Generous: on a loaded machine tsx compiling the entry point and bundling the workflows takes minutes.
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${base} did not become healthy`);
}

async function main(): Promise<void> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    if (CPU_PROF_DIR) await mkdir(CPU_PROF_DIR, { recursive: true });
    // --- PostgreSQL and Temporal ---
    const databaseUrl = await startBenchDatabase('flapjack_bench', cleanups);

    const server = await startBenchTemporal(cleanups, { external: false, memoryFromEnv: true });

    // --- the webhook both sides call, in this process ---
    const hook: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"items":[1,2,3]}'));
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => hook.close(() => r())));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;

    // --- the engine: the real entry point, API and worker in one process ---
    const secretKey = generateSecretKey();
    const engineEnv = (roles: string, port: number, taskQueue: string): NodeJS.ProcessEnv => ({
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      PORT: String(port),
      FLAPJACK_ROLES: roles,
      FLAPJACK_EGRESS_ALLOWLIST: '127.0.0.1',
      FLAPJACK_SECRET_KEY: secretKey,
      FLAPJACK_RATE_LIMIT_PER_SEC: '1000000',
      FLAPJACK_RATE_LIMIT_BURST: '1000000',
      LOG_LEVEL: 'warn',
    });
    const enginePort = await findFreePort();
    const engine = spawnNode(
      'engine',
      'src/bin/server.ts',
      engineEnv('api,worker', enginePort, `bench-engine-${randomUUID()}`),
    );
    cleanups.unshift(() => stopChild(engine, () => engine.kill('SIGTERM')));

    // --- the baseline ---
    const baseline = spawnNode(
      'baseline',
      'bench/baseline-process.ts',
      {
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_NAMESPACE: server.namespace,
        BENCH_TASK_QUEUE: `bench-baseline-${randomUUID()}`,
        BENCH_HOOK_URL: hookUrl,
      },
      true,
    );
    cleanups.unshift(() => stopChild(baseline, () => baseline.send({ kind: 'stop' } satisfies BenchMessage)));
    const baselineReplies: ((m: BenchReply) => void)[] = [];
    baseline.on('message', (m: BenchReply) => baselineReplies.shift()?.(m));
    const nextReply = () => new Promise<BenchReply>((r) => baselineReplies.push(r));
    const baselineReady = nextReply();

    const engineBase = `http://127.0.0.1:${enginePort}`;
    await Promise.all([waitHealthy(engineBase), baselineReady]);

    // --- a runner, created through the API ---
    const db = createDb(databaseUrl, { poolSize: 2 });
    cleanups.push(() => db.$disconnect());
    const { key } = await createApiKey(db, `bench-${randomUUID()}`);
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const post = async (base: string, p: string, body: unknown) => {
      const r = await fetch(base + p, { method: 'POST', headers, body: JSON.stringify(body) });
      if (r.status >= 300) throw new Error(`${p} → ${r.status} ${await r.text()}`);
      return (await r.json()) as { id: string };
    };
    const runner = await post(engineBase, '/api/runners', { name: 'bench' });
    await post(engineBase, `/api/runners/${runner.id}/steps`, {
      name: 'fetch',
      kind: 'webhook',
      orderIndex: 0,
      webhookUrl: hookUrl,
    });
    await post(engineBase, `/api/runners/${runner.id}/steps`, {
      name: 'gate',
      kind: 'condition',
      orderIndex: 1,
      conditionExpr: '$.steps.fetch.output.items.length',
    });
    await post(engineBase, `/api/runners/${runner.id}/steps`, {
      name: 'sum',
      kind: 'computer',
      orderIndex: 2,
      inputMapping: { items: '$.steps.fetch.output.items' },
      computer: { runtime: 'javascript', code: 'return { total: input.items.reduce((a, b) => a + b, 0) };' },
    });

    // Each run's end is the workflow's result, awaited for both sides by the same kind of client: the
    // baseline process waits on its worker's NativeConnection (Rust core), so this process waits for the
    // engine's runs on a NativeConnection too (a grpc-js `Connection` until 2026-11-29; the `bench` CPU
    // column shows that what this process spends per engine run is mostly the HTTP request, not the wait).
    const connection = await NativeConnection.connect({ address: server.address });
    cleanups.unshift(() => connection.close());
    const client = new Client({ connection, namespace: server.namespace });
    const engineRun = (base: string) => async () => {
      const run = await post(base, `/api/runners/${runner.id}/runs`, { input: { n: 1 } });
      const result = await client.workflow.getHandle<RunWorkflow>(run.id).result();
      if (result.status !== 'completed') throw new Error(`run ${run.id} ended ${result.status}`);
    };

    // CPU readers per process; `postgres` sums every postgres process on the machine (see postgresCpuMs).
    const cpuOf = (pid: number | undefined) => () => processCpuMs(pid ?? -1);
    const measure = async (
      pids: Record<string, () => number>,
      go: () => Promise<{ latencies: number[]; elapsedMs: number }>,
    ): Promise<Batch> => {
      const before = Object.fromEntries(Object.entries(pids).map(([k, read]) => [k, read()]));
      const r = await go();
      const cpuMs = Object.fromEntries(Object.entries(pids).map(([k, read]) => [k, read() - (before[k] ?? 0)]));
      return { ...r, cpuMs };
    };
    // `bench`: this process (the webhook both sides call, the engine's HTTP requests, waiting for results).
    const bench = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const enginePids = { 'API+worker': cpuOf(engine.pid), server: cpuOf(server.pid), postgres: postgresCpuMs, bench };
    const baselinePids = {
      'starter+worker': cpuOf(baseline.pid),
      server: cpuOf(server.pid),
      postgres: postgresCpuMs,
      bench,
    };
    const runBatch = async (side: Side, total: number, concurrency: number): Promise<Batch> => {
      if (side === 'engine') return measure(enginePids, () => runClosedLoop(total, concurrency, engineRun(engineBase)));
      return measure(baselinePids, async () => {
        const reply = nextReply();
        baseline.send({ kind: 'run', total, concurrency } satisfies BenchMessage);
        const m = await reply;
        if (m.kind !== 'done') throw new Error(`baseline: ${m.kind === 'error' ? m.message : m.kind}`);
        return m;
      });
    };

    out(
      `bench: ${os.cpus().length} cores, node ${process.version}; per side: ${LATENCY_RUNS} sequential runs, ` +
        `${THROUGHPUT_RUNS}+ runs at each of ${LEVELS.join(', ')} in flight, ${ROUNDS} alternating rounds; load average ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
    );
    await runBatch('engine', WARMUP, 1);
    await runBatch('baseline', WARMUP, 1);
    await runBatch('engine', WARMUP * 2, 10);
    await runBatch('baseline', WARMUP * 2, 10);

    // level 1 = sequential
    const levels = [1, ...LEVELS];
    const batches: Record<Side, Map<number, Batch[]>> = { engine: new Map(), baseline: new Map() };
    for (let round = 0; round < ROUNDS; round++) {
      const order: Side[] = round % 2 === 0 ? ['baseline', 'engine'] : ['engine', 'baseline'];
      for (const level of levels) {
        const n =
          level === 1 ? Math.ceil(LATENCY_RUNS / ROUNDS) : Math.max(Math.ceil(THROUGHPUT_RUNS / ROUNDS), 3 * level);
        for (const side of order) {
          const b = await runBatch(side, n, level);
          const list = batches[side].get(level) ?? [];
          list.push(b);
          batches[side].set(level, list);
        }
      }
      out(`round ${round + 1}/${ROUNDS} done`);
    }

    interface LevelResult {
      level: number;
      latency: LatencySummary;
      runsPerSec: number;
      cpuMsPerRun: Record<string, number>;
    }
    const combine = (bs: Batch[], level: number): LevelResult => {
      const latencies = bs.flatMap((b) => b.latencies);
      const runs = latencies.length;
      const cpu: Record<string, number> = {};
      for (const b of bs) for (const [k, v] of Object.entries(b.cpuMs)) cpu[k] = (cpu[k] ?? 0) + v;
      return {
        level,
        latency: summarize(latencies),
        runsPerSec: runs / (bs.reduce((a, b) => a + b.elapsedMs, 0) / 1000),
        cpuMsPerRun: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / runs])),
      };
    };
    const results: Record<Side, LevelResult[]> = {
      engine: levels.map((l) => combine(batches.engine.get(l) ?? [], l)),
      baseline: levels.map((l) => combine(batches.baseline.get(l) ?? [], l)),
    };

    // --- the roles split: API and worker in two processes (no eager start), for CPU per role ---
    let split: LevelResult[] | undefined;
    if (SPLIT) {
      const apiPort = await findFreePort();
      const queue = `bench-split-${randomUUID()}`;
      const api = spawnNode('split-api', 'src/bin/api.ts', engineEnv('api', apiPort, queue));
      const worker = spawnNode('split-worker', 'src/bin/worker.ts', engineEnv('worker', apiPort, queue));
      cleanups.unshift(
        () => stopChild(api, () => api.kill('SIGTERM')),
        () => stopChild(worker, () => worker.kill('SIGTERM')),
      );
      const base = `http://127.0.0.1:${apiPort}`;
      await waitHealthy(base);
      const pids = {
        API: cpuOf(api.pid),
        worker: cpuOf(worker.pid),
        server: cpuOf(server.pid),
        postgres: postgresCpuMs,
      };
      await runClosedLoop(WARMUP, 1, engineRun(base));
      split = [];
      for (const level of [1, 50]) {
        const n = level === 1 ? Math.ceil(LATENCY_RUNS / 2) : Math.max(Math.ceil(THROUGHPUT_RUNS / 2), 3 * level);
        split.push(combine([await measure(pids, () => runClosedLoop(n, level, engineRun(base)))], level));
      }
    }

    // --- report ---
    const f = (n: number | undefined, w = 9) =>
      (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(1)).padStart(w);
    const at = (side: Side, level: number) => results[side].find((r) => r.level === level);
    out('');
    out('metric                              engine   baseline   engine/baseline');
    const row = (label: string, e: number | undefined, b: number | undefined) =>
      out(
        `${label.padEnd(32)}${f(e)}  ${f(b)}   ${e !== undefined && b !== undefined ? (e / b).toFixed(2) + 'x' : '-'}`,
      );
    row('sequential p50 (ms)', at('engine', 1)?.latency.p50, at('baseline', 1)?.latency.p50);
    row('sequential p99 (ms)', at('engine', 1)?.latency.p99, at('baseline', 1)?.latency.p99);
    for (const l of LEVELS) {
      row(`runs/s @${l} in flight`, at('engine', l)?.runsPerSec, at('baseline', l)?.runsPerSec);
      row(`  p50 @${l} (ms)`, at('engine', l)?.latency.p50, at('baseline', l)?.latency.p50);
      row(`  p99 @${l} (ms)`, at('engine', l)?.latency.p99, at('baseline', l)?.latency.p99);
    }
    out('');
    out('CPU ms per run (user+sys, all threads, from /proc)');
    for (const side of ['engine', 'baseline'] as const) {
      for (const r of results[side]) {
        const parts = Object.entries(r.cpuMsPerRun).map(([k, v]) => `${k} ${v.toFixed(2)}`);
        out(`  ${side.padEnd(8)} @${String(r.level).padEnd(4)} ${parts.join(', ')}`);
      }
    }
    if (split) {
      out('roles split (API and worker in two processes, no eager start):');
      for (const r of split) {
        out(
          `  @${String(r.level).padEnd(4)} p50 ${r.latency.p50.toFixed(1)} ms, p99 ${r.latency.p99.toFixed(1)} ms, ${r.runsPerSec.toFixed(1)} runs/s; CPU ms/run ` +
            Object.entries(r.cpuMsPerRun)
              .map(([k, v]) => `${k} ${v.toFixed(2)}`)
              .join(', '),
        );
      }
    }
    const e1 = at('engine', 1);
    const b1 = at('baseline', 1);
    const e50 = at('engine', 50);
    const b50 = at('baseline', 50);
    const targets =
      e1 && b1 && e50 && b50
        ? {
            seqP50Ratio: e1.latency.p50 / b1.latency.p50,
            seqP50Target: 1.25,
            runsPerSec50Ratio: e50.runsPerSec / b50.runsPerSec,
            runsPerSec50Target: 0.9,
            p99At50Engine: e50.latency.p99,
            p99At50Baseline: b50.latency.p99,
          }
        : undefined;
    if (targets) {
      out('');
      out(
        `targets: sequential p50 ${targets.seqP50Ratio.toFixed(2)}x (≤ 1.25x: ${targets.seqP50Ratio <= 1.25 ? 'met' : 'NOT met'}); ` +
          `runs/s @50 ${targets.runsPerSec50Ratio.toFixed(2)}x (≥ 0.9x: ${targets.runsPerSec50Ratio >= 0.9 ? 'met' : 'NOT met'}); ` +
          `p99 @50 ${targets.p99At50Engine.toFixed(1)} vs ${targets.p99At50Baseline.toFixed(1)} ms (${targets.p99At50Engine <= targets.p99At50Baseline ? 'met' : 'NOT met'})`,
      );
    }
    const toPoints = (rs: LevelResult[]) =>
      rs.map((r) => ({ x: r.level, p50: r.latency.p50, p99: r.latency.p99, runsPerSec: r.runsPerSec }));
    await mkdir(path.dirname(PLOT), { recursive: true });
    await writeFile(
      PLOT,
      plotSvg(`3-step run: Flapjack (REST API) vs hand-written Temporal, ${os.cpus().length} cores`, [
        { name: 'Flapjack engine (REST API → run finished)', color: '#d9480f', points: toPoints(results.engine) },
        {
          name: 'hand-written Temporal (local activities, eager start)',
          color: '#1c7ed6',
          points: toPoints(results.baseline),
        },
      ]),
    );
    out(`plot: ${path.relative(process.cwd(), PLOT)}`);
    if (CPU_PROF_DIR)
      out(
        `CPU profiles: ${CPU_PROF_DIR} (summarize with: npx tsx bench/cpu-profile-summary.ts ${CPU_PROF_DIR}/engine/*.cpuprofile)`,
      );
    out('');
    out('BENCH_JSON ' + JSON.stringify({ suite: 'engine', loadAverage: os.loadavg(), results, split, targets }));
  } finally {
    stopping = true;
    for (const c of cleanups) await c().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    stopping = true;
    process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
