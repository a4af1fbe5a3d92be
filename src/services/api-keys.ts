import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../db/client';
import { API_KEY_RE } from '../config/env';
import type { Principal } from './deps';

export const KEY_PREFIX = 'fj_live_';

/** SHA-256 of the whole key: the only form in which a key is stored. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(24).toString('base64url');
}

/** The part of a key that is safe to show (prefix plus four characters). */
export function displayPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX.length + 4);
}

async function ensureOrg(db: PrismaClient, orgName: string): Promise<string> {
  const org = await db.org.upsert({ where: { name: orgName }, update: {}, create: { name: orgName } });
  return org.id;
}

/** Creates a new key for `orgName` (creating the org when missing); the key is returned once. */
export async function createApiKey(
  db: PrismaClient,
  orgName: string,
  name = 'default',
): Promise<{ key: string; orgId: string; id: string }> {
  const orgId = await ensureOrg(db, orgName);
  const key = generateApiKey();
  const row = await db.apiKey.create({
    data: { orgId, name, prefix: displayPrefix(key), secretHash: hashApiKey(key) },
  });
  return { key, orgId, id: row.id };
}

/** Makes sure `key` exists for the org `default` (FLAPJACK_BOOTSTRAP_API_KEY). Idempotent. */
export async function ensureBootstrapKey(db: PrismaClient, key: string, orgName = 'default'): Promise<void> {
  if (!API_KEY_RE.test(key)) throw new Error('FLAPJACK_BOOTSTRAP_API_KEY has the wrong format');
  const orgId = await ensureOrg(db, orgName);
  await db.apiKey.upsert({
    where: { secretHash: hashApiKey(key) },
    update: {},
    create: { orgId, name: 'bootstrap', prefix: displayPrefix(key), secretHash: hashApiKey(key) },
  });
}

/**
 * Resolves a bearer key to its org. Lookups are cached briefly (positive and negative) so the hot path
 * costs no database round trip; a revoked key stops working within the cache TTL.
 */
export function createKeyResolver(db: PrismaClient, ttlMs = 30_000) {
  const cache = new Map<string, { principal: Principal | null; expires: number }>();
  return async function resolve(key: string): Promise<Principal | null> {
    if (!API_KEY_RE.test(key)) return null;
    const hash = hashApiKey(key);
    const now = Date.now();
    const hit = cache.get(hash);
    if (hit && hit.expires > now) return hit.principal;
    const row = await db.apiKey.findUnique({ where: { secretHash: hash } });
    const principal = row && !row.revokedAt ? { orgId: row.orgId, apiKeyId: row.id } : null;
    if (cache.size > 10_000) cache.clear();
    cache.set(hash, { principal, expires: now + (principal ? ttlMs : 5_000) });
    if (row && principal) {
      void db.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } }).catch(() => undefined);
    }
    return principal;
  };
}
