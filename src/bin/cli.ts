import { RUNS_BULK_USAGE, runsBulkCommand } from '../cli/runs-bulk';
import { createDb } from '../db/client';
import { createApiKey } from '../services/api-keys';
import { readStackInfo } from '../dev/stack-file';
import { checkDatabase, checkMigrated, die, loadEnvOrDie } from './startup';

const USAGE = `usage: npm run cli -- <command>

commands:
  api-keys create --org <name> [--name <label>]   create an API key (printed once; only its hash is stored)
  runs bulk --runner <id> --file <path|->         start one run per line of a JSONL/CSV file (see below)

The database is DATABASE_URL, or the one of the dev stack \`npm start\` is running.

${RUNS_BULK_USAGE}`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const [group, action] = args;
  if (group === 'api-keys' && action === 'create') {
    const org = flag(args, 'org');
    if (!org) die('api-keys create needs --org <name>');
    const env = loadEnvOrDie();
    // DATABASE_URL when set, else the database of the dev stack `npm start` runs (it leaves it in .data/).
    const url =
      env.DATABASE_URL ??
      readStackInfo()?.databaseUrl ??
      die('DATABASE_URL is not set and no dev stack is running: start one with `npm start`, or set DATABASE_URL');
    await checkDatabase(url);
    await checkMigrated(url);
    const db = createDb(url, { poolSize: 1 });
    const { key, orgId } = await createApiKey(db, org, flag(args, 'name') ?? 'cli');
    await db.$disconnect();
    process.stdout.write(`${key}\n`);
    process.stderr.write(`Created an API key for org "${org}" (${orgId}). Store it now: it is not shown again.\n`);
    return;
  }
  if (group === 'runs' && action === 'bulk') {
    const io = { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
    process.exitCode = await runsBulkCommand(args.slice(2), io);
    return;
  }
  process.stderr.write(USAGE);
  process.exit(group ? 1 : 0);
}

main().catch((e: unknown) => die((e as Error).message));
