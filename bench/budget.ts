/**
 * Worker memory with many runs paused on their budget at once, then all of them resumed.
 *
 * One runner with a single agent step (gpt-5.4, priced) and a budget far below one call's worst case
 * (`onExceed: pause`), so every run pauses before its first model call. BENCH_PAUSED runs (default
 * 2,000) are started through the API in waves; after each wave, once every run of it is
 * `paused_budget`, the worker's resident memory is sampled from /proc (the worker is a child process:
 * `src/bin/worker.ts`, the production entry point, with its production settings). Then every run is resumed with enough budget (a Temporal Update each) and completes against a
 * scripted OpenAI-compatible server; the resume phase is timed.
 *
 * Env: DATABASE_URL (server for a scratch database; else an embedded PostgreSQL), TEMPORAL_ADDRESS
 * (else an in-memory dev server), BENCH_PAUSED, BENCH_WAVE (default 250), BENCH_CONCURRENCY (default 20).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import request from 'supertest';
import { createApp } from '../api/app';
import { createLogger } from '../src/config/logger';
import { createDb } from '../src/db/client';
import { withOrg } from '../src/db/scoped';
import { applyMigrations, ensureDatabase } from '../src/db/migrate';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { resolveTemporalBinary } from '../src/dev/temporal-binary';
import { REPO_ROOT, startTemporalDevServer } from '../src/dev/temporal-server';
import { createApiKey, createKeyResolver } from '../src/services/api-keys';
import { generateSecretKey } from '../src/crypto/secret-box';
import { startFakeOpenAI } from '../test/fixtures/fake-openai';

const PAUSED = Number(process.env.BENCH_PAUSED ?? 2_000);
const WAVE = Number(process.env.BENCH_WAVE ?? 250);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const out = (s: string) => process.stdout.write(s + '\n');
const log = (m: string) => process.stderr.write(`[bench:budget] ${m}\n`);

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++] as T);
    }),
  );
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'fj-bench-budget-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    let baseUrl = process.env.DATABASE_URL;
    if (!baseUrl) {
      const pg = await startEmbeddedPostgres({ dataDir: path.join(scratch, 'pg'), port: 0, log });
      baseUrl = pg.url;
      stops.push(() => pg.stop());
    }
    const dbUrl = new URL(baseUrl);
    dbUrl.pathname = `/flapjack_bench_budget_${Date.now()}`;
    await ensureDatabase(dbUrl.toString());
    await applyMigrations(dbUrl.toString());
    let address = process.env.TEMPORAL_ADDRESS;
    let namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
    if (!address) {
      const t = await startTemporalDevServer({ binary: await resolveTemporalBinary({ log }), port: 0, uiPort: false, log });
      address = t.address;
      namespace = t.namespace;
      stops.push(() => t.stop());
    }
    const fake = await startFakeOpenAI();
    stops.push(() => fake.close());
    fake.script(null, [{ text: 'done', usage: { inputTokens: 100, outputTokens: 10 } }], { repeat: true });

    const taskQueue = `bench-budget-${Date.now()}`;
    const secretKey = generateSecretKey();
    const worker: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'bin', 'worker.ts')], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: dbUrl.toString(),
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: namespace,
        TEMPORAL_TASK_QUEUE: taskQueue,
        FLAPJACK_SECRET_KEY: secretKey,
        FLAPJACK_EGRESS_ALLOWLIST: '127.0.0.1',
        OPENAI_API_KEY: 'sk-bench',
        OPENAI_BASE_URL: fake.url,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    stops.push(async () => {
      if (worker.exitCode !== null) return;
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      const t = setTimeout(() => worker.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    });
    const pid = worker.pid as number;

    const db = createDb(dbUrl.toString(), { poolSize: 10 });
    stops.push(() => db.$disconnect());
    const connection = await Connection.connect({ address });
    stops.push(() => connection.close());
    const client = new Client({ connection, namespace });
    const app = createApp({
      services: { db, log: createLogger('silent'), temporal: { client, taskQueue, namespace } },
      resolveApiKey: createKeyResolver(db),
      rateLimit: { ratePerSec: 1e6, burst: 1e6 },
    });
    const { key, orgId } = await createApiKey(db, `bench-${randomUUID()}`);
    const api = {
      post: (p: string, b: unknown) => request(app).post(p).set('Authorization', `Bearer ${key}`).send(b as object),
      put: (p: string, b: unknown) => request(app).put(p).set('Authorization', `Bearer ${key}`).send(b as object),
    };
    const runner = (await api.post('/api/runners', { name: 'bench-budget', defaultModel: 'gpt-5.4' })).body.id as string;
    const step = await api.post(`/api/runners/${runner}/steps`, { name: 'think', kind: 'agent', orderIndex: 0, preambleOverride: 'Answer briefly.' });
    if (step.status !== 201) throw new Error(`step: ${step.status} ${JSON.stringify(step.body)}`);
    await api.put(`/api/runners/${runner}/budget`, { enabled: true, budgetUsd: 0.000001, onExceed: 'pause' });

    const countPaused = async () =>
      Number((await withOrg(db, orgId, (tx) => tx.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM runner_runs WHERE runner_id = '${runner}' AND status = 'paused_budget'`)))[0]?.n ?? 0);
    const waitPaused = async (n: number) => {
      const deadline = Date.now() + 20 * 60_000;
      while ((await countPaused()) < n) {
        if (Date.now() > deadline) throw new Error(`only ${await countPaused()} of ${n} runs paused`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };

    // Worker warm (workflow bundle loaded) before the first sample.
    await new Promise((r) => setTimeout(r, 3_000));
    const samples: { paused: number; rssMb: number }[] = [{ paused: 0, rssMb: await rssMb(pid) }];
    const runIds: string[] = [];
    const t0 = Date.now();
    while (runIds.length < PAUSED) {
      const wave = Math.min(WAVE, PAUSED - runIds.length);
      await pool(Array.from({ length: wave }, (_, i) => i), CONCURRENCY, async () => {
        let r = await api.post(`/api/runners/${runner}/runs`, { input: { q: 'hi' } });
        // A busy shared machine sometimes makes the pool wait too long: retry like the SDK would.
        for (let attempt = 1; r.status === 503 && attempt <= 5; attempt++) {
          await new Promise((res) => setTimeout(res, 500 * 2 ** attempt));
          r = await api.post(`/api/runners/${runner}/runs`, { input: { q: 'hi' } });
        }
        if (r.status !== 201) throw new Error(`run: ${r.status} ${JSON.stringify(r.body)}`);
        runIds.push(r.body.id as string);
      });
      await waitPaused(runIds.length);
      await new Promise((r) => setTimeout(r, 1_000));
      samples.push({ paused: runIds.length, rssMb: await rssMb(pid) });
      log(`${runIds.length} paused, worker RSS ${samples.at(-1)?.rssMb.toFixed(0)} MB`);
    }
    const pauseSecs = (Date.now() - t0) / 1000;
    const calledWhilePaused = fake.requests.length;

    const t1 = Date.now();
    await pool(runIds, CONCURRENCY, async (id) => {
      let r = await api.post(`/api/runners/${runner}/runs/${id}/resume`, { additionalBudgetUsd: 1 });
      for (let attempt = 1; r.status === 503 && attempt <= 5; attempt++) {
        await new Promise((res) => setTimeout(res, 500 * 2 ** attempt));
        r = await api.post(`/api/runners/${runner}/runs/${id}/resume`, { additionalBudgetUsd: 1 });
      }
      if (r.status !== 200) throw new Error(`resume: ${r.status} ${JSON.stringify(r.body)}`);
    });
    const deadline = Date.now() + 20 * 60_000;
    for (;;) {
      const done = Number(
        (await withOrg(db, orgId, (tx) => tx.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM runner_runs WHERE runner_id = '${runner}' AND status = 'completed'`)))[0]?.n ?? 0,
      );
      if (done >= PAUSED) break;
      if (Date.now() > deadline) throw new Error(`only ${done} of ${PAUSED} resumed runs completed`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const resumeSecs = (Date.now() - t1) / 1000;
    const afterResume = await rssMb(pid);

    const first = samples[1]?.rssMb ?? NaN;
    const last = samples.at(-1)?.rssMb ?? NaN;
    out('');
    out(`Worker memory with runs paused on their budget (${PAUSED} runs, waves of ${WAVE})`);
    out('| runs paused | worker RSS (MB) |');
    out('| ---: | ---: |');
    for (const s of samples) out(`| ${s.paused} | ${s.rssMb.toFixed(0)} |`);
    out(`| after resuming all (completed) | ${afterResume.toFixed(0)} |`);
    out('');
    out(`paused ${PAUSED} runs in ${pauseSecs.toFixed(1)} s (model calls made while pausing: ${calledWhilePaused}); resumed and completed all in ${resumeSecs.toFixed(1)} s`);
    out(
      JSON.stringify({
        bench: 'budget-pause-memory',
        paused: PAUSED,
        samples,
        growthFromFirstWaveMb: Number((last - first).toFixed(1)),
        afterResumeMb: Number(afterResume.toFixed(1)),
        pauseSeconds: pauseSecs,
        resumeSeconds: resumeSecs,
        modelCallsWhilePaused: calledWhilePaused,
        modelCallsAfterResume: fake.requests.length - calledWhilePaused,
      }),
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
