import { Client } from 'pg';
import { ConfigError, loadEnv, type Env } from '../config/env';
import { APP_ROLE, SYSTEM_ROLE } from '../db/roles';
import { createSecretBox, type SecretBox } from '../crypto/secret-box';
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

/**
 * The secret box from `FLAPJACK_SECRET_KEY`, which the API and the worker cannot run without (stored
 * credentials would be unreadable); stops with one line when it is missing or unusable.
 */
export function requireSecretBox(env: Env): SecretBox {
  if (!env.FLAPJACK_SECRET_KEY) {
    die(
      'FLAPJACK_SECRET_KEY is not set: it encrypts stored credentials. Generate one with `openssl rand -base64 32` ' +
        '(npm start keeps one in .data/secret-key)',
    );
  }
  try {
    return createSecretBox(env.FLAPJACK_SECRET_KEY);
  } catch (e) {
    die(errorMessage(e));
  }
}

/** Connects once with a short timeout so a bad DATABASE_URL fails fast with a clear reason. */
export async function checkDatabase(url: string, timeoutMs = 5_000): Promise<void> {
  await probeDatabase(url, timeoutMs).catch((e: unknown) =>
    die(
      `cannot connect to the database at ${maskUrl(url)}: ${errorMessage(e) || String((e as { code?: string }).code)}`,
    ),
  );
}

/**
 * The app's connections start as flapjack_app and switch to flapjack_system for the listed cross-org
 * paths (docs/tenancy.md); both roles come from the migrations. Without them every query would fail
 * with a cryptic "invalid value for parameter role", so say what to do instead.
 */
export async function checkMigrated(url: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const r = await client.query<{ rolname: string }>(
      `SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[]) AND pg_has_role(session_user, oid, 'MEMBER')`,
      [[APP_ROLE, SYSTEM_ROLE]],
    );
    const missing = [APP_ROLE, SYSTEM_ROLE].filter((role) => !r.rows.some((row) => row.rolname === role));
    if (missing.length) {
      die(
        `the database at ${maskUrl(url)} is not migrated (its user cannot act as ${missing.join(' and ')}): ` +
          'run `npm run migrate` with the same DATABASE_URL',
      );
    }
  } catch (e) {
    die(`cannot check the database at ${maskUrl(url)}: ${errorMessage(e)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
