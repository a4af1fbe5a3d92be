import { ConfigError, loadEnv, type Env } from '../config/env';
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
    die(`cannot connect to the database at ${maskUrl(url)}: ${errorMessage(e) || String((e as { code?: string }).code)}`),
  );
}
