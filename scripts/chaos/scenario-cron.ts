/**
 * Scenario c: a cron trigger firing every minute across a Temporal restart whose downtime covers a
 * minute boundary. With the default policies (overlap `skip`, catch-up window 60 s) and runs far shorter
 * than a minute, no fire may be lost: the one due while Temporal was down is taken late, when it is back.
 */
import { sleep } from '../../src/dev/process';
import { createRunner, must, statusCounts, waitAllFinal } from './checks';
import { expectEq, fact, report, type ScenarioReport } from './report';
import type { ChaosStack, Say } from './stack';

export interface CronScenarioOptions {
  /** How long the Temporal dev server stays down (must cover a minute boundary, and stay under 60 s). */
  temporalDownMs: number;
  command: string;
}

const MINUTE = 60_000;
const untilTime = (t: number) => sleep(Math.max(0, t - Date.now()));

export async function cronAcrossRestart(stack: ChaosStack, o: CronScenarioOptions, say: Say): Promise<ScenarioReport> {
  const runnerId = await createRunner(stack, `chaos-cron-${Date.now()}`, [
    { name: 'echo', kind: 'computer', computer: { runtime: 'javascript', code: 'return { at: Date.now() };' } },
  ]);
  // Leave at least 15 s before the first boundary so the schedule exists well before it.
  if (MINUTE - (Date.now() % MINUTE) < 15_000) await untilTime(Math.ceil(Date.now() / MINUTE) * MINUTE + 1_000);
  const trigger = await must<{ id: string }>(stack, 'POST', `/api/runners/${runnerId}/triggers`, {
    kind: 'cron',
    cronExpression: '* * * * *',
    overlapPolicy: 'skip',
    catchupWindowSeconds: 60,
  });
  const created = Date.now();
  const b1 = Math.ceil(created / MINUTE) * MINUTE;
  const b2 = b1 + MINUTE;
  const b3 = b2 + MINUTE;
  say(
    `c: cron trigger created; fires due at ${[b1, b2, b3].map((b) => new Date(b).toISOString().slice(11, 19)).join(', ')}`,
  );
  // Temporal goes down shortly before the second boundary and comes back after it.
  await untilTime(b2 - 8_000);
  say(`c: stopping Temporal for ${o.temporalDownMs / 1000} s across ${new Date(b2).toISOString().slice(11, 19)}`);
  const downAt = Date.now();
  await stack.temporal.restart(o.temporalDownMs);
  const upAt = Date.now();
  await untilTime(b3 + 20_000);
  await must(stack, 'PATCH', `/api/runners/${runnerId}/triggers/${trigger.id}`, { enabled: false }, 200);

  const expected = [b1, b2, b3].map((b) => new Date(b).toISOString());
  const rows = await stack.pg.query<{ key: string; created_at: Date }>(
    'SELECT idempotency_key AS key, created_at FROM runner_runs WHERE trigger_id = $1 ORDER BY created_at',
    [trigger.id],
  );
  const fireOf = (key: string) => new Date(key.slice(`cron:${trigger.id}:`.length)).toISOString();
  const fired = rows.rows.map((r) => ({ at: fireOf(r.key), recorded: r.created_at.getTime() }));
  const firedSet = new Set(fired.map((f) => f.at));
  const { counts, done } = await waitAllFinal(stack.pg, runnerId, rows.rowCount ?? 0, 60_000, say);
  const late = fired.find((f) => f.at === new Date(b2).toISOString());
  return report('c. cron trigger across a Temporal restart', o.command, [
    fact(
      'Temporal down',
      `${((upAt - downAt) / 1000).toFixed(1)} s, covering ${new Date(b2).toISOString().slice(11, 19)}`,
    ),
    fact('fires due', expected.length),
    expectEq('fires lost', expected.filter((e) => !firedSet.has(e)).length, 0),
    expectEq('fires recorded twice', fired.length - firedSet.size, 0),
    fact('fires outside the window', fired.filter((f) => !expected.includes(f.at)).length),
    fact('fire due during the outage recorded', late ? `${((late.recorded - b2) / 1000).toFixed(1)} s late` : 'never'),
    { what: 'every fired run final', value: String(done), expected: 'true', ok: done },
    expectEq('fired runs completed', counts.completed ?? 0, fired.length),
    fact('run statuses', JSON.stringify(await statusCounts(stack.pg, runnerId))),
  ]);
}
