import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { findFreePort } from '../src/dev/process';
import { flapjackChild, type FlapjackChild } from '../scripts/chaos/child';
import { json, startWebhookServer } from './fixtures/webhook-server';
import { useTestContext, waitFor } from './harness';

/**
 * Scale-out as users do it: two worker processes and two API processes (the real entry points
 * src/bin/worker.ts and src/bin/api.ts as child processes) against the test stack's one Temporal server
 * and one PostgreSQL, on their own task queue. Runs go in through both APIs; Temporal's history shows
 * both workers executing them; one worker is SIGKILLed under load and every run still completes.
 */

const ctx = useTestContext();
const workers: FlapjackChild[] = [];
const apis: { child: FlapjackChild; port: number }[] = [];
let hooks: Awaited<ReturnType<typeof startWebhookServer>>;
let logDir = '';

beforeAll(async () => {
  hooks = await startWebhookServer({
    // Slow enough that runs are in flight when a worker dies.
    '/hook': (req, res) => {
      setTimeout(() => json(res, 200, { got: req.body }), 300).unref();
    },
  });
  logDir = await mkdtemp(path.join(os.tmpdir(), 'fj-scale-out-'));
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DATABASE_URL: ctx.env.databaseUrl,
    TEMPORAL_ADDRESS: ctx.env.temporalAddress,
    TEMPORAL_NAMESPACE: ctx.env.namespace,
    TEMPORAL_TASK_QUEUE: `scale-out-${randomUUID()}`,
    FLAPJACK_SECRET_KEY: ctx.env.secretKey,
    FLAPJACK_EGRESS_ALLOWLIST: '127.0.0.1',
    FLAPJACK_RATE_LIMIT_PER_SEC: '10000',
    FLAPJACK_RATE_LIMIT_BURST: '10000',
    // The test database is shared with the other test files: our workers' reconciler must not start
    // runs other files leave pending on purpose (the first pass would come after 10 minutes).
    FLAPJACK_RECONCILE_INTERVAL_MS: '600000',
  };
  for (const n of [1, 2])
    workers.push(flapjackChild({ entry: 'worker', name: `worker-${n}`, env: { ...env, PORT: '0' }, logDir }));
  for (const n of [1, 2]) {
    const port = await findFreePort();
    apis.push({
      port,
      child: flapjackChild({ entry: 'api', name: `api-${n}`, env: { ...env, PORT: String(port) }, logDir, port }),
    });
  }
  await Promise.all([...workers.map((w) => w.start()), ...apis.map((a) => a.child.start())]);
}, 600_000);

afterAll(async () => {
  if (retried) process.stderr.write(`scale-out: ${retried} run start(s) answered 503/429 and were sent again\n`);
  await Promise.all([...workers, ...apis.map((a) => a.child)].map((c) => c.stop()));
  await hooks?.close();
  await rm(logDir, { recursive: true, force: true });
}, 60_000);

async function call(
  port: number,
  method: string,
  p: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}${p}`, {
    method,
    headers: { Authorization: `Bearer ${ctx.keyA}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

let retried = 0;

/**
 * Starts `n` runs, alternating between the two APIs; returns run ids per API port. Like any careful
 * client, a 503 (this shared machine's database can be slow to hand out a connection) or a 429 is sent
 * again with the same idempotency key; anything else but a 201 fails with the API's logged errors.
 */
async function startRuns(runnerId: string, n: number, from: number): Promise<Map<number, string[]>> {
  const byApi = new Map<number, string[]>(apis.map((a) => [a.port, []]));
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const { port, child } = apis[i % 2]!;
      const body = { input: { n: from + i }, idempotencyKey: `scale-out-${runnerId}-${from + i}` };
      let r = await call(port, 'POST', `/api/runners/${runnerId}/runs`, body);
      for (let attempt = 1; (r.status === 503 || r.status === 429) && attempt <= 10; attempt++) {
        retried++;
        await new Promise((w) => setTimeout(w, 500 * attempt));
        r = await call(port, 'POST', `/api/runners/${runnerId}/runs`, body);
      }
      if (r.status !== 201) {
        const log = await readFile(path.join(logDir, `${child.name}.log`), 'utf8').catch(() => '');
        const errors = log
          .split('\n')
          .filter((l) => /"level":(50|60)/.test(l))
          .slice(-3)
          .join('\n');
        throw new Error(`${child.name}: ${r.status} ${JSON.stringify(r.body)}\n${errors}`);
      }
      byApi.get(port)!.push(r.body.id as string);
    }),
  );
  return byApi;
}

const statuses = async (runnerId: string, ids: string[]) =>
  ctx.systemDb.runnerRun.findMany({ where: { runnerId, id: { in: ids } }, select: { id: true, status: true } });

/** Worker identities (`<pid>@<host>`) that completed workflow tasks or started activities of a run. */
async function identities(runId: string): Promise<Set<string>> {
  const history = await ctx.client.workflow.getHandle(runId).fetchHistory();
  const out = new Set<string>();
  for (const e of history.events ?? []) {
    const id = e.workflowTaskCompletedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
    if (id) out.add(id);
  }
  return out;
}

describe('two workers and two API processes on one Temporal and one PostgreSQL', () => {
  let runnerId = '';

  it('takes runs through both APIs and executes them on both workers', async () => {
    const r = await call(apis[0]!.port, 'POST', '/api/runners', { name: `scale-out-${randomUUID()}` });
    expect(r.status).toBe(201);
    runnerId = r.body.id as string;
    for (const [i, s] of [
      { name: 'hook', kind: 'webhook', webhookUrl: hooks.url('/hook') },
      { name: 'double', kind: 'computer', computer: { runtime: 'javascript', code: 'return { twice: input };' } },
    ].entries()) {
      // Steps through the second API: both read and write the same database.
      expect(
        (await call(apis[1]!.port, 'POST', `/api/runners/${runnerId}/steps`, { orderIndex: i, ...s })).status,
      ).toBe(201);
    }
    const byApi = await startRuns(runnerId, 40, 0);
    for (const ids of byApi.values()) expect(ids).toHaveLength(20);
    const ids = [...byApi.values()].flat();
    const done = await waitFor(
      () => statuses(runnerId, ids),
      (rows) => rows.filter((x) => x.status === 'completed').length === ids.length,
      120_000,
      500,
    );
    expect(done).toHaveLength(40);

    const seen = new Set<string>();
    for (const id of ids) for (const who of await identities(id)) seen.add(who);
    const pids = workers.map((w) => String(w.pid));
    // Every identity in the histories is one of our two workers, and both of them did work.
    expect([...seen].every((who) => pids.some((pid) => who.startsWith(`${pid}@`)))).toBe(true);
    for (const pid of pids) expect([...seen].some((who) => who.startsWith(`${pid}@`))).toBe(true);
  }, 180_000);

  it('completes every run when one worker is SIGKILLed under load', async () => {
    expect(runnerId).not.toBe('');
    const before = hooks.requests.length;
    const starting = startRuns(runnerId, 60, 1000);
    // Kill once the second batch is being executed (webhook deliveries are arriving).
    await waitFor(
      async () => hooks.requests.length - before,
      (n) => n >= 10,
      60_000,
      50,
    );
    const victim = workers[0]!;
    await victim.kill();
    expect(victim.running).toBe(false);
    const ids = [...(await starting).values()].flat();
    expect(ids).toHaveLength(60);
    const rows = await waitFor(
      () => statuses(runnerId, ids),
      (r) => r.length === 60 && r.every((x) => ['completed', 'failed', 'cancelled'].includes(x.status)),
      180_000,
      500,
    );
    expect(rows.filter((x) => x.status === 'completed')).toHaveLength(60);
    // Each run's webhook was delivered (perhaps twice: a retry carries the same Idempotency-Key).
    const keys = new Set(hooks.requests.map((q) => q.headers['idempotency-key']));
    expect(ids.filter((id) => !keys.has(`${id}:hook`))).toEqual([]);
    // One Temporal execution per run.
    for (const id of ids) expect((await ctx.client.workflow.getHandle(id).describe()).status.name).toBe('COMPLETED');
  }, 300_000);
});
