import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ScheduleNotFoundError } from '@temporalio/client';
import { reconcileTriggerSchedules } from '../src/services/triggers-schedules';
import { CRON_TRIGGER_WORKFLOW_TYPE } from '../src/shared/trigger-defs';
import { TriggerKindKey } from '../src/shared/workflow-defs';
import { json, startWebhookServer } from './fixtures/webhook-server';
import { useTestContext, waitFor } from './harness';

/** Trigger CRUD, cron triggers on Temporal Schedules (real dev server), the schedule reconciler. */
const ctx = useTestContext();

async function makeRunner(steps: Record<string, unknown>[] = []) {
  const r = await ctx.api.post('/api/runners', { name: `cron-${randomUUID().slice(0, 8)}` });
  expect(r.status).toBe(201);
  for (const s of steps) expect((await ctx.api.post(`/api/runners/${r.body.id}/steps`, s)).status).toBe(201);
  return r.body.id as string;
}

const echoStep = {
  name: 'echo',
  kind: 'computer',
  orderIndex: 0,
  computer: { runtime: 'javascript', code: 'return {got: input};' },
};

async function scheduleGone(id: string): Promise<boolean> {
  try {
    await ctx.client.schedule.getHandle(id).describe();
    return false;
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return true;
    throw e;
  }
}

async function cronRuns(runnerId: string) {
  const r = await ctx.api.get(`/api/runners/${runnerId}/runs`);
  expect(r.status).toBe(200);
  return (r.body.data as { id: string; triggerKind: string; status: string; idempotencyKey: string }[]).filter(
    (x) => x.triggerKind === 'cron',
  );
}

describe('trigger CRUD validation', () => {
  it('refuses a bad cron expression with a 422 that says why, and a time zone that is not IANA', async () => {
    const runnerId = await makeRunner();
    const bad = await ctx.api.post(`/api/runners/${runnerId}/triggers`, { kind: 'cron', cronExpression: '* * *' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details).toEqual([
      { path: 'cronExpression', message: expect.stringMatching(/5 fields.*got 3/) },
    ]);

    const range = await ctx.api.post(`/api/runners/${runnerId}/triggers`, {
      kind: 'cron',
      cronExpression: '61 * * * *',
    });
    expect(range.status).toBe(422);
    expect(range.body.error.details[0]).toMatchObject({
      path: 'cronExpression',
      message: expect.stringContaining('61'),
    });

    const tz = await ctx.api.post(`/api/runners/${runnerId}/triggers`, {
      kind: 'cron',
      cronExpression: '0 9 * * 1',
      cronTimezone: 'Mars/Olympus_Mons',
    });
    expect(tz.status).toBe(422);
    expect(tz.body.error.details[0]).toMatchObject({
      path: 'cronTimezone',
      message: expect.stringContaining('time zone'),
    });

    const unknownKind = await ctx.api.post(`/api/runners/${runnerId}/triggers`, { kind: 'sms' });
    expect(unknownKind.status).toBe(422);
    expect(unknownKind.body.error.details[0].path).toBe('kind');

    const stray = await ctx.api.post(`/api/runners/${runnerId}/triggers`, {
      kind: 'button',
      cronExpression: '* * * * *',
    });
    expect(stray.status).toBe(422);
    expect(stray.body.error.details[0].message).toMatch(/unknown field/);
  });

  it('checks a poll config against its template and the MCP server against the org', async () => {
    const runnerId = await makeRunner();
    const noItems = await ctx.api.post(`/api/runners/${runnerId}/triggers`, {
      kind: 'poll',
      pollConfig: { mcpServerId: randomUUID(), template: 'generic', params: { toolName: 'x', itemIdPath: '$.id' } },
    });
    expect(noItems.status).toBe(422);
    expect(noItems.body.error.details).toContainEqual(expect.objectContaining({ path: 'pollConfig.params.itemsPath' }));

    const badRepo = await ctx.api.post(`/api/runners/${runnerId}/triggers`, {
      kind: 'poll',
      pollConfig: { mcpServerId: randomUUID(), template: 'github_new_prs', params: { repo: 'no-slash' } },
    });
    expect(badRepo.status).toBe(422);
    expect(badRepo.body.error.details[0]).toMatchObject({
      path: 'pollConfig.params.repo',
      message: expect.stringContaining('owner/name'),
    });

    const foreign = await ctx.api.post(`/api/runners/${runnerId}/triggers`, {
      kind: 'poll',
      pollConfig: { mcpServerId: randomUUID(), template: 'github_new_prs', params: { repo: 'octo/hello' } },
    });
    expect(foreign.status).toBe(422);
    expect(foreign.body.error.details[0].path).toBe('pollConfig.mcpServerId');
  });

  it('accepts button, manual and api triggers with no config, lists them in the runner, and hides them from other orgs', async () => {
    const runnerId = await makeRunner();
    for (const kind of ['button', 'manual', 'api']) {
      const r = await ctx.api.post(`/api/runners/${runnerId}/triggers`, { kind });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ kind, enabled: true, runnerId });
    }
    const runner = await ctx.api.get(`/api/runners/${runnerId}`);
    expect(runner.body.triggers.map((t: { kind: string }) => t.kind)).toEqual(['button', 'manual', 'api']);
    const list = await ctx.api.get(`/api/runners/${runnerId}/triggers?limit=2`);
    expect(list.body.data).toHaveLength(2);
    expect(list.body.nextCursor).toEqual(expect.any(String));
    const one = runner.body.triggers[0].id as string;
    expect((await ctx.as(ctx.keyB).get(`/api/runners/${runnerId}/triggers/${one}`)).status).toBe(404);
    expect((await ctx.as(ctx.keyB).patch(`/api/runners/${runnerId}/triggers/${one}`, { enabled: false })).status).toBe(
      404,
    );
    const notApplicable = await ctx.api.patch(`/api/runners/${runnerId}/triggers/${one}`, {
      cronExpression: '* * * * *',
    });
    expect(notApplicable.status).toBe(422);
    expect(notApplicable.body.error.details[0]).toEqual({
      path: 'cronExpression',
      message: 'does not apply to a button trigger',
    });
  });
});

describe('cron triggers', () => {
  it('shows the next five fire times in the trigger zone, with the DST change in the offsets', async () => {
    const runnerId = await makeRunner();
    // Sundays of March at noon, New York: DST starts on the second Sunday of March.
    const r = await ctx.api.post(`/api/runners/${runnerId}/triggers`, {
      kind: 'cron',
      cronExpression: '0 12 * 3 0',
      cronTimezone: 'America/New_York',
    });
    expect(r.status).toBe(201);
    const got = await ctx.api.get(`/api/runners/${runnerId}/triggers/${r.body.id}`);
    const times = got.body.nextFireTimes as string[];
    expect(times).toHaveLength(5);
    expect(times.every((t) => /T12:00:00-0[45]:00$/.test(t))).toBe(true);
    // The first Sunday of March is before the change (-05:00), the next ones after it (-04:00).
    expect(times.every((t) => /^\d{4}-03-/.test(t))).toBe(true);
    expect(times[0]).toMatch(/-05:00$/);
    expect(times[1]).toMatch(/-04:00$/);
    expect([...times].sort((a, b) => Date.parse(a) - Date.parse(b))).toEqual(times);
    const d = await ctx.client.schedule.getHandle(got.body.scheduleId).describe();
    expect(d.spec.timezone).toBe('America/New_York');
    await ctx.api.delete(`/api/runners/${runnerId}/triggers/${r.body.id}`);
  });

  it('keeps one schedule per trigger: created, updated, paused, resumed and deleted with the trigger', async () => {
    const runnerId = await makeRunner();
    const r = await ctx.api.post(`/api/runners/${runnerId}/triggers`, {
      kind: 'cron',
      cronExpression: '0 9 * * 1',
      cronTimezone: 'Europe/Paris',
    });
    expect(r.status).toBe(201);
    const id = r.body.id as string;
    expect(r.body).toMatchObject({ overlapPolicy: 'skip', catchupWindowSeconds: 60, scheduleId: `trigger-${id}` });
    const handle = ctx.client.schedule.getHandle(r.body.scheduleId);
    const before = await handle.describe();
    expect(before.action.workflowType).toBe(CRON_TRIGGER_WORKFLOW_TYPE);
    expect(before.policies.overlap).toBe('SKIP');
    expect(before.state.paused).toBe(false);

    const upd = await ctx.api.patch(`/api/runners/${runnerId}/triggers/${id}`, {
      cronExpression: '30 18 * * *',
      cronTimezone: 'Asia/Tokyo',
      overlapPolicy: 'buffer_one',
    });
    expect(upd.status).toBe(200);
    expect(upd.body.nextFireTimes[0]).toMatch(/T18:30:00\+09:00$/);
    const after = await handle.describe();
    expect(after.spec.timezone).toBe('Asia/Tokyo');
    expect(after.policies.overlap).toBe('BUFFER_ONE');
    expect((after.action.args?.[0] as { configHash: string }).configHash).not.toBe(
      (before.action.args?.[0] as { configHash: string }).configHash,
    );

    const paused = await ctx.api.patch(`/api/runners/${runnerId}/triggers/${id}`, { enabled: false });
    expect(paused.body).toMatchObject({ enabled: false, nextFireTimes: [] });
    expect((await handle.describe()).state.paused).toBe(true);
    await ctx.api.patch(`/api/runners/${runnerId}/triggers/${id}`, { enabled: true });
    expect((await handle.describe()).state.paused).toBe(false);

    const badEdit = await ctx.api.patch(`/api/runners/${runnerId}/triggers/${id}`, { cronExpression: '0 0 31 2 *' });
    expect(badEdit.status).toBe(422);
    expect(badEdit.body.error.details[0].path).toBe('cronExpression');

    expect((await ctx.api.delete(`/api/runners/${runnerId}/triggers/${id}`)).status).toBe(204);
    expect(await scheduleGone(`trigger-${id}`)).toBe(true);
    expect((await ctx.api.get(`/api/runners/${runnerId}/triggers/${id}`)).status).toBe(404);
  });

  it('deleting the runner deletes its schedules', async () => {
    const runnerId = await makeRunner();
    const r = await ctx.api.post(`/api/runners/${runnerId}/triggers`, { kind: 'cron', cronExpression: '0 3 * * *' });
    expect(await scheduleGone(r.body.scheduleId)).toBe(false);
    expect((await ctx.api.delete(`/api/runners/${runnerId}`)).status).toBe(204);
    expect(await scheduleGone(r.body.scheduleId)).toBe(true);
  });

  it('a fire records an ordinary run (trigger id, TriggerKind=cron) through createRun, once per fire time', async () => {
    const runnerId = await makeRunner([echoStep]);
    const r = await ctx.api.post(`/api/runners/${runnerId}/triggers`, {
      kind: 'cron',
      cronExpression: '0 0 1 1 *',
      input: { from: 'cron' },
    });
    expect(r.status).toBe(201);
    // The schedule's trigger-immediately API takes the same path as a timed fire.
    await ctx.client.schedule.getHandle(r.body.scheduleId).trigger();
    const [run] = await waitFor(
      () => cronRuns(runnerId),
      (runs) => runs.length === 1 && runs[0]?.status === 'completed',
      30_000,
    );
    expect(run?.idempotencyKey).toMatch(new RegExp(`^cron:${r.body.id}:\\d{4}-`));
    const full = await ctx.api.get(`/api/runners/${runnerId}/runs/${run?.id}`);
    expect(full.body.output).toEqual({ got: { from: 'cron' } });
    const row = await ctx.systemDb.runnerRun.findUniqueOrThrow({ where: { id: run?.id } });
    expect(row.triggerId).toBe(r.body.id);
    const desc = await ctx.client.workflow.getHandle(run?.id as string).describe();
    expect(desc.typedSearchAttributes.get(TriggerKindKey)).toBe('cron');
    const trig = await ctx.api.get(`/api/runners/${runnerId}/triggers/${r.body.id}`);
    expect(trig.body.lastFiredAt).toEqual(expect.any(String));
    await ctx.api.delete(`/api/runners/${runnerId}/triggers/${r.body.id}`);
  });

  it('fires on its own on the real dev server: an every-minute schedule within 70 s', async () => {
    const runnerId = await makeRunner([echoStep]);
    const r = await ctx.api.post(`/api/runners/${runnerId}/triggers`, { kind: 'cron', cronExpression: '* * * * *' });
    expect(r.status).toBe(201);
    const created = Date.now();
    const runs = await waitFor(
      () => cronRuns(runnerId),
      (x) => x.length >= 1,
      70_000,
      500,
    );
    expect(Date.now() - created).toBeLessThanOrEqual(70_000);
    // The key carries the scheduled (whole-minute) fire time.
    expect(runs[0]?.idempotencyKey).toMatch(/:\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/);
    expect((await ctx.api.delete(`/api/runners/${runnerId}/triggers/${r.body.id}`)).status).toBe(204);
    expect(await scheduleGone(r.body.scheduleId)).toBe(true);
  }, 90_000);
});

describe('cron overlap policy', () => {
  let hooks: Awaited<ReturnType<typeof startWebhookServer>>;
  beforeAll(async () => {
    hooks = await startWebhookServer({
      '/slow': (_req, res) => {
        setTimeout(() => json(res, 200, { slow: true }), 4_000).unref();
      },
    });
  });
  afterAll(() => hooks.close());

  it('skip (the default): a fire while the previous run is still going starts nothing', async () => {
    const runnerId = await makeRunner([
      { name: 'slow', kind: 'webhook', orderIndex: 0, webhookUrl: hooks.url('/slow') },
    ]);
    const r = await ctx.api.post(`/api/runners/${runnerId}/triggers`, { kind: 'cron', cronExpression: '0 0 1 1 *' });
    const handle = ctx.client.schedule.getHandle(r.body.scheduleId);
    await handle.trigger('SKIP');
    await waitFor(
      () => cronRuns(runnerId),
      (runs) => runs[0]?.status === 'running',
      30_000,
    );
    // The trigger workflow waits for its run, so the schedule sees the action as still going.
    await handle.trigger('SKIP');
    await new Promise((res) => setTimeout(res, 1_500));
    expect(await cronRuns(runnerId)).toHaveLength(1);
    await waitFor(
      () => cronRuns(runnerId),
      (runs) => runs[0]?.status === 'completed',
      30_000,
    );
    await waitFor(
      async () => (await handle.describe()).info.runningActions.length,
      (n) => n === 0,
      15_000,
    );
    await handle.trigger('SKIP');
    await waitFor(
      () => cronRuns(runnerId),
      (runs) => runs.length === 2,
      30_000,
    );
    await ctx.api.delete(`/api/runners/${runnerId}/triggers/${r.body.id}`);
  }, 90_000);
});

describe('the schedule reconciler', () => {
  it('recreates a deleted schedule and deletes a schedule whose trigger is gone', async () => {
    const runnerId = await makeRunner();
    const r = await ctx.api.post(`/api/runners/${runnerId}/triggers`, { kind: 'cron', cronExpression: '15 4 * * *' });
    const handle = ctx.client.schedule.getHandle(r.body.scheduleId);
    await handle.delete();
    expect(await scheduleGone(r.body.scheduleId)).toBe(true);

    // An orphan: a schedule in our namespace for a trigger that does not exist.
    const orphanId = `trigger-${randomUUID()}`;
    const spec = await ctx.client.schedule
      .getHandle(`trigger-${r.body.id}`)
      .describe()
      .catch(() => null);
    expect(spec).toBeNull();
    await ctx.client.schedule.create({
      scheduleId: orphanId,
      spec: { cronExpressions: ['0 0 1 1 *'] },
      action: {
        type: 'startWorkflow',
        workflowType: CRON_TRIGGER_WORKFLOW_TYPE,
        taskQueue: ctx.env.taskQueue,
        args: [],
      },
    });

    const report = await reconcileTriggerSchedules(ctx.services);
    expect(report.created).toBeGreaterThanOrEqual(1);
    expect(report.deleted).toBeGreaterThanOrEqual(1);
    expect(await scheduleGone(r.body.scheduleId)).toBe(false);
    expect((await handle.describe()).spec.timezone ?? 'UTC').toBe('UTC');
    expect(await scheduleGone(orphanId)).toBe(true);

    // Drift in the other direction: a schedule left paused while its trigger is enabled.
    await handle.pause('drift');
    await reconcileTriggerSchedules(ctx.services);
    expect((await handle.describe()).state.paused).toBe(false);
    await ctx.api.delete(`/api/runners/${runnerId}/triggers/${r.body.id}`);
  });
});
