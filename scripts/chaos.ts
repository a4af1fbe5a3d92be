/**
 * `npm run chaos [-- --runs 1000] [-- --bulk 500] [-- --scenarios a,b,c] [-- --pg-outage-s 10]
 * [-- --temporal-down-s 5] [-- --timeout-min 20]`: fault runs against the real stack, every fault
 * aimed at loopback only and bounded in count and time (scripts/chaos/*, docs/RELIABILITY.md).
 * Starts its own stack: a fresh database on TEST_DATABASE_URL / DATABASE_URL (else an embedded
 * PostgreSQL) behind a TCP proxy, a Temporal dev server with a file database, the scripted model
 * server, a webhook receiver, and the API and worker as child processes. Prints one table per scenario;
 * exit code 1 when a check failed.
 */
import { runChaos, SCENARIOS, type Scenario } from './chaos/run';

function num(name: string, fallback: number, min = 1): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < min) throw new Error(`--${name} must be a number of at least ${min}`);
  return v;
}

function scenarios(): Scenario[] {
  const i = process.argv.indexOf('--scenarios');
  if (i < 0) return [...SCENARIOS];
  const list = (process.argv[i + 1] ?? '').split(',').map((s) => s.trim());
  const bad = list.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (bad.length || !list.length)
    throw new Error(`--scenarios takes a comma-separated list of ${SCENARIOS.join(', ')}`);
  return list as Scenario[];
}

async function main(): Promise<number> {
  const say = (m: string) => process.stdout.write(`${m}\n`);
  const reports = await runChaos({
    scenarios: scenarios(),
    runs: num('runs', 1000),
    bulk: num('bulk', 500),
    pgOutageMs: num('pg-outage-s', 10) * 1000,
    temporalDownMs: num('temporal-down-s', 5) * 1000,
    cronDownMs: num('cron-down-s', 20) * 1000,
    workerDownMs: num('worker-down-s', 2, 0) * 1000,
    timeoutMs: num('timeout-min', 20) * 60_000,
    command: `npm run chaos -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, ''),
    say,
  });
  const failed = reports.filter((r) => !r.passed);
  say(failed.length ? `FAIL: ${failed.map((r) => r.title).join('; ')}` : `PASS: ${reports.length} scenario(s)`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`chaos: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
