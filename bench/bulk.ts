/**
 * Bulk import benchmark: one `POST /api/runners/:id/runs/bulk` of BENCH_BULK_ITEMS (default 10,000)
 * items against the real API and worker processes (`src/bin/api.ts`, `src/bin/worker.ts`, started here
 * as children, loopback only). Measures the time to the 202 (target ≤ 2 s), the time until every run
 * has completed, and the peak resident memory (VmHWM) of the API and of the worker. The runner has one
 * computer step. Prints a table and one JSON line.
 *
 * Env: BENCH_BULK_ITEMS (default 10000), BENCH_BULK_TIMEOUT_S (default 900), DATABASE_URL (else an
 * embedded PostgreSQL), TEMPORAL_ADDRESS (else a dev server with a file database, as `npm start` runs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import { createDb } from '../src/db/client';
import { withOrg } from '../src/db/scoped';
import { REPO_ROOT } from '../src/dev/temporal-server';
import { createApiKey } from '../src/services/api-keys';
import { generateSecretKey } from '../src/crypto/secret-box';
import { startBenchDatabase, startBenchTemporal } from './stack';

const ITEMS = Number(process.env.BENCH_BULK_ITEMS ?? 10_000);
const TIMEOUT_S = Number(process.env.BENCH_BULK_TIMEOUT_S ?? 900);
const out = (s: string) => process.stdout.write(s + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Peak and current resident memory of a process, in MiB (from /proc). */
async function memoryOf(pid: number): Promise<{ peakMiB: number; rssMiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peakMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
}

/** CPU time (user + system) a process has used so far, in ms (from /proc; clock ticks of 10 ms). */
async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14 and 15 of the line)
}

function startChild(name: string, script: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`[bench:bulk] ${name} exited with ${code}\n${tail}\n`);
  });
  return child;
}

async function main(): Promise<void> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const databaseUrl = await startBenchDatabase('flapjack_bench_bulk', cleanups);

    const { address, namespace } = await startBenchTemporal(cleanups, { external: true, memoryFromEnv: false });

    const db = createDb(databaseUrl, { poolSize: 2 });
    cleanups.push(() => db.$disconnect());
    const { key, orgId } = await createApiKey(db, `bench-bulk-${randomUUID()}`);
    const port = await freePort();
    const env = {
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: `bench-bulk-${randomUUID()}`,
      FLAPJACK_SECRET_KEY: generateSecretKey(),
      PORT: String(port),
      LOG_LEVEL: 'warn',
    };
    const worker = startChild('worker', 'src/bin/worker.ts', env);
    const api = startChild('api', 'src/bin/api.ts', env);
    cleanups.unshift(async () => {
      for (const c of [api, worker]) c.kill('SIGTERM');
      await Promise.all(
        [api, worker].map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
      );
    });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 600) throw new Error('the API did not come up in 5 minutes');
      await sleep(500);
    }
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const post = async (p: string, body: unknown) => {
      const r = await fetch(base + p, { method: 'POST', headers, body: JSON.stringify(body) });
      if (r.status >= 300) throw new Error(`${p} → ${r.status} ${(await r.text()).slice(0, 500)}`);
      return r.json() as Promise<Record<string, unknown>>;
    };
    const runner = (await post('/api/runners', {
      name: 'bench-bulk',
      inputSchema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
    })) as { id: string };
    await post(`/api/runners/${runner.id}/steps`, {
      name: 'square',
      kind: 'computer',
      orderIndex: 0,
      computer: { runtime: 'javascript', code: 'return { sq: input.n * input.n };' },
    });
    // Warm the API's paths once (JIT, pools) with a small bulk on another runner.
    const warm = (await post('/api/runners', { name: 'bench-bulk-warmup' })) as { id: string };
    await post(`/api/runners/${warm.id}/runs/bulk`, {
      items: Array.from({ length: 50 }, (_, i) => ({ input: { i } })),
    });

    const items = Array.from({ length: ITEMS }, (_, i) => ({ input: { n: i }, idempotencyKey: `bench-${i}` }));
    const body = JSON.stringify({ items });
    let peakApi = 0;
    let peakWorker = 0;
    const sampler = setInterval(() => {
      void Promise.all([memoryOf(api.pid as number), memoryOf(worker.pid as number)]).then(([a, w]) => {
        peakApi = Math.max(peakApi, a.peakMiB || 0);
        peakWorker = Math.max(peakWorker, w.peakMiB || 0);
      });
    }, 250);
    const apiCpu0 = await cpuMsOf(api.pid as number);
    const t0 = performance.now();
    const res = await fetch(`${base}/api/runners/${runner.id}/runs/bulk`, { method: 'POST', headers, body });
    const accepted = performance.now() - t0;
    // The API's CPU for the request (load-independent, unlike the wall time); includes the first
    // background workflow starts, which begin as the answer is sent.
    const apiCpuMs = (await cpuMsOf(api.pid as number)) - apiCpu0;
    const answer = (await res.json()) as { created: number; invalid: unknown[] };
    if (res.status !== 202 || answer.created !== ITEMS)
      throw new Error(`bulk answered ${res.status}: ${JSON.stringify(answer).slice(0, 500)}`);

    const deadline = Date.now() + TIMEOUT_S * 1000;
    let counts: Record<string, number> = {};
    let startedAllMs: number | null = null;
    for (;;) {
      const rows = await withOrg(
        db,
        orgId,
        (tx) => tx.$queryRaw<{ status: string; n: number; started: number }[]>`
        SELECT status, count(*)::int AS n, count(workflow_started_at)::int AS started
          FROM runner_runs WHERE runner_id = ${runner.id}::uuid GROUP BY status`,
      );
      counts = Object.fromEntries(rows.map((r) => [r.status, r.n]));
      const started = rows.reduce((a, r) => a + r.started, 0);
      if (startedAllMs === null && started >= ITEMS) startedAllMs = performance.now() - t0;
      if ((counts.completed ?? 0) + (counts.failed ?? 0) + (counts.cancelled ?? 0) >= ITEMS) break;
      if (Date.now() > deadline) break;
      await sleep(500);
    }
    const allDone = performance.now() - t0;
    clearInterval(sampler);
    const [a, w] = await Promise.all([memoryOf(api.pid as number), memoryOf(worker.pid as number)]);
    peakApi = Math.max(peakApi, a.peakMiB || 0);
    peakWorker = Math.max(peakWorker, w.peakMiB || 0);
    const finished = (counts.completed ?? 0) + (counts.failed ?? 0) + (counts.cancelled ?? 0);

    const load = os.loadavg()[0]?.toFixed(1);
    out('');
    out(`Bulk import: ${ITEMS} items, 1 computer step per run (load average ${load} on ${os.cpus().length} cores)`);
    out('| measure | value |');
    out('| --- | --- |');
    out(`| time to the 202 | ${accepted.toFixed(0)} ms (target ≤ 2000 ms) |`);
    out(`| API process CPU until the 202 | ${apiCpuMs.toFixed(0)} ms |`);
    out(
      `| every workflow started (marked) | ${startedAllMs === null ? 'n/a' : `${(startedAllMs / 1000).toFixed(1)} s`} |`,
    );
    out(
      `| all runs ended | ${finished === ITEMS ? `${(allDone / 1000).toFixed(1)} s` : `not within ${TIMEOUT_S} s (${finished} ended)`} |`,
    );
    out(`| runs completed / failed | ${counts.completed ?? 0} / ${counts.failed ?? 0} |`);
    out(`| peak RSS, API process | ${peakApi.toFixed(0)} MiB |`);
    out(`| peak RSS, worker process | ${peakWorker.toFixed(0)} MiB |`);
    out(
      JSON.stringify({
        suite: 'bulk',
        items: ITEMS,
        acceptedMs: Math.round(accepted),
        apiCpuMsTo202: apiCpuMs,
        allStartedMs: startedAllMs === null ? null : Math.round(startedAllMs),
        allEndedMs: finished === ITEMS ? Math.round(allDone) : null,
        completed: counts.completed ?? 0,
        failed: counts.failed ?? 0,
        peakApiMiB: Math.round(peakApi),
        peakWorkerMiB: Math.round(peakWorker),
        loadAverage: Number(load),
      }),
    );
  } finally {
    for (const c of cleanups)
      await c().catch((e: unknown) => process.stderr.write(`cleanup: ${(e as Error).message}\n`));
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
