/** Runs the chosen chaos scenarios on one stack, in order; used by `npm run chaos` and test/chaos.test.ts. */
import { formatReport, type ScenarioReport } from './report';
import { bulkWhileApiDies } from './scenario-bulk';
import { cronAcrossRestart } from './scenario-cron';
import { runsUnderFaults } from './scenario-runs';
import { startChaosStack, type Say } from './stack';

export const SCENARIOS = ['a', 'b', 'c'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ChaosOptions {
  scenarios: Scenario[];
  runs: number;
  bulk: number;
  pgOutageMs: number;
  temporalDownMs: number;
  /** Temporal downtime in scenario c: must cover a minute boundary (and stay under the 60 s catch-up window). */
  cronDownMs: number;
  workerDownMs: number;
  timeoutMs: number;
  /** The command line shown under each table. */
  command: string;
  say: Say;
}

export async function runChaos(o: ChaosOptions): Promise<ScenarioReport[]> {
  const stack = await startChaosStack({ say: o.say });
  const reports: ScenarioReport[] = [];
  let failed = false;
  // Ctrl-C must not leave the API, the worker and the Temporal server behind.
  const interrupted = () => {
    o.say('interrupted: stopping the stack');
    void stack.close(true).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    for (const s of o.scenarios) {
      const r =
        s === 'a'
          ? await runsUnderFaults(stack, { ...o, runs: o.runs }, o.say)
          : s === 'b'
            ? await bulkWhileApiDies(stack, { items: o.bulk, timeoutMs: o.timeoutMs, command: o.command }, o.say)
            : await cronAcrossRestart(stack, { temporalDownMs: o.cronDownMs, command: o.command }, o.say);
      o.say(`\n${formatReport(r)}\n`);
      reports.push(r);
      failed ||= !r.passed;
    }
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await stack.close(failed);
  }
  return reports;
}
