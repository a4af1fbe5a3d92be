import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import type { Server } from 'node:http';
import supertest from 'supertest';
import { createApp, type AppDeps } from '../api/app';
import { createResponseChecker, type ResponseChecker } from '../api/openapi-conformance';
import { currentOpenApiDocument, openApiOf } from '../api/openapi-document';
import { createLogger } from '../src/config/logger';
import { createDb, type PrismaClient } from '../src/db/client';
import { SYSTEM_ROLE } from '../src/db/roles';
import { createApiKey, createKeyResolver } from '../src/services/api-keys';
import type { ServiceDeps } from '../src/services/deps';
import { createSecretBox } from '../src/crypto/secret-box';
import { testEnv, type TestEnv } from './test-env';

export { testEnv, type TestEnv } from './test-env';

type App = ReturnType<typeof createApp>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options'] as const;
type Method = (typeof METHODS)[number];

const checkers = new WeakMap<object, ResponseChecker>();
let defaultChecker: ResponseChecker | undefined;

/** The checker of an app's own OpenAPI document (a plain server: the document this checkout builds). */
function checkerFor(app: App | Server): ResponseChecker {
  const doc = openApiOf(app);
  if (!doc) return (defaultChecker ??= createResponseChecker(currentOpenApiDocument()));
  let c = checkers.get(app);
  if (!c) {
    c = createResponseChecker(doc);
    checkers.set(app, c);
  }
  return c;
}

/**
 * supertest for an app, with every answer checked against the app's OpenAPI document: an undocumented
 * route, status, content type or field fails the request's promise (see api/openapi-conformance.ts).
 * Every request the integration tests make goes through here.
 */
export function request(app: App | Server): Record<Method, (path: string) => supertest.Test> {
  const agent = supertest(app);
  const checker = checkerFor(app);
  const call = (method: Method) => (path: string) =>
    agent[method](path).expect((res: supertest.Response) => {
      const problem = checker.check({
        method,
        path,
        status: res.status,
        contentType: res.headers['content-type'] as string | undefined,
        text: typeof res.text === 'string' ? res.text : '',
        body: res.body as unknown,
      });
      if (problem) throw new Error(`OpenAPI conformance: ${problem}`);
    });
  return Object.fromEntries(METHODS.map((m) => [m, call(m)])) as Record<Method, (path: string) => supertest.Test>;
}

export interface TestContext {
  env: TestEnv;
  /** The app's client: connections act as flapjack_app with no org until withOrg/withSystem. */
  db: PrismaClient;
  /** A client whose connections act as flapjack_system (every org): for seeding and inspecting rows in tests. */
  systemDb: PrismaClient;
  services: ServiceDeps;
  client: Client;
  app: App;
  /** An API key of a fresh org, and one of a second org for isolation checks. */
  keyA: string;
  orgA: string;
  keyB: string;
  orgB: string;
  /** supertest bound to the app with org A's key. */
  api: {
    get(path: string): supertest.Test;
    post(path: string, body?: unknown): supertest.Test;
    patch(path: string, body?: unknown): supertest.Test;
    put(path: string, body?: unknown): supertest.Test;
    delete(path: string): supertest.Test;
  };
  as(key: string): TestContext['api'];
  /** Closes the context's connections (done for you after the file's last test). */
  close(): Promise<void>;
}

/** Contexts opened by this test file; closed after its last test. */
const open: TestContext[] = [];
afterAll(async () => {
  for (const c of open.splice(0)) await c.close().catch(() => undefined);
});

/**
 * Builds an in-process API (createApp) on the real test stack, with two fresh orgs. Its connections are
 * closed after the file's last test. Usable anywhere async (a `beforeAll`, a test).
 */
export async function createTestContext(overrides: Partial<AppDeps> = {}): Promise<TestContext> {
  const env = testEnv();
  const db = createDb(env.databaseUrl, { poolSize: 10 });
  const systemDb = createDb(env.databaseUrl, { poolSize: 3, sessionRole: SYSTEM_ROLE });
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
  const ctx: TestContext = {
    env,
    db,
    systemDb,
    services,
    client,
    app,
    keyA: a.key,
    orgA: a.orgId,
    keyB: b.key,
    orgB: b.orgId,
    api: as(a.key),
    as,
    close: async () => {
      await connection.close();
      await db.$disconnect();
      await systemDb.$disconnect();
    },
  };
  open.push(ctx);
  return ctx;
}

/**
 * The usual way to get a context: call at the top level of a test file (or of a `describe`). Returns an
 * object whose fields are filled in by a `beforeAll`, so they are there from the first test on.
 */
export function useTestContext(overrides: Partial<AppDeps> = {}): TestContext {
  const ctx = {} as TestContext;
  beforeAll(async () => {
    Object.assign(ctx, await createTestContext(overrides));
  });
  return ctx;
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with the last value). */
export async function waitFor<T>(
  fn: () => Promise<T>,
  pred: (v: T) => boolean,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!pred(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting; last value: ${JSON.stringify(last).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, everyMs));
    last = await fn();
  }
  return last;
}
