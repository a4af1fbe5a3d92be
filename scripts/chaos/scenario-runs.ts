/**
 * Scenario a: N runs of a webhook → computer → agent runner while the worker is SIGKILLed twice, the
 * Temporal dev server is stopped and started once, and PostgreSQL is unreachable for a while (the
 * proxy resets every connection and refuses new ones). Faults fire when a given share of the runs is
 * final, so they land on runs in flight whatever the machine's speed.
 */
import { sleep } from '../../src/dev/process';
import {
  createRunner,
  must,
  finalCount,
  runExecutions,
  statusCounts,
  submitBulk,
  total,
  waitAllFinal,
  waitFinalAtLeast,
} from './checks';
import { expectEq, fact, report, type Check, type ScenarioReport } from './report';
import type { ChaosStack, Say } from './stack';

export interface RunsScenarioOptions {
  runs: number;
  /** How long PostgreSQL is unreachable. */
  pgOutageMs: number;
  /** How long the Temporal dev server stays down. */
  temporalDownMs: number;
  /** How long a SIGKILLed worker stays dead before it is started again. */
  workerDownMs: number;
  timeoutMs: number;
  command: string;
}

interface FaultRecord {
  fault: string;
  atFinal: number;
  inFlight: number;
  ms: number;
}

export async function runsUnderFaults(stack: ChaosStack, o: RunsScenarioOptions, say: Say): Promise<ScenarioReport> {
  const started = Date.now();
  const runnerId = await createRunner(stack, `chaos-runs-${Date.now()}`, [
    { name: 'hook', kind: 'webhook', webhookUrl: stack.hooks.url('/hook') },
    { name: 'compute', kind: 'computer', computer: { runtime: 'javascript', code: 'return { seen: input };' } },
    {
      name: 'ask',
      kind: 'agent',
      preambleOverride: 'Chaos scenario: answer in two words.',
      modelOverride: 'gpt-4o-mini',
    },
  ]);
  // The agent step has an HTTP tool: each run makes two model calls with a tool call between them.
  const tool = await must<{ id: string }>(stack, 'POST', '/api/tools', {
    name: `lookup_${Date.now()}`,
    description: 'Looks something up',
    url: stack.hooks.url('/tool'),
    parameters: { type: 'object', properties: { q: { type: 'integer' } } },
  });
  await must(stack, 'POST', `/api/runners/${runnerId}/tools`, { toolId: tool.id });
  const llmBefore = stack.llm.requests.length;
  const hooksBefore = stack.hooks.requests.length;

  // Runs go in through the bulk route in chunks while the faults happen, keeping at most `window` runs
  // unfinished: every fault meets runs in flight, and the API itself is exercised during the outages
  // (a refused chunk is sent again with the same keys).
  const chunk = Math.max(5, Math.ceil(o.runs / 40));
  // At most 100 unfinished: with 250 in flight on a starved 2-core machine the worker's workflow tasks
  // outlived their 10 s timeout and the run stalled (docs/RELIABILITY.md, "Found").
  const window = Math.max(4 * chunk, Math.min(100, Math.ceil(o.runs / 4)));
  say(`a: submitting ${o.runs} runs in chunks of ${chunk}, at most ${window} unfinished`);
  const items = Array.from({ length: o.runs }, (_, i) => ({ input: { n: i }, idempotencyKey: `chaos-a-${i}` }));
  const runIds = new Set<string>();
  let retries = 0;
  // The last chunk waits for the last fault, which then lands on it in flight: runs are fast enough that
  // everything submitted earlier can be final by the time the last threshold is reached.
  const lastChunkAt = Math.floor((o.runs - 1) / chunk) * chunk;
  let releaseLastChunk!: () => void;
  const lastChunkReleased = new Promise<void>((r) => (releaseLastChunk = r));
  let lastChunkIn!: () => void;
  const lastChunkSubmitted = new Promise<void>((r) => (lastChunkIn = r));
  const submitting = (async () => {
    try {
      for (let at = 0; at < o.runs; at += chunk) {
        if (at === lastChunkAt) await lastChunkReleased;
        await waitFinalAtLeast(stack.pg, runnerId, at - window, o.timeoutMs);
        const r = await submitBulk(stack, runnerId, items.slice(at, at + chunk), chunk, o.timeoutMs);
        for (const id of r.ids) runIds.add(id);
        retries += r.retries;
      }
    } finally {
      lastChunkIn();
    }
  })();
  // A failed submitter must not surface as an unhandled rejection while the faults are still going.
  submitting.catch(() => undefined);

  // A fault waits for a run in flight: after an outage the submitter may still be backing off while every
  // run it sent is final (seen once: the PostgreSQL outage after the Temporal restart met 0 in flight).
  const someInFlight = async () => {
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      const c = await statusCounts(stack.pg, runnerId);
      if (total(c) > finalCount(c)) return;
      if (Date.now() > deadline) throw new Error('a: no run in flight for the fault to meet');
      await sleep(25);
    }
  };
  const faults: FaultRecord[] = [];
  const fault = async (share: number, name: string, act: () => Promise<void>, before?: () => Promise<void>) => {
    const reached = await waitFinalAtLeast(stack.pg, runnerId, Math.floor(o.runs * share), 10 * 60_000);
    await before?.();
    await someInFlight();
    const counts = await statusCounts(stack.pg, runnerId);
    const t = Date.now();
    say(`a: ${name} (${reached}/${o.runs} final)`);
    await act();
    faults.push({ fault: name, atFinal: reached, inFlight: total(counts) - finalCount(counts), ms: Date.now() - t });
  };
  const killWorker = async () => {
    await stack.worker.kill();
    await sleep(o.workerDownMs);
    await stack.worker.start();
  };
  await fault(0.1, 'worker SIGKILL #1 and restart', killWorker);
  await fault(0.3, `Temporal stopped ${o.temporalDownMs / 1000} s and restarted`, () =>
    stack.temporal.restart(o.temporalDownMs),
  );
  await fault(0.5, `PostgreSQL unreachable ${o.pgOutageMs / 1000} s`, async () => {
    stack.proxy.pause();
    await sleep(o.pgOutageMs);
    stack.proxy.resume();
  });
  await fault(0.7, 'worker SIGKILL #2 and restart', killWorker, async () => {
    releaseLastChunk();
    await lastChunkSubmitted;
  });

  await submitting;
  say('a: waiting for every run to end');
  const { counts, done } = await waitAllFinal(stack.pg, runnerId, o.runs, o.timeoutMs, say);
  const wallMs = Date.now() - started;
  return report(`a. ${o.runs} runs under faults`, o.command, [
    ...faults.map((f) =>
      fact(`fault: ${f.fault}`, `at ${f.atFinal} final, ${f.inFlight} in flight, ${(f.ms / 1000).toFixed(1)} s`),
    ),
    fact('bulk requests retried (same keys)', retries),
    ...(await verify(stack, runnerId, runIds, o.runs, counts, done, llmBefore, hooksBefore)),
    fact('wall time', `${(wallMs / 1000).toFixed(0)} s`),
  ]);
}

async function verify(
  stack: ChaosStack,
  runnerId: string,
  runIds: Set<string>,
  n: number,
  counts: Record<string, number>,
  done: boolean,
  llmBefore: number,
  hooksBefore: number,
): Promise<Check[]> {
  const { pg } = stack;
  const rows: Check[] = [];
  const runs = await pg.query<{ id: string; status: string; idempotency_key: string; cost: string; ledger: string }>(
    `SELECT r.id, r.status, r.idempotency_key, r.cost_usd::text AS cost,
            coalesce((SELECT sum(m.cost_usd) FROM model_calls m WHERE m.run_id = r.id), 0)::text AS ledger
       FROM runner_runs r WHERE r.runner_id = $1`,
    [runnerId],
  );
  rows.push(expectEq('runs accepted by the API', runIds.size, n));
  rows.push(expectEq('runs recorded', runs.rowCount ?? 0, n));
  rows.push(expectEq('distinct idempotency keys recorded', new Set(runs.rows.map((r) => r.idempotency_key)).size, n));
  rows.push(
    expectEq(
      'runs lost (accepted, not recorded)',
      [...runIds].filter((id) => !runs.rows.some((r) => r.id === id)).length,
      0,
    ),
  );
  rows.push({ what: 'every run final before the timeout', value: String(done), expected: 'true', ok: done });
  rows.push(expectEq('runs completed', counts.completed ?? 0, n));
  for (const s of Object.keys(counts).filter((k) => k !== 'completed'))
    rows.push(expectEq(`runs ${s}`, counts[s] ?? 0, 0));

  const ex = await runExecutions(stack.client, runnerId, n);
  rows.push(expectEq('Temporal run executions', ex.executions, n));
  rows.push(expectEq('Temporal executions per run > 1', ex.executions - ex.distinctIds, 0));
  rows.push(expectEq('Temporal executions closed COMPLETED', ex.byStatus.COMPLETED ?? 0, n));

  const steps = await pg.query<{ run_id: string; name: string; n: string; done: string }>(
    `SELECT s.run_id, s.name, count(*) AS n, count(*) FILTER (WHERE s.status = 'completed') AS done
       FROM runner_run_steps s JOIN runner_runs r ON r.id = s.run_id WHERE r.runner_id = $1 GROUP BY s.run_id, s.name`,
    [runnerId],
  );
  rows.push(
    expectEq(
      'step results recorded',
      steps.rows.reduce((s, r) => s + Number(r.n), 0),
      3 * n,
    ),
  );
  rows.push(expectEq('step results recorded twice', steps.rows.filter((r) => Number(r.n) > 1).length, 0));
  rows.push(
    expectEq(
      'step results completed',
      steps.rows.reduce((s, r) => s + Number(r.done), 0),
      3 * n,
    ),
  );

  const deliveries = stack.hooks.requests.slice(hooksBefore).filter((q) => q.path === '/hook');
  const keys = new Set(deliveries.map((q) => String(q.headers['idempotency-key'] ?? '')));
  rows.push(fact('webhook deliveries received', deliveries.length));
  rows.push(fact('webhook redeliveries (same Idempotency-Key)', deliveries.length - keys.size));
  rows.push(
    expectEq(
      'runs whose webhook key `<runId>:hook` was never seen',
      [...runIds].filter((id) => !keys.has(`${id}:hook`)).length,
      0,
    ),
  );
  rows.push(
    expectEq(
      'webhook deliveries without an Idempotency-Key',
      deliveries.filter((q) => !q.headers['idempotency-key']).length,
      0,
    ),
  );

  const ledger = await pg.query<{ run_id: string; n: string; keys: string }>(
    'SELECT run_id, count(*) AS n, count(DISTINCT call_key) AS keys FROM model_calls WHERE runner_id = $1 GROUP BY run_id',
    [runnerId],
  );
  const calls = stack.llm.requests.slice(llmBefore).filter((q) => q.path === '/v1/chat/completions');
  rows.push(fact('model requests served by the scripted model', calls.filter((q) => q.status === 200).length));
  rows.push(
    fact('tool requests received', stack.hooks.requests.slice(hooksBefore).filter((q) => q.path === '/tool').length),
  );
  // Two model calls per run (one asks for the tool, one answers): two rows, two distinct call keys.
  rows.push(
    expectEq(
      'ledger rows (model_calls)',
      ledger.rows.reduce((s, r) => s + Number(r.n), 0),
      2 * n,
    ),
  );
  rows.push(
    expectEq(
      'runs whose calls are not billed once each',
      n - ledger.rows.filter((r) => Number(r.n) === 2 && Number(r.keys) === 2).length,
      0,
    ),
  );
  rows.push(
    expectEq(
      'runs whose cost differs from their ledger',
      runs.rows.filter((r) => Number(r.cost).toFixed(6) !== Number(r.ledger).toFixed(6)).length,
      0,
    ),
  );
  return rows;
}
