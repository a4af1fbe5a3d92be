/**
 * `npm run bench`: every benchmark suite, one after the other, each in its own process (so one suite's
 * memory, servers and JIT state never colour the next). Each suite prints its own table and a JSON
 * line; this prints a summary of which suites passed at the end.
 *
 *   npm run bench                    # all suites
 *   npm run bench -- engine agent    # only these
 *
 * Suites: engine (run overhead against hand-written Temporal, issue 8), agent (agent-step overhead over
 * the model call, issue 9), analytics and budget (issue 10), cron and bulk (issue 11). Their sizes are
 * set by their own BENCH_* variables (see each file's header).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const SUITES = ['engine', 'agent', 'analytics', 'budget', 'cron', 'bulk'] as const;
type Suite = (typeof SUITES)[number];

function pick(argv: string[]): Suite[] {
  if (argv.length === 0) return [...SUITES];
  const unknown = argv.filter((a) => !(SUITES as readonly string[]).includes(a));
  if (unknown.length) {
    process.stderr.write(`unknown suite(s): ${unknown.join(', ')}; known: ${SUITES.join(', ')}\n`);
    process.exit(2);
  }
  return argv as Suite[];
}

function runSuite(suite: Suite): Promise<{ suite: Suite; code: number | null; seconds: number }> {
  const started = Date.now();
  const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
  process.stdout.write(`\n===== bench: ${suite} =====\n`);
  return new Promise((resolve) => {
    const child = spawn(tsx, [path.join(__dirname, `${suite}.ts`)], { stdio: 'inherit', env: process.env });
    child.on('exit', (code) => resolve({ suite, code, seconds: (Date.now() - started) / 1000 }));
  });
}

async function main(): Promise<void> {
  const results = [];
  for (const suite of pick(process.argv.slice(2))) results.push(await runSuite(suite));
  process.stdout.write('\n===== bench summary =====\n');
  for (const r of results) {
    process.stdout.write(
      `${r.suite.padEnd(10)} ${r.code === 0 ? 'ok    ' : `exit ${String(r.code)}`} ${r.seconds.toFixed(0)} s\n`,
    );
  }
  if (results.some((r) => r.code !== 0)) process.exitCode = 1;
}

void main();
