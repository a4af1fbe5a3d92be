import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../db/client';
import { orgBatch, systemBatch, withSystem, type Tx } from '../db/scoped';
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

async function ensureOrg(tx: Tx, orgName: string): Promise<string> {
  const org = await tx.org.upsert({ where: { name: orgName }, update: {}, create: { name: orgName } });
  return org.id;
}

/**
 * Creates a new key for `orgName` (creating the org when missing); the key is returned once. The org is
 * found by name, so this is one of the cross-org paths (org and key in one transaction).
 */
export async function createApiKey(
  db: PrismaClient,
  orgName: string,
  name = 'default',
): Promise<{ key: string; orgId: string; id: string }> {
  const key = generateApiKey();
  return withSystem(db, 'org and api-key creation', async (tx) => {
    const orgId = await ensureOrg(tx, orgName);
    const row = await tx.apiKey.create({
      data: { orgId, name, prefix: displayPrefix(key), secretHash: hashApiKey(key) },
    });
    return { key, orgId, id: row.id };
  });
}

/** Makes sure `key` exists for the org `default` (FLAPJACK_BOOTSTRAP_API_KEY). Idempotent. */
export async function ensureBootstrapKey(db: PrismaClient, key: string, orgName = 'default'): Promise<void> {
  if (!API_KEY_RE.test(key)) throw new Error('FLAPJACK_BOOTSTRAP_API_KEY has the wrong format');
  await withSystem(db, 'org and api-key creation', async (tx) => {
    const orgId = await ensureOrg(tx, orgName);
    await tx.apiKey.upsert({
      where: { secretHash: hashApiKey(key) },
      update: {},
      create: { orgId, name: 'bootstrap', prefix: displayPrefix(key), secretHash: hashApiKey(key) },
    });
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
    // The key names its org, so the lookup cannot be org-scoped; it reads one row by its hash.
    const [found] = await systemBatch<{ id: string; org_id: string; revoked: boolean }>(db, 'api-key lookup', (q) => [
      `SELECT id, org_id, revoked_at IS NOT NULL AS revoked FROM api_keys WHERE secret_hash = ${q.lit(hash)}`,
    ]);
    const row = found?.rows[0];
    const principal = row && !row.revoked ? { orgId: row.org_id, apiKeyId: row.id } : null;
    if (cache.size > 10_000) cache.clear();
    cache.set(hash, { principal, expires: now + (principal ? ttlMs : 5_000) });
    if (principal) {
      // Once the org is known, the bookkeeping write is an ordinary org-scoped one.
      void orgBatch(db, principal.orgId, (q) => [
        `UPDATE api_keys SET last_used_at = now() WHERE id = ${q.lit(principal.apiKeyId)}`,
      ]).catch(() => undefined);
    }
    return principal;
  };
}
