import { Client as PgClient } from 'pg';
import { ConfigError, loadEnv, type Env } from '../config/env';

/** Masks the password of a connection URL for messages. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return '<unparseable URL>';
  }
}

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
  const client = new PgClient({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (e) {
    die(`cannot connect to the database at ${maskUrl(url)}: ${(e as Error).message || (e as { code?: string }).code}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
