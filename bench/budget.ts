/**
 * Worker memory with many runs paused on their budget at once, then all of them resumed.
 *
 * One runner with a single agent step (gpt-5.4, priced) and a budget far below one call's worst case
 * (`onExceed: pause`), so every run pauses before its first model call. BENCH_PAUSED runs (default
 * 2,000) are started through the API in waves of BENCH_WAVE (default 500); after each wave, once every
 * run of it is `paused_budget`, the worker's memory is sampled. The worker is a child process running
 * `src/bin/worker.ts`, the production entry point with its production settings; it logs `worker stats`
 * (RSS, main-thread heap, cached workflow count: src/bin/worker-stats.ts) every 500 ms, and the bench
 * keeps the latest. Then every run is resumed with enough budget (a Temporal Update each) and completes
 * against a scripted OpenAI-compatible server; the resume phase is timed and memory sampled again.
 *
 * Env: DATABASE_URL (server for a scratch database; else an embedded PostgreSQL), TEMPORAL_ADDRESS
 * (else a dev server), BENCH_PAUSED, BENCH_WAVE, BENCH_CONCURRENCY (default 20), BENCH_MAX_CACHED (the
 * worker's FLAPJACK_WORKER_MAX_CACHED_WORKFLOWS; default: the production default, 1000).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import request from 'supertest';
import { createApp } from '../api/app';
import { createLogger } from '../src/config/logger';
import { withOrg } from '../src/db/scoped';
import { generateSecretKey } from '../src/crypto/secret-box';
import { createDb } from '../src/db/client';
import { REPO_ROOT } from '../src/dev/temporal-server';
import { createApiKey, createKeyResolver } from '../src/services/api-keys';
import { startFakeOpenAI } from '../test/fixtures/fake-openai';
import { type Cleanups, startBenchDatabase, startBenchTemporal } from './stack';

const PAUSED = Number(process.env.BENCH_PAUSED ?? 2_000);
const WAVE = Number(process.env.BENCH_WAVE ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const out = (s: string) => process.stdout.write(s + '\n');
const log = (m: string) => process.stderr.write(`[bench:budget] ${m}\n`);

interface WorkerStats {
  rssMb: number;
  heapUsedMb: number;
  cachedWorkflows: number;
}

/** Follows the worker's `worker stats` log lines (pino JSON on stdout); `latest()` is the newest one. */
function followStats(worker: ChildProcess): { latest(): WorkerStats | undefined; next(): Promise<WorkerStats> } {
  let latest: WorkerStats | undefined;
  let waiters: ((s: WorkerStats) => void)[] = [];
  let buf = '';
  worker.stdout?.setEncoding('utf8');
  worker.stdout?.on('data', (chunk: string) => {
    buf += chunk;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"worker stats"')) continue;
      const s = JSON.parse(line) as WorkerStats;
      latest = { rssMb: s.rssMb, heapUsedMb: s.heapUsedMb, cachedWorkflows: s.cachedWorkflows };
      for (const w of waiters) w(latest);
      waiters = [];
    }
  });
  return { latest: () => latest, next: () => new Promise((r) => waiters.push(r)) };
}

/**
 * Runs `fn` over `items`, `n` at a time. On the first failure no new item starts, and the error is thrown
 * only once every call in flight has settled (so the cleanup never closes a connection under them).
 */
async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  let failure: unknown;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (failure === undefined && i < items.length) {
        await fn(items[i++] as T).catch((e: unknown) => {
          failure ??= e;
        });
      }
    }),
  );
  if (failure !== undefined) throw failure;
}

/** A sample once the worker has logged stats taken after `settleMs` from now. */
async function sample(stats: ReturnType<typeof followStats>, settleMs: number): Promise<WorkerStats> {
  await new Promise((r) => setTimeout(r, settleMs));
  return stats.next();
}

async function main(): Promise<void> {
  const cleanups: Cleanups = [];
  try {
    const databaseUrl = await startBenchDatabase('flapjack_bench_budget', cleanups);
    const { address, namespace } = await startBenchTemporal(cleanups, { external: true, memoryFromEnv: true });
    const fake = await startFakeOpenAI();
    cleanups.push(() => fake.close());
    fake.script(null, [{ text: 'done', usage: { inputTokens: 100, outputTokens: 10 } }], { repeat: true });

    const taskQueue = `bench-budget-${Date.now()}`;
    const worker: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'bin', 'worker.ts')], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: namespace,
        TEMPORAL_TASK_QUEUE: taskQueue,
        FLAPJACK_SECRET_KEY: generateSecretKey(),
        FLAPJACK_EGRESS_ALLOWLIST: '127.0.0.1',
        FLAPJACK_WORKER_STATS_INTERVAL_MS: '500',
        ...(process.env.BENCH_MAX_CACHED ? { FLAPJACK_WORKER_MAX_CACHED_WORKFLOWS: process.env.BENCH_MAX_CACHED } : {}),
        OPENAI_API_KEY: 'sk-bench',
        OPENAI_BASE_URL: fake.url,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const stats = followStats(worker);
    cleanups.push(async () => {
      if (worker.exitCode !== null) return;
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      const t = setTimeout(() => worker.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    });

    const db = createDb(databaseUrl, { poolSize: 10 });
    cleanups.push(() => db.$disconnect());
    const connection = await Connection.connect({ address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace });
    const app = createApp({
      services: { db, log: createLogger('silent'), temporal: { client, taskQueue, namespace } },
      resolveApiKey: createKeyResolver(db),
      rateLimit: { ratePerSec: 1e6, burst: 1e6 },
    });
    const { key, orgId } = await createApiKey(db, `bench-${randomUUID()}`);
    const api = {
      post: (p: string, b: unknown) =>
        request(app)
          .post(p)
          .set('Authorization', `Bearer ${key}`)
          .send(b as object),
      put: (p: string, b: unknown) =>
        request(app)
          .put(p)
          .set('Authorization', `Bearer ${key}`)
          .send(b as object),
    };
    const runner = (await api.post('/api/runners', { name: 'bench-budget', defaultModel: 'gpt-5.4' })).body
      .id as string;
    const step = await api.post(`/api/runners/${runner}/steps`, {
      name: 'think',
      kind: 'agent',
      orderIndex: 0,
      preambleOverride: 'Answer briefly.',
    });
    if (step.status !== 201) throw new Error(`step: ${step.status} ${JSON.stringify(step.body)}`);
    await api.put(`/api/runners/${runner}/budget`, { enabled: true, budgetUsd: 0.000001, onExceed: 'pause' });

    const count = async (status: string) =>
      Number(
        (
          await withOrg(db, orgId, (tx) =>
            tx.$queryRawUnsafe<{ n: bigint }[]>(
              `SELECT count(*) AS n FROM runner_runs WHERE runner_id = '${runner}' AND status = '${status}'`,
            ),
          )
        )[0]?.n ?? 0,
      );
    const waitCount = async (status: string, n: number) => {
      const deadline = Date.now() + 30 * 60_000;
      while ((await count(status)) < n) {
        if (Date.now() > deadline) throw new Error(`only ${await count(status)} of ${n} runs ${status}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    /** POST with the retries the SDK would make when a busy shared machine makes the pool wait too long. */
    const post = async (p: string, body: unknown, ok: number, okAfterRetry?: number) => {
      let r = await api.post(p, body);
      let retried = false;
      for (let attempt = 1; r.status === 503 && attempt <= 5; attempt++) {
        await new Promise((res) => setTimeout(res, 500 * 2 ** attempt));
        r = await api.post(p, body);
        retried = true;
      }
      // A resume whose answer timed out (503) may still have been applied: then the retry is a 409.
      if (r.status !== ok && !(retried && r.status === okAfterRetry))
        throw new Error(`${p}: ${r.status} ${JSON.stringify(r.body)}`);
      return r;
    };

    // The worker is warm (workflow bundle loaded, polling) once it logs stats; then a few seconds of idle.
    const samples: ({ paused: number | string } & WorkerStats)[] = [{ paused: 0, ...(await sample(stats, 3_000)) }];
    log(`idle worker: ${JSON.stringify(samples[0])}`);
    const runIds: string[] = [];
    const t0 = Date.now();
    while (runIds.length < PAUSED) {
      const wave = Math.min(WAVE, PAUSED - runIds.length);
      await pool(
        Array.from({ length: wave }, (_, i) => i),
        CONCURRENCY,
        async () => {
          const r = await post(`/api/runners/${runner}/runs`, { input: { q: 'hi' } }, 201);
          runIds.push(r.body.id as string);
        },
      );
      await waitCount('paused_budget', runIds.length);
      samples.push({ paused: runIds.length, ...(await sample(stats, 1_000)) });
      log(`${runIds.length} paused: ${JSON.stringify(samples.at(-1))}`);
    }
    const pauseSecs = (Date.now() - t0) / 1000;
    const calledWhilePaused = fake.requests.length;

    const t1 = Date.now();
    await pool(runIds, CONCURRENCY, async (id) => {
      await post(`/api/runners/${runner}/runs/${id}/resume`, { additionalBudgetUsd: 1 }, 200, 409);
    });
    await waitCount('completed', PAUSED);
    const resumeSecs = (Date.now() - t1) / 1000;
    samples.push({ paused: 'after resuming all (completed)', ...(await sample(stats, 3_000)) });

    out('');
    out(
      `Worker memory with runs paused on their budget (${PAUSED} runs, waves of ${WAVE}; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')})`,
    );
    out('| runs paused | worker RSS (MB) | main-thread heap used (MB) | workflows in the worker cache |');
    out('| ---: | ---: | ---: | ---: |');
    for (const s of samples)
      out(`| ${s.paused} | ${s.rssMb.toFixed(0)} | ${s.heapUsedMb.toFixed(0)} | ${s.cachedWorkflows} |`);
    out('');
    out(
      `paused ${PAUSED} runs in ${pauseSecs.toFixed(1)} s (model calls made while pausing: ${calledWhilePaused}); ` +
        `resumed and completed all in ${resumeSecs.toFixed(1)} s (model calls: ${fake.requests.length - calledWhilePaused})`,
    );
    out(
      JSON.stringify({
        bench: 'budget-pause-memory',
        paused: PAUSED,
        wave: WAVE,
        samples,
        pauseSeconds: pauseSecs,
        resumeSeconds: resumeSecs,
        modelCallsWhilePaused: calledWhilePaused,
        modelCallsAfterResume: fake.requests.length - calledWhilePaused,
      }),
    );
  } finally {
    for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
