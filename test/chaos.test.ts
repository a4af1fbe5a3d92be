import { describe, expect, it } from '@jest/globals';
import { runChaos } from '../scripts/chaos/run';
import { formatReport } from '../scripts/chaos/report';

/**
 * `npm run chaos` at a small count: scenario a with 50 runs (worker SIGKILLed twice, Temporal stopped and
 * restarted, PostgreSQL unreachable for 10 s) and scenario b with a 100-item bulk import whose API is
 * SIGKILLed. Its own stack (not the shared test stack): the faults would hit every other test file.
 * Scenario c (cron across a Temporal restart) needs three real minutes and stays in `npm run chaos`.
 */
describe('chaos at a small count', () => {
  it(
    'loses no run, records no step twice, bills each model call once, and starts every recorded bulk run',
    async () => {
      const log: string[] = [];
      const reports = await runChaos({
        scenarios: ['a', 'b'],
        runs: 50,
        bulk: 100,
        pgOutageMs: 10_000,
        temporalDownMs: 5_000,
        cronDownMs: 20_000,
        workerDownMs: 1_000,
        timeoutMs: 8 * 60_000,
        command: 'test/chaos.test.ts',
        say: (m) => log.push(m),
      });
      const failed = reports.flatMap((r) =>
        r.rows.filter((c) => c.ok === false).map((c) => `${r.title}: ${c.what} = ${c.value}, expected ${c.expected}`),
      );
      if (failed.length) process.stderr.write(`${reports.map(formatReport).join('\n\n')}\n${log.join('\n')}\n`);
      expect(failed).toEqual([]);
      expect(reports.map((r) => r.passed)).toEqual([true, true]);
      // The faults met runs in flight (each fault holds back a chunk of runs and their webhooks to make sure of it).
      const faults = reports[0]!.rows.filter((r) => r.what.startsWith('fault:'));
      expect(faults).toHaveLength(4);
      for (const f of faults) expect(String(f.value)).not.toMatch(/, 0 in flight/);
    },
    15 * 60_000,
  );
});
