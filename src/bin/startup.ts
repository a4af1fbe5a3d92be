import { ConfigError, loadEnv, type Env } from '../config/env';
import { errorMessage, probeDatabase } from '../dev/process';
import { maskConnectionString as maskUrl } from '../shared/mask';

/** Prints one clear line and exits: start-up problems are never stack traces. */
export function die(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

export function loadEnvOrDie(): Env {
  try {
    return loadEnv();
  } catch (e) {
    if (e instanceof ConfigError) die(e.message);
    throw e;
  }
}

export function requireDatabaseUrl(env: Env): string {
  if (!env.DATABASE_URL) die('DATABASE_URL is not set (npm start sets it for you; production entry points need it)');
  return env.DATABASE_URL;
}

/** Connects once with a short timeout so a bad DATABASE_URL fails fast with a clear reason. */
export async function checkDatabase(url: string, timeoutMs = 5_000): Promise<void> {
  await probeDatabase(url, timeoutMs).catch((e: unknown) =>
    die(`cannot connect to the database at ${maskUrl(url)}: ${errorMessage(e) || String((e as { code?: string }).code)}`),
  );
}
