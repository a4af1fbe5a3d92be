/**
 * Scenario a: N runs of a webhook → computer → agent runner while the worker is SIGKILLed twice, the
 * Temporal dev server is stopped and started once, and PostgreSQL is unreachable for a while (the
 * proxy resets every connection and refuses new ones). Faults fire when a given share of the runs is
 * final, and each meets the runs of its own gate chunk in flight whatever the machine's speed.
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
  // unfinished, so the API itself is exercised during the outages (a refused chunk is sent again with the
  // same keys).
  const chunk = Math.max(5, Math.ceil(o.runs / 40));
  // At most 100 unfinished: with 250 in flight on a starved 2-core machine the worker's workflow tasks
  // outlived their 10 s timeout and the run stalled (docs/RELIABILITY.md, "Found").
  const window = Math.max(4 * chunk, Math.min(100, Math.ceil(o.runs / 4)));
  // Every fault meets runs in flight, however fast the machine: each fault has a gate chunk, which the
  // submitter holds back until the fault is due and whose webhook requests get no answer until the fault
  // has begun. (Pacing by final counts alone was not enough: runs can all end between the submitter's last
  // chunk and the fault, and once a whole 8-minute wait met nothing in flight.)
  const shares = [0.1, 0.3, 0.5, 0.7];
  const lastChunkAt = Math.floor((o.runs - 1) / chunk) * chunk;
  const gates = shares.map((share, k) => {
    const threshold = Math.floor(o.runs * share);
    // The gate is past the threshold, so the runs before it can reach the threshold while it waits.
    return {
      k,
      threshold,
      at: Math.min(lastChunkAt, (Math.ceil(threshold / chunk) + 1) * chunk),
      due: deferred(),
      submitted: deferred(),
    };
  });
  if (gates.some((g, i) => g.at <= g.threshold || (i > 0 && g.at <= gates[i - 1]!.at)))
    throw new Error(`a: ${o.runs} runs are too few for ${shares.length} faults in chunks of ${chunk}`);
  say(`a: submitting ${o.runs} runs in chunks of ${chunk}, at most ${window} unfinished`);
  const gateAt = new Map(gates.map((g) => [g.at, g]));
  const items = Array.from({ length: o.runs }, (_, i) => {
    const gate = gateAt.get(Math.floor(i / chunk) * chunk);
    return { input: { n: i, ...(gate ? { hold: `fault-${gate.k}` } : {}) }, idempotencyKey: `chaos-a-${i}` };
  });
  const runIds = new Set<string>();
  let retries = 0;
  const submitting = (async () => {
    try {
      for (let at = 0; at < o.runs; at += chunk) {
        const gate = gateAt.get(at);
        if (gate) await gate.due.promise;
        else await waitFinalAtLeast(stack.pg, runnerId, at - window, o.timeoutMs);
        const r = await submitBulk(stack, runnerId, items.slice(at, at + chunk), chunk, o.timeoutMs);
        for (const id of r.ids) runIds.add(id);
        retries += r.retries;
        gate?.submitted.resolve();
      }
    } catch (e) {
      // A fault waiting for its gate chunk fails with the submitter's error instead of waiting forever.
      for (const g of gates) g.submitted.reject(e);
      throw e;
    }
  })();
  // A failed submitter must not surface as an unhandled rejection while the faults are still going.
  submitting.catch(() => undefined);
  for (const g of gates) g.submitted.promise.catch(() => undefined);

  const faults: FaultRecord[] = [];
  const fault = async (k: number, name: string, act: () => Promise<void>) => {
    const gate = gates[k]!;
    const reached = await waitFinalAtLeast(stack.pg, runnerId, gate.threshold, 10 * 60_000);
    gate.due.resolve();
    await gate.submitted.promise;
    const counts = await statusCounts(stack.pg, runnerId);
    const t = Date.now();
    say(`a: ${name} (${reached}/${o.runs} final)`);
    const acting = act();
    stack.releaseHeld(`fault-${k}`);
    await acting;
    faults.push({ fault: name, atFinal: reached, inFlight: total(counts) - finalCount(counts), ms: Date.now() - t });
  };
  const killWorker = async () => {
    await stack.worker.kill();
    await sleep(o.workerDownMs);
    await stack.worker.start();
  };
  await fault(0, 'worker SIGKILL #1 and restart', killWorker);
  await fault(1, `Temporal stopped ${o.temporalDownMs / 1000} s and restarted`, () =>
    stack.temporal.restart(o.temporalDownMs),
  );
  await fault(2, `PostgreSQL unreachable ${o.pgOutageMs / 1000} s`, async () => {
    stack.proxy.pause();
    await sleep(o.pgOutageMs);
    stack.proxy.resume();
  });
  await fault(3, 'worker SIGKILL #2 and restart', killWorker);

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

/** A promise with its resolve and reject outside. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
