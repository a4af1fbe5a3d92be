/**
 * Secrets at rest: AES-256-GCM with a 256-bit key derived from `FLAPJACK_SECRET_KEY`.
 *
 * - Ciphertext text is versioned: `v1:<iv>:<tag>:<data>`, each part base64url (12-byte random IV,
 *   16-byte GCM tag). A later scheme gets a new prefix; `decrypt` refuses versions it does not know.
 * - An optional context string (the "additional authenticated data") binds a ciphertext to where it
 *   belongs (for instance `<orgId>/mcp_servers.env`): a value copied to another org's row or another
 *   column does not decrypt.
 * - The key is passed in (`createSecretBox(key)`); this module never reads the environment.
 * - Nothing here logs, and error messages never contain plaintext or key material.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, scryptSync } from 'node:crypto';
import { AppError } from '../errors/app-error';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Fixed salt for passphrase derivation: the derived key must be the same on every start. */
const PASSPHRASE_SALT = 'flapjack/secret-box/v1/passphrase';
const HKDF_INFO = 'flapjack/secret-box/v1/aes-256-gcm';

export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

export interface SecretBox {
  /** A short fingerprint of the key (safe to log) so operators can tell keys apart. */
  readonly keyId: string;
  encrypt(plaintext: string, context?: string): string;
  decrypt(ciphertext: string, context?: string): string;
  encryptJson(value: unknown, context?: string): string;
  decryptJson<T = unknown>(ciphertext: string, context?: string): T;
}

function decodeBase64Key(material: string): Buffer | null {
  const s = material.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) return null;
  const buf = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return buf.length === KEY_BYTES ? buf : null;
}

/**
 * Turns the configured key material into the 32-byte AES key.
 *
 * - base64 or base64url of exactly 32 bytes (what `openssl rand -base64 32` prints, and what the dev
 *   stack generates): used as input keying material for HKDF-SHA256;
 * - anything else is a passphrase (at least 16 characters): stretched with scrypt (N=2^15, r=8, p=1)
 *   first, so a guessable passphrase is at least expensive to guess.
 */
export function deriveSecretKey(material: string | Buffer): Buffer {
  let ikm: Buffer;
  if (Buffer.isBuffer(material)) {
    if (material.length !== KEY_BYTES) throw new SecretBoxError(`A raw secret key must be ${KEY_BYTES} bytes`);
    ikm = material;
  } else {
    const raw = decodeBase64Key(material);
    if (raw) {
      ikm = raw;
    } else {
      if (material.length < 16) {
        throw new SecretBoxError(
          'FLAPJACK_SECRET_KEY is too short: use base64 of 32 random bytes (openssl rand -base64 32) or a passphrase of at least 16 characters',
        );
      }
      ikm = scryptSync(material, PASSPHRASE_SALT, KEY_BYTES, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    }
  }
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), HKDF_INFO, KEY_BYTES));
}

/** A random key in the format `deriveSecretKey` prefers (base64 of 32 bytes). */
export function generateSecretKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

export function createSecretBox(material: string | Buffer): SecretBox {
  const key = deriveSecretKey(material);
  const keyId = createHash('sha256').update(key).update('key-id').digest('hex').slice(0, 12);

  const encrypt = (plaintext: string, context?: string): string => {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    if (context !== undefined) cipher.setAAD(Buffer.from(context, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, iv.toString('base64url'), tag.toString('base64url'), data.toString('base64url')].join(':');
  };

  const decrypt = (ciphertext: string, context?: string): string => {
    const parts = ciphertext.split(':');
    if (parts.length !== 4 || parts[0] !== VERSION) {
      throw new SecretBoxError(
        parts[0] && /^v\d+$/.test(parts[0]) ? `Unsupported secret version ${parts[0]}` : 'Not an encrypted secret',
      );
    }
    const iv = Buffer.from(parts[1] ?? '', 'base64url');
    const tag = Buffer.from(parts[2] ?? '', 'base64url');
    const data = Buffer.from(parts[3] ?? '', 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError('Malformed encrypted secret');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      if (context !== undefined) decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(
        'Could not decrypt a secret: it was encrypted with another FLAPJACK_SECRET_KEY or for another record',
      );
    }
  };

  return {
    keyId,
    encrypt,
    decrypt,
    encryptJson: (value, context) => encrypt(JSON.stringify(value), context),
    decryptJson: <T>(ciphertext: string, context?: string) => JSON.parse(decrypt(ciphertext, context)) as T,
  };
}

/**
 * The box, or a clear 503 when the server runs without `FLAPJACK_SECRET_KEY`: routes that store or show
 * secrets cannot work then, everything else still does.
 */
export function requireSecretBox(box: SecretBox | undefined): SecretBox {
  if (!box) {
    throw new AppError(
      'service_unavailable',
      'Secret storage is not configured on this server (set FLAPJACK_SECRET_KEY); resources with secrets are unavailable',
    );
  }
  return box;
}

/** Decrypts a stored secret for serialization; a key mismatch is an operator problem (503), not a 500. */
export function openStoredSecret<T>(box: SecretBox, ciphertext: string, context: string, json: boolean): T {
  try {
    return (json ? box.decryptJson<T>(ciphertext, context) : box.decrypt(ciphertext, context)) as T;
  } catch (e) {
    throw new AppError(
      'service_unavailable',
      'A stored secret cannot be decrypted with the configured FLAPJACK_SECRET_KEY (was the key changed?)',
      { cause: e instanceof SecretBoxError ? undefined : e },
    );
  }
}

/** The context (AAD) convention for secrets stored in a column of an org's row. */
export function secretContext(orgId: string, column: string): string {
  return `${orgId}/${column}`;
}

/** Encrypts a map of secret strings (env vars, headers) for `column` of an org's row; empty → null. */
export function sealSecretMap(
  box: SecretBox,
  orgId: string,
  column: string,
  value: Record<string, string> | null | undefined,
): string | null {
  return value && Object.keys(value).length ? box.encryptJson(value, secretContext(orgId, column)) : null;
}

/** The inverse of `sealSecretMap` (null stays null). */
export function openSecretMap(
  box: SecretBox,
  orgId: string,
  column: string,
  ciphertext: string | null,
): Record<string, string> | null {
  return ciphertext
    ? openStoredSecret<Record<string, string>>(box, ciphertext, secretContext(orgId, column), true)
    : null;
}
