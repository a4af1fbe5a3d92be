import { describe, expect, it } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import { createRunsBulk } from '../src/services/bulk-runs';
import { runStarterFor } from '../src/services/run-starter';
import { reconcilePendingRuns } from '../src/services/runs';
import { useTestContext, waitFor } from './harness';

const ctx = useTestContext();

async function makeRunner(body: Record<string, unknown>, steps: Record<string, unknown>[] = []) {
  const r = await ctx.api.post('/api/runners', { name: `bulk-${Math.random()}`, ...body });
  expect(r.status).toBe(201);
  for (const s of steps) expect((await ctx.api.post(`/api/runners/${r.body.id}/steps`, s)).status).toBe(201);
  return r.body.id as string;
}

const schema = {
  type: 'object',
  properties: { n: { type: 'integer' }, label: { type: 'string' } },
  required: ['n'],
  additionalProperties: false,
};

async function statusCounts(runnerId: string): Promise<Record<string, number>> {
  const rows = await ctx.systemDb.$queryRaw<{ status: string; n: number }[]>`
    SELECT status, count(*)::int AS n FROM runner_runs WHERE runner_id = ${runnerId}::uuid GROUP BY status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

describe('POST /api/runners/:id/runs/bulk', () => {
  it('gives one run per idempotency key within a request and across requests, and writes step rows', async () => {
    const runnerId = await makeRunner({}, [
      {
        name: 'double',
        kind: 'computer',
        orderIndex: 0,
        computer: { runtime: 'javascript', code: 'return { twice: input.n * 2 };' },
      },
    ]);
    const first = await ctx.api.post(`/api/runners/${runnerId}/runs/bulk`, {
      items: [
        { input: { n: 1 }, idempotencyKey: 'a' },
        { input: { n: 2 }, idempotencyKey: 'b' },
        { input: { n: 99 }, idempotencyKey: 'a' },
        { input: { n: 3 } },
      ],
    });
    expect(first.status).toBe(202);
    expect(first.body.created).toBe(3);
    expect(first.body.existing).toBe(1);
    expect(first.body.data[2].id).toBe(first.body.data[0].id);
    const single = await ctx.api.post(`/api/runners/${runnerId}/runs`, { input: { n: 5 }, idempotencyKey: 'b' });
    expect(single.status).toBe(200);
    expect(single.body.id).toBe(first.body.data[1].id);
    const second = await ctx.api.post(`/api/runners/${runnerId}/runs/bulk`, {
      items: [
        { input: { n: 7 }, idempotencyKey: 'b' },
        { input: { n: 8 }, idempotencyKey: 'c' },
      ],
    });
    expect(second.body.created).toBe(1);
    expect(second.body.existing).toBe(1);
    expect(second.body.data[0]).toMatchObject({ id: first.body.data[1].id, idempotencyKey: 'b' });

    const ids = [...first.body.data, ...second.body.data].map((d: { id: string }) => d.id);
    const status = await waitFor(
      async () => (await ctx.api.post(`/api/runners/${runnerId}/runs/bulk/status`, { ids })).body,
      (b) => b.data.every((d: { status: string }) => d.status === 'completed'),
      60_000,
      250,
    );
    expect(status.data).toHaveLength(ids.length);
    const run = (await ctx.api.get(`/api/runners/${runnerId}/runs/${first.body.data[0].id}`)).body;
    expect(run.output).toEqual({ twice: 2 });
    expect(run.steps).toHaveLength(1);
    expect(run.steps[0]).toMatchObject({ name: 'double', status: 'completed' });
  }, 90_000);

  it('refuses 10,001 items, an empty list and a missing list with 422 naming items', async () => {
    const runnerId = await makeRunner({});
    const big = await ctx.api.post(`/api/runners/${runnerId}/runs/bulk`, {
      items: Array.from({ length: 10_001 }, () => ({ input: {} })),
    });
    expect(big.status).toBe(422);
    expect(big.body.error.code).toBe('validation_failed');
    expect(big.body.error.details[0].path).toBe('items');
    for (const body of [{ items: [] }, {}, { items: {} }]) {
      const r = await ctx.api.post(`/api/runners/${runnerId}/runs/bulk`, body);
      expect(r.status).toBe(422);
      expect(r.body.error.details[0].path).toBe('items');
    }
    expect(await ctx.systemDb.runnerRun.count({ where: { runnerId } })).toBe(0);
  }, 60_000);

  it('is 404 for a runner of another org, and the status lookup only sees the caller’s runs', async () => {
    const runnerId = await makeRunner({});
    const r = await ctx.as(ctx.keyB).post(`/api/runners/${runnerId}/runs/bulk`, { items: [{ input: {} }] });
    expect(r.status).toBe(404);
    const mine = await ctx.api.post(`/api/runners/${runnerId}/runs/bulk`, { items: [{ input: {} }] });
    const peek = await ctx
      .as(ctx.keyB)
      .post(`/api/runners/${runnerId}/runs/bulk/status`, { ids: [mine.body.data[0].id] });
    expect(peek.status).toBe(404);
  });

  it('leaves nothing unstarted when the starts fail (API restart): the reconciler starts them in batches', async () => {
    const runnerId = await makeRunner({});
    // An API that lost Temporal (its connection is closed): the runs are recorded and answered, and every
    // background start fails, as if the process had died before starting them.
    const closed = await Connection.connect({ address: ctx.env.temporalAddress });
    await closed.close();
    const dead = new Client({ connection: closed, namespace: ctx.env.namespace });
    const deadDeps = { ...ctx.services, temporal: { ...ctx.services.temporal, client: dead } };
    const items = Array.from({ length: 300 }, (_, i) => ({ input: { i }, idempotencyKey: `r-${i}` }));
    const res = await createRunsBulk(deadDeps, ctx.orgA, runnerId, items);
    expect(res.created).toBe(300);
    await runStarterFor(deadDeps).idle();
    const stranded = await ctx.systemDb.runnerRun.count({
      where: { runnerId, status: 'pending', workflowStartedAt: null },
    });
    expect(stranded).toBe(300);

    const t0 = Date.now();
    const started = await reconcilePendingRuns(ctx.services, 0, 250, 32, { runnerId });
    process.stderr.write(`[bulk] reconciler started ${started} runs in ${Date.now() - t0} ms\n`);
    expect(started).toBeGreaterThanOrEqual(300);
    expect(await ctx.systemDb.runnerRun.count({ where: { runnerId, workflowStartedAt: null } })).toBe(0);
    await waitFor(
      () => statusCounts(runnerId),
      (c) => c.completed === 300,
      240_000,
      500,
    );
  }, 300_000);

  it('records 1,990 runs of 2,000 items, reports the 10 invalid ones by index and field, and runs them all', async () => {
    const runnerId = await makeRunner({ inputSchema: schema });
    const invalidAt = new Map<number, { item: unknown; field: string }>([
      [0, { item: { input: { n: 'zero' } }, field: 'items.0.input.n' }],
      [17, { item: { input: {} }, field: 'items.17.input.n' }],
      [250, { item: { input: { n: 1, extra: true } }, field: 'items.250.input' }],
      [499, { item: { input: { n: 1 }, idempotencyKey: '' }, field: 'items.499.idempotencyKey' }],
      [500, { item: { input: { n: 1 }, idempotencyKey: 'k'.repeat(256) }, field: 'items.500.idempotencyKey' }],
      [777, { item: { input: { n: 1 }, colour: 'red' }, field: 'items.777.colour' }],
      [1000, { item: 'not an object', field: 'items.1000' }],
      [1001, { item: null, field: 'items.1001' }],
      [1500, { item: { input: { n: 1.5 } }, field: 'items.1500.input.n' }],
      [1999, { item: { input: { n: 1, label: 7 } }, field: 'items.1999.input.label' }],
    ]);
    const items = Array.from({ length: 2000 }, (_, i) =>
      invalidAt.has(i) ? invalidAt.get(i)?.item : { input: { n: i }, idempotencyKey: `item-${i}` },
    );

    const t0 = Date.now();
    const r = await ctx.api.post(`/api/runners/${runnerId}/runs/bulk`, { items });
    const ms = Date.now() - t0;
    expect(r.status).toBe(202);
    expect(r.body.created).toBe(1990);
    expect(r.body.existing).toBe(0);
    expect(r.body.data).toHaveLength(1990);
    const invalidIndexes = [...new Set((r.body.invalid as { index: number }[]).map((i) => i.index))];
    expect(invalidIndexes.sort((a, b) => a - b)).toEqual([...invalidAt.keys()].sort((a, b) => a - b));
    for (const [index, { field }] of invalidAt) {
      const entries = (r.body.invalid as { index: number; field: string; message: string }[]).filter(
        (e) => e.index === index,
      );
      expect(entries.map((e) => e.field)).toContain(field);
      for (const e of entries) expect(e.message.length).toBeGreaterThan(0);
    }
    // data follows item order (valid items only), with fresh pending runs carrying their keys.
    const validIndexes = items.map((_, i) => i).filter((i) => !invalidAt.has(i));
    expect(r.body.data.map((d: { idempotencyKey: string }) => d.idempotencyKey)).toEqual(
      validIndexes.map((i) => `item-${i}`),
    );
    expect(new Set(r.body.data.map((d: { id: string }) => d.id)).size).toBe(1990);
    for (const d of r.body.data) expect(d.status).toBe('pending');
    process.stderr.write(`[bulk] 2,000 items answered in ${ms} ms\n`);

    // Every recorded run has its pending step rows and its snapshot; nothing is lost.
    expect(await ctx.systemDb.runnerRun.count({ where: { runnerId, triggerKind: 'bulk' } })).toBe(1990);

    // The same items again: nothing new, each valid item maps to its existing run.
    const again = await ctx.api.post(`/api/runners/${runnerId}/runs/bulk`, { items });
    expect(again.status).toBe(202);
    expect(again.body.created).toBe(0);
    expect(again.body.existing).toBe(1990);
    expect(again.body.data.map((d: { id: string }) => d.id)).toEqual(r.body.data.map((d: { id: string }) => d.id));
    expect(await ctx.systemDb.runnerRun.count({ where: { runnerId } })).toBe(1990);

    // All 1,990 workflows are started in the background and run to completion.
    const done = await waitFor(
      () => statusCounts(runnerId),
      (c) => c.completed === 1990,
      540_000,
      1_000,
    );
    expect(done).toEqual({ completed: 1990 });
    const one = await ctx.api.get(`/api/runners/${runnerId}/runs/${r.body.data[4].id}`); // item 5 (item 0 is invalid)
    expect(one.body.input).toEqual({ n: 5 });
    expect(one.body.triggerKind).toBe('bulk');
  }, 600_000);
});
