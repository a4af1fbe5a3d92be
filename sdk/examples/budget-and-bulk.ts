/* README example: budgets, resume, bulk runs, triggers, analytics, knowledge. Type-checked in CI. */
import { FlapjackClient } from '../src/index.js';

export async function budgetAndBulk(runnerId: string): Promise<void> {
  const fj = new FlapjackClient();

  await fj.updateRunnerBudget(runnerId, { enabled: true, budgetUsd: 5, onExceed: 'pause' });
  const run = await fj.triggerRun(runnerId, { input: { url: 'https://example.com' } });
  const settled = await fj.waitForRun(runnerId, run.id);
  if (settled.status === 'paused_budget') {
    await fj.resumeRun(runnerId, run.id, { additionalBudgetUsd: 2 });
  }

  const bulk = await fj.triggerRunBulk(runnerId, {
    items: [
      { input: { url: 'https://example.com/a' } },
      { input: { url: 'https://example.com/b' }, idempotencyKey: 'b' },
    ],
  });
  console.log(
    bulk.created,
    bulk.existing,
    bulk.data.map((r) => r.id),
  );

  const cron = await fj.addRunnerTrigger(runnerId, {
    kind: 'cron',
    cronExpression: '0 9 * * 1',
    cronTimezone: 'Europe/Paris',
  });
  await fj.updateRunnerTrigger(runnerId, cron.id, { enabled: false });
  const hook = await fj.addRunnerTrigger(runnerId, { kind: 'webhook' });
  console.log('POST run inputs to', hook.url);
  await fj.removeRunnerTrigger(runnerId, cron.id);

  const analytics = await fj.getRunnerAnalytics(runnerId, { period: '30d' });
  for (const m of analytics.cost_by_model) console.log(m.model, m.cost_usd);
  const org = await fj.getAnalytics({ period: '7d' });
  console.log(org.by_model);

  await fj.uploadKnowledge({
    file: new Blob(['# Catalog\n…'], { type: 'text/markdown' }),
    filename: 'catalog.md',
    scopeType: 'runner',
    scopeId: runnerId,
    title: 'Product Catalog',
  });
  const hits = await fj.searchKnowledge({ q: 'lamps under 50 EUR', runnerId, k: 3 });
  console.log(hits.data.map((h) => h.title));
}
