/* README example: build a runner, run it, wait for it, and walk its runs. Type-checked in CI. */
import { ConflictError, FlapjackClient, NotFoundError, ValidationError } from '../src/index.js';

export async function quickstart(): Promise<void> {
  // apiKey/baseUrl default to FLAPJACK_API_KEY / FLAPJACK_BASE_URL (else http://localhost:3000)
  const fj = new FlapjackClient({ maxRetries: 3, timeout: 30_000 });

  const runner = await fj.createRunner({
    name: 'Doubler',
    inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
  });
  await fj.addRunnerStep(runner.id, {
    name: 'double',
    kind: 'computer',
    orderIndex: 0,
    inputMapping: { n: '$.input.n' },
    computer: { runtime: 'javascript', code: 'return { n: input.n * 2 };' },
  });

  const run = await fj.triggerRun(runner.id, { input: { n: 21 }, idempotencyKey: 'doubler-21' });
  const done = await fj.waitForRun(runner.id, run.id, { timeoutMs: 60_000 });
  console.log(done.status, done.output); // completed { n: 42 }

  // one page…
  const page = await fj.listRuns(runner.id, { status: 'completed', limit: 20 });
  console.log(page.data.length, page.nextCursor);
  // …or every run, page after page
  for await (const r of fj.listRuns(runner.id)) console.log(r.id, r.status, r.costUsd);

  try {
    await fj.cancelRun(runner.id, run.id);
  } catch (e) {
    if (e instanceof ConflictError) console.log('already finished:', e.message, e.requestId);
    else if (e instanceof NotFoundError) console.log('no such run');
    else throw e;
  }

  try {
    await fj.addRunnerStep(runner.id, { name: 'hook', kind: 'webhook', orderIndex: 1 });
  } catch (e) {
    if (e instanceof ValidationError) for (const f of e.fields) console.log(f.path, f.message); // webhookUrl is required…
  }

  // cancel waiting after 5 s
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 5_000);
  await fj.getRunner(runner.id, { signal: controller.signal, timeout: 2_000 });
}
