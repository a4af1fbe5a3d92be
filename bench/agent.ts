/**
 * `tsx bench/agent.ts`: the overhead of an agent step over its model calls, with a scripted model that
 * answers at once (the fake OpenAI-compatible server of the tests, in process).
 *
 * For each run of a one-step runner it takes the step's duration as recorded (`completed_at −
 * started_at` of its row: prepare, model calls, tool calls, the final write) minus the time the model
 * server spent on the step's requests, and reports p50/p99 of that overhead, in total and per model
 * call, for two scenarios: 1 call (a plain answer) and 5 calls with tools (4 calls each asking for an
 * HTTP tool on a loopback server that answers at once, then a final answer).
 *
 * Env: BENCH_AGENT_RUNS (runs per scenario, default 60), BENCH_AGENT_WARMUP (default 5),
 * DATABASE_URL (else an embedded PostgreSQL), TEMPORAL_ADDRESS (else a dev server with a file
 * database, as `npm start` runs it; BENCH_TEMPORAL_DB=memory for an in-memory one).
 * Prints a table and one `BENCH_JSON` line. Loopback only; bounded by the run counts.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { createApp } from '../api/app';
import { createRunWorker, installTemporalRuntime, WORKFLOWS_PATH } from '../src/bin/worker-runtime';
import { createLogger } from '../src/config/logger';
import { createSecretBox, generateSecretKey } from '../src/crypto/secret-box';
import { withOrg } from '../src/db/scoped';
import { createApiKey, createKeyResolver } from '../src/services/api-keys';
import type { RecordedRequest } from '../test/fixtures/fake-llm';
import { startFakeOpenAI } from '../test/fixtures/fake-openai';
import { connectBenchClients, startBenchDatabase, startBenchTemporal } from './stack';

const RUNS = Number(process.env.BENCH_AGENT_RUNS ?? 60);
const WARMUP = Number(process.env.BENCH_AGENT_WARMUP ?? 5);
const out = (s: string) => process.stdout.write(s + '\n');

function pct(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

const summarize = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: pct(s, 50), p99: pct(s, 99), mean: xs.reduce((a, b) => a + b, 0) / xs.length, n: xs.length };
};

async function main(): Promise<void> {
  const log = createLogger('error', 'bench');
  installTemporalRuntime(log, 'ERROR');
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const databaseUrl = await startBenchDatabase('flapjack_bench_agent', cleanups);

    const { address, namespace } = await startBenchTemporal(cleanups, { external: true, memoryFromEnv: true });

    // The model: answers at once; in the tools scenario, asks for the `echo` tool until 4 tool rounds are done.
    const fake = await startFakeOpenAI();
    cleanups.push(() => fake.close());
    fake.script(null, (req: RecordedRequest) => {
      const messages = (req.body.messages ?? []) as { role: string }[];
      const rounds = messages.filter((m) => m.role === 'assistant').length;
      const wantsTools = JSON.stringify(req.body).includes('SCENARIO-TOOLS');
      // The first tool offered (the runner's HTTP tool, under whatever name the toolset gives it).
      const offered = ((req.body.tools ?? []) as { function?: { name?: string } }[])[0]?.function?.name ?? 'echo';
      return wantsTools && rounds < 4
        ? { toolCalls: [{ name: offered, arguments: { n: rounds } }], usage: { inputTokens: 200, outputTokens: 20 } }
        : { text: 'done', usage: { inputTokens: 200, outputTokens: 5 } };
    });

    // The HTTP tool's endpoint: answers at once.
    const toolServer: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    });
    await new Promise<void>((r) => toolServer.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => toolServer.close(() => r())));
    const toolUrl = `http://127.0.0.1:${(toolServer.address() as AddressInfo).port}/echo`;

    const secretKey = generateSecretKey();
    const { db, nativeConnection, client } = await connectBenchClients(cleanups, {
      databaseUrl,
      address,
      namespace,
      poolSize: 30,
    });
    const taskQueue = `bench-agent-${randomUUID()}`;
    const { worker } = await createRunWorker({
      db,
      connection: nativeConnection,
      temporal: { address, namespace, taskQueue },
      egressAllowlist: ['127.0.0.1'],
      secrets: createSecretBox(secretKey),
      workflowBundle: await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('ERROR') }),
      agent: { llm: { openai: { apiKey: 'sk-bench', baseUrl: fake.url } } },
    });
    const running = worker.run();
    cleanups.unshift(async () => {
      worker.shutdown();
      await running.catch(() => undefined);
    });

    // The floor: a worker of its own on the same connection, running k no-op local activities per workflow.
    const floorQueue = `bench-agent-floor-${randomUUID()}`;
    const floorWorker = await Worker.create({
      connection: nativeConnection,
      namespace,
      taskQueue: floorQueue,
      workflowsPath: require.resolve('./agent-floor-workflow'),
      activities: { noop: async (i: number) => i },
    });
    const floorRunning = floorWorker.run();
    cleanups.unshift(async () => {
      floorWorker.shutdown();
      await floorRunning.catch(() => undefined);
    });
    const floorRun = async (k: number): Promise<number> => {
      const started = performance.now();
      await client.workflow.execute('localActivityFloor', {
        taskQueue: floorQueue,
        workflowId: randomUUID(),
        args: [k],
      });
      return performance.now() - started;
    };

    const services = { db, log, temporal: { client, taskQueue, namespace }, secrets: createSecretBox(secretKey) };
    const app = createApp({
      services,
      resolveApiKey: createKeyResolver(db),
      rateLimit: { ratePerSec: 1e6, burst: 1e6 },
    });
    const api: Server = createServer(app);
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    cleanups.unshift(() => new Promise<void>((r) => api.close(() => r())));
    const base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    const { key, orgId } = await createApiKey(db, `bench-agent-${randomUUID()}`);
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const post = async (p: string, body: unknown) => {
      const r = await fetch(base + p, { method: 'POST', headers, body: JSON.stringify(body) });
      if (r.status >= 300) throw new Error(`${p} → ${r.status} ${await r.text()}`);
      return (await r.json()) as { id: string };
    };

    const tool = await post('/api/tools', {
      name: 'echo',
      description: 'Echoes its arguments',
      url: toolUrl,
      parameters: { type: 'object', properties: { n: { type: 'integer' } } },
    });
    const makeRunner = async (scenario: string, withTool: boolean) => {
      const runner = await post('/api/runners', { name: `bench-${scenario}` });
      await post(`/api/runners/${runner.id}/steps`, {
        name: 'think',
        kind: 'agent',
        orderIndex: 0,
        modelOverride: 'gpt-5.4-mini',
        preambleOverride: `You are a benchmark. ${scenario}`,
      });
      if (withTool) await post(`/api/runners/${runner.id}/tools`, { toolId: tool.id });
      return runner.id;
    };

    /** One run; returns the step's duration and the model server's time on it. */
    const runOnce = async (runnerId: string, expectedCalls: number) => {
      const run = await post(`/api/runners/${runnerId}/runs`, { input: { q: 'bench' } });
      const result = (await client.workflow.getHandle(run.id).result()) as { status: string; error: unknown };
      if (result.status !== 'completed')
        throw new Error(`run ${run.id} ended ${result.status}: ${JSON.stringify(result.error)}`);
      const step = await withOrg(db, orgId, (tx) => tx.runnerRunStep.findFirst({ where: { runId: run.id } }));
      if (!step?.startedAt || !step.completedAt) throw new Error(`run ${run.id}: step times missing`);
      const calls = fake.requests.filter((r) => String(r.headers['idempotency-key'] ?? '').startsWith(`${run.id}:`));
      if (calls.length !== expectedCalls)
        throw new Error(`run ${run.id}: ${calls.length} model calls, expected ${expectedCalls}`);
      const serverMs = calls.reduce((s, r) => s + (r.serverMs ?? 0), 0);
      return { stepMs: step.completedAt.getTime() - step.startedAt.getTime(), serverMs };
    };

    const scenarios = [
      { name: '1 call', runnerId: await makeRunner('SCENARIO-PLAIN', false), calls: 1 },
      { name: '5 calls, 4 tool rounds', runnerId: await makeRunner('SCENARIO-TOOLS', true), calls: 5 },
    ];
    out(
      `bench agent: ${RUNS} sequential runs per scenario after ${WARMUP} warm-up runs; ${os.cpus().length} cores, node ${process.version}, load ${os.loadavg()[0]?.toFixed(1)}`,
    );
    const results: Record<
      string,
      {
        overheadMs: ReturnType<typeof summarize>;
        perCallMs: ReturnType<typeof summarize>;
        stepMs: ReturnType<typeof summarize>;
      }
    > = {};
    for (const s of scenarios) {
      for (let i = 0; i < WARMUP; i++) await runOnce(s.runnerId, s.calls);
      const overhead: number[] = [];
      const steps: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const r = await runOnce(s.runnerId, s.calls);
        overhead.push(r.stepMs - r.serverMs);
        steps.push(r.stepMs);
      }
      results[s.name] = {
        overheadMs: summarize(overhead),
        perCallMs: summarize(overhead.map((o) => o / s.calls)),
        stepMs: summarize(steps),
      };
      fake.requests.length = 0;
    }
    // Per no-op local activity: (a workflow of 10) − (a workflow of 0), over 10, medians of RUNS each.
    for (let i = 0; i < WARMUP; i++) await floorRun(1);
    const floorSamples: Record<number, number[]> = { 0: [], 10: [] };
    for (let i = 0; i < RUNS; i++) for (const k of [0, 10]) floorSamples[k]?.push(await floorRun(k));
    const floorPerActivityMs = (summarize(floorSamples[10] ?? []).p50 - summarize(floorSamples[0] ?? []).p50) / 10;

    const f = (n: number) => n.toFixed(1).padStart(9);
    out('');
    out('scenario                    step p50  overhead p50  overhead p99  per call p50  per call p99   (ms)');
    for (const [name, r] of Object.entries(results)) {
      out(
        `${name.padEnd(26)}${f(r.stepMs.p50)}     ${f(r.overheadMs.p50)}     ${f(r.overheadMs.p99)}     ${f(r.perCallMs.p50)}     ${f(r.perCallMs.p99)}`,
      );
    }
    out('');
    out(
      `floor: one no-op local activity on this worker and server costs ${floorPerActivityMs.toFixed(1)} ms at p50 ` +
        `(a tool round runs two: model call and tool call, ${(2 * floorPerActivityMs).toFixed(1)} ms)`,
    );
    out('');
    out(
      'BENCH_JSON ' +
        JSON.stringify({ suite: 'agent', runs: RUNS, loadAverage: os.loadavg()[0], results, floorPerActivityMs }),
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
