/**
 * `tsx bench/cron.ts`: how late a cron trigger fires. For each fire it measures, from the fire's
 * scheduled time (Temporal's `TemporalScheduledStartTime`):
 *
 * - the start of the trigger's workflow (the schedule's action),
 * - the creation of the run row in PostgreSQL (through `createRun`, like the API),
 * - the start of the run's workflow (the child the trigger workflow starts).
 *
 * A cron trigger is created through the API ('* * * * *', UTC). Waiting for 20 whole minutes is too
 * long for a benchmark, so by default its schedule's spec is then switched to an interval of
 * BENCH_CRON_EVERY_S seconds (default 3): the same schedule, action, workflow and code path, fired more
 * often. BENCH_CRON_REAL=1 keeps the every-minute spec (BENCH_CRON_FIRES minutes). Prints a table and a
 * JSON line. Env: BENCH_CRON_FIRES (default 20), DATABASE_URL (else an embedded PostgreSQL),
 * TEMPORAL_ADDRESS (else a dev server with a file database, as `npm start` runs it).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import request from 'supertest';
import { createApp } from '../api/app';
import { createRunWorker, installTemporalRuntime, WORKFLOWS_PATH } from '../src/bin/worker-runtime';
import { createLogger } from '../src/config/logger';
import { withOrg } from '../src/db/scoped';
import { createApiKey, createKeyResolver } from '../src/services/api-keys';
import { connectBenchClients, startBenchDatabase, startBenchTemporal } from './stack';

const FIRES = Number(process.env.BENCH_CRON_FIRES ?? 20);
const EVERY_S = Number(process.env.BENCH_CRON_EVERY_S ?? 3);
const REAL = process.env.BENCH_CRON_REAL === '1';
const out = (s: string) => process.stdout.write(s + '\n');

function pct(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    p50: pct(s, 50),
    p99: pct(s, 99),
    max: s[s.length - 1] ?? NaN,
    mean: s.reduce((a, b) => a + b, 0) / (s.length || 1),
  };
};

async function main(): Promise<void> {
  const log = createLogger('error', 'bench-cron');
  installTemporalRuntime(log, 'ERROR');
  const cleanups: (() => Promise<void>)[] = [];
  const deadline = Date.now() + (REAL ? FIRES * 60_000 + 180_000 : FIRES * EVERY_S * 1000 + 120_000);
  try {
    const databaseUrl = await startBenchDatabase('flapjack_bench_cron', cleanups);

    const { address, namespace } = await startBenchTemporal(cleanups, { external: true, memoryFromEnv: false });

    const { db, nativeConnection, client } = await connectBenchClients(cleanups, {
      databaseUrl,
      address,
      namespace,
      poolSize: 10,
    });
    const taskQueue = `bench-cron-${randomUUID()}`;
    const { worker } = await createRunWorker({
      db,
      connection: nativeConnection,
      temporal: { address, namespace, taskQueue },
      egressAllowlist: [],
      workflowBundle: await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('ERROR') }),
    });
    const running = worker.run();
    cleanups.unshift(async () => {
      worker.shutdown();
      await running.catch(() => undefined);
    });

    const services = { db, log, temporal: { client, taskQueue, namespace } };
    const app = createApp({ services, resolveApiKey: createKeyResolver(db) });
    const { key, orgId } = await createApiKey(db, `bench-${randomUUID()}`);
    const auth = { Authorization: `Bearer ${key}` };
    const runner = await request(app).post('/api/runners').set(auth).send({ name: 'bench-cron' });
    await request(app)
      .post(`/api/runners/${runner.body.id}/steps`)
      .set(auth)
      .send({
        name: 'noop',
        kind: 'computer',
        orderIndex: 0,
        computer: { runtime: 'javascript', code: 'return input;' },
      });
    const trig = await request(app)
      .post(`/api/runners/${runner.body.id}/triggers`)
      .set(auth)
      .send({ kind: 'cron', cronExpression: '* * * * *', overlapPolicy: 'allow_all', input: { bench: true } });
    if (trig.status !== 201) throw new Error(`trigger: ${trig.status} ${JSON.stringify(trig.body)}`);
    const handle = client.schedule.getHandle(trig.body.scheduleId as string);
    if (!REAL) {
      await handle.update((prev) => ({ ...prev, spec: { intervals: [{ every: `${EVERY_S}s` }] } }));
    }
    out(`waiting for ${FIRES} fires (${REAL ? 'every minute' : `every ${EVERY_S} s`}) …`);
    // CPU of this process (worker, API, the polling below) per fire: unlike the delays, barely moved by load.
    const cpu0 = process.cpuUsage();
    const load0 = os.loadavg()[0] ?? NaN;

    const seen = new Map<string, { fireStart: number; rowCreated: number; runStart: number; scheduled: number }>();
    while (seen.size < FIRES && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      const rows = await withOrg(db, orgId, (tx) =>
        tx.runnerRun.findMany({ where: { runnerId: runner.body.id }, orderBy: { createdAt: 'asc' } }),
      );
      for (const row of rows) {
        if (seen.has(row.id) || seen.size >= FIRES) continue;
        const scheduled = Date.parse((row.idempotencyKey ?? '').split(':').slice(2).join(':'));
        let desc;
        try {
          desc = await client.workflow.getHandle(row.id).describe();
        } catch {
          continue; // not started yet: next pass
        }
        const parent = desc.parentExecution;
        if (!parent) continue;
        const fire = await client.workflow.getHandle(parent.workflowId ?? '', parent.runId ?? undefined).describe();
        seen.set(row.id, {
          scheduled,
          fireStart: fire.startTime.getTime() - scheduled,
          rowCreated: row.createdAt.getTime() - scheduled,
          runStart: desc.startTime.getTime() - scheduled,
        });
      }
    }
    const cpu = process.cpuUsage(cpu0);
    const load1 = os.loadavg()[0] ?? NaN;
    await handle.delete();
    const fires = [...seen.values()];
    const cpuMsPerFire = (cpu.user + cpu.system) / 1000 / Math.max(1, fires.length);
    if (fires.length < FIRES) out(`only ${fires.length} of ${FIRES} fires seen before the deadline`);
    const fire = stats(fires.map((f) => f.fireStart));
    const row = stats(fires.map((f) => f.rowCreated));
    const run = stats(fires.map((f) => f.runStart));
    const f1 = (n: number) => `${n.toFixed(0)} ms`;
    out('');
    out(`| from the scheduled time to … (${fires.length} fires) | p50 | p99 | max | mean |`);
    out('| --- | --- | --- | --- | --- |');
    out(`| trigger workflow start | ${f1(fire.p50)} | ${f1(fire.p99)} | ${f1(fire.max)} | ${f1(fire.mean)} |`);
    out(`| run row recorded (createRun) | ${f1(row.p50)} | ${f1(row.p99)} | ${f1(row.max)} | ${f1(row.mean)} |`);
    out(`| run workflow start | ${f1(run.p50)} | ${f1(run.p99)} | ${f1(run.max)} | ${f1(run.mean)} |`);
    out('');
    out(`CPU of the bench process (worker + API + polling): ${cpuMsPerFire.toFixed(0)} ms per fire`);
    out(`load average (1 min) at start / end: ${load0.toFixed(1)} / ${load1.toFixed(1)} on ${os.cpus().length} cores`);
    out('');
    out(
      JSON.stringify({
        bench: 'cron',
        fires: fires.length,
        mode: REAL ? 'every-minute' : `interval-${EVERY_S}s`,
        fireStartMs: fire,
        runRecordedMs: row,
        runStartMs: run,
        cpuMsPerFire: Math.round(cpuMsPerFire),
        loadAverage: [Number(load0.toFixed(1)), Number(load1.toFixed(1))],
        targetP99Ms: 1000,
        passFireStart: fire.p99 <= 1000,
        passRunStart: run.p99 <= 1000,
      }),
    );
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
