import { applyMigrations, ensureDatabase } from '../db/migrate';
import { maskConnectionString as maskUrl } from '../shared/mask';
import { checkDatabase, die, loadEnvOrDie, requireDatabaseUrl } from './startup';

async function main(): Promise<void> {
  const env = loadEnvOrDie();
  const url = requireDatabaseUrl(env);
  await ensureDatabase(url).catch(() => undefined);
  await checkDatabase(url);
  const r = await applyMigrations(url);
  process.stdout.write(
    `migrations: ${r.applied.length} applied${r.applied.length ? ` (${r.applied.join(', ')})` : ''}, ${r.alreadyApplied.length} already applied — ${maskUrl(url)}\n`,
  );
}

main().catch((e: unknown) => die((e as Error).message));
