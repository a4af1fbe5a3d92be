import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import request from 'supertest';
import { afterAll, inject } from 'vitest';
import { createApp, type AppDeps } from '../api/app';
import { createLogger } from '../src/config/logger';
import { createDb, type PrismaClient } from '../src/db/client';
import { createApiKey, createKeyResolver } from '../src/services/api-keys';
import type { ServiceDeps } from '../src/services/deps';
import { createSecretBox } from '../src/services/secrets';

export interface TestContext {
  env: ReturnType<typeof inject<'testEnv'>>;
  db: PrismaClient;
  services: ServiceDeps;
  client: Client;
  app: ReturnType<typeof createApp>;
  /** An API key of a fresh org, and one of a second org for isolation checks. */
  keyA: string;
  orgA: string;
  keyB: string;
  orgB: string;
  /** supertest bound to the app with org A's key. */
  api: {
    get(path: string): request.Test;
    post(path: string, body?: unknown): request.Test;
    patch(path: string, body?: unknown): request.Test;
    put(path: string, body?: unknown): request.Test;
    delete(path: string): request.Test;
  };
  as(key: string): TestContext['api'];
}

/**
 * Builds an in-process API (createApp) on the real test stack, with two fresh orgs. Call once per
 * test file (top level); resources are closed after the file.
 */
export async function createTestContext(overrides: Partial<AppDeps> = {}): Promise<TestContext> {
  const env = inject('testEnv');
  const db = createDb(env.databaseUrl, { poolSize: 10 });
  const connection = await Connection.connect({ address: env.temporalAddress });
  const client = new Client({ connection, namespace: env.namespace });
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const services: ServiceDeps = {
    db,
    log,
    temporal: { client, taskQueue: env.taskQueue, namespace: env.namespace },
    publicUrl: 'http://localhost:3000',
    secrets: createSecretBox(env.secretKey),
  };
  const app = createApp({
    services,
    resolveApiKey: createKeyResolver(db),
    rateLimit: { ratePerSec: 10_000, burst: 10_000 },
    ...overrides,
  });
  const a = await createApiKey(db, `org-a-${randomUUID()}`);
  const b = await createApiKey(db, `org-b-${randomUUID()}`);
  const as = (key: string) => ({
    get: (p: string) => request(app).get(p).set('Authorization', `Bearer ${key}`),
    post: (p: string, body?: unknown) =>
      request(app)
        .post(p)
        .set('Authorization', `Bearer ${key}`)
        .send(body as object),
    patch: (p: string, body?: unknown) =>
      request(app)
        .patch(p)
        .set('Authorization', `Bearer ${key}`)
        .send(body as object),
    put: (p: string, body?: unknown) =>
      request(app)
        .put(p)
        .set('Authorization', `Bearer ${key}`)
        .send(body as object),
    delete: (p: string) => request(app).delete(p).set('Authorization', `Bearer ${key}`),
  });
  afterAll(async () => {
    await connection.close();
    await db.$disconnect();
  });
  return { env, db, services, client, app, keyA: a.key, orgA: a.orgId, keyB: b.key, orgB: b.orgId, api: as(a.key), as };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with the last value). */
export async function waitFor<T>(fn: () => Promise<T>, pred: (v: T) => boolean, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!pred(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting; last value: ${JSON.stringify(last).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, everyMs));
    last = await fn();
  }
  return last;
}
