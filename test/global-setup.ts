import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { createDb } from '../src/db/client';
import { applyMigrations, dropDatabase, ensureDatabase } from '../src/db/migrate';
import { reachableLocation, startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { resolveTemporalBinary } from '../src/dev/temporal-binary';
import { REPO_ROOT, startTemporalDevServer } from '../src/dev/temporal-server';
import { createRunWorker, installTemporalRuntime } from '../src/bin/worker-runtime';
import { createLogger } from '../src/config/logger';
import { createSecretBox, generateSecretKey } from '../src/crypto/secret-box';
import { startFakeAnthropic } from './fixtures/fake-anthropic';
import { startFakeOpenAI } from './fixtures/fake-openai';
import { TEST_ENV_VAR, type TestEnv } from './test-env';

/**
 * jest's globalSetup for the integration project: the real stack every integration test talks to, a
 * Temporal dev server (in memory, free port), a PostgreSQL (TEST_DATABASE_URL when given, else an
 * embedded one under .data/), a fresh migrated database, and one run worker on the test task queue.
 * Nothing is mocked; a missing piece fails. The addresses reach the test workers through
 * FLAPJACK_TEST_ENV; test/global-teardown.ts stops everything.
 */

export default async function setup(): Promise<void> {
  const log = (m: string) => process.stderr.write(`[test-stack] ${m}\n`);
  const started = Date.now();
  const [binary, pgBase] = await Promise.all([
    resolveTemporalBinary({ log }),
    (async () => {
      if (process.env.TEST_DATABASE_URL)
        return { url: process.env.TEST_DATABASE_URL, stop: async (): Promise<void> => undefined };
      // One throwaway cluster per test run, so concurrent runs never share a data directory.
      const root = path.join(REPO_ROOT, '.data', 'test-pg');
      await mkdir(root, { recursive: true });
      await removeStaleClusters(root);
      const dataDir = path.join(root, String(process.pid));
      const pg = await startEmbeddedPostgres({ dataDir, port: 0, log });
      return {
        url: pg.url,
        stop: async (): Promise<void> => {
          await pg.stop();
          await removeCluster(root, String(process.pid));
        },
      };
    })(),
  ]);
  const temporal = await startTemporalDevServer({ binary, uiPort: false, port: 0, log });

  const dbUrl = new URL(pgBase.url);
  dbUrl.pathname = `/flapjack_test_${Date.now()}_${process.pid}`;
  const databaseUrl = dbUrl.toString();
  await ensureDatabase(databaseUrl);
  await applyMigrations(databaseUrl);

  // The only fakes of the stack: scripted LLM providers, which the worker's providers point at like
  // any OpenAI-compatible or Anthropic endpoint (tests script them over HTTP, see fixtures/fake-llm.ts).
  const [fakeOpenAi, fakeAnthropic] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
  const testEnv: TestEnv = {
    fakeOpenAiOrigin: fakeOpenAi.origin,
    fakeAnthropicOrigin: fakeAnthropic.origin,
    databaseUrl,
    temporalAddress: temporal.address,
    namespace: temporal.namespace,
    taskQueue: 'flapjack-test',
    secretKey: generateSecretKey(),
  };
  installTemporalRuntime(createLogger(process.env.TEST_LOG_LEVEL ?? 'error', 'test-worker'), 'ERROR');
  const db = createDb(databaseUrl, { poolSize: 20 });
  const { worker, connection } = await createRunWorker({
    db,
    temporal: { address: temporal.address, namespace: temporal.namespace, taskQueue: testEnv.taskQueue },
    egressAllowlist: ['127.0.0.1'],
    webhookTimeoutMs: 10_000,
    secrets: createSecretBox(testEnv.secretKey),
    agent: {
      llm: {
        openai: { apiKey: 'sk-test-openai', baseUrl: fakeOpenAi.url },
        anthropic: { apiKey: 'sk-ant-test', baseUrl: fakeAnthropic.url },
        retry: { baseDelayMs: 100 },
      },
    },
  });
  const running = worker.run();
  log(`ready in ${Date.now() - started} ms: temporal ${temporal.address}, database ${dbUrl.pathname.slice(1)}`);
  process.env[TEST_ENV_VAR] = JSON.stringify(testEnv);

  (globalThis as { __flapjackTeardown?: () => Promise<void> }).__flapjackTeardown = async () => {
    worker.shutdown();
    await running.catch(() => undefined);
    await connection.close().catch(() => undefined);
    await db.$disconnect();
    await temporal.stop();
    // On a server of the caller's (TEST_DATABASE_URL) the run's database goes; an embedded cluster goes whole.
    if (process.env.TEST_DATABASE_URL)
      await dropDatabase(databaseUrl).catch((e: unknown) => log(`could not drop ${databaseUrl}: ${String(e)}`));
    await pgBase.stop();
    await Promise.all([fakeOpenAi.close(), fakeAnthropic.close()]);
  };
}

/** Deletes clusters left by test runs that died (their pid is gone). */
async function removeStaleClusters(root: string): Promise<void> {
  for (const name of await readdir(root)) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) await removeCluster(root, name);
  }
}

/** A cluster is its directory plus the launcher's `<dir>.password` and `<dir>.owner.json` beside it. */
async function removeCluster(root: string, name: string): Promise<void> {
  await rm(path.join(root, name), { recursive: true, force: true });
  // As root in a directory the postgres OS user cannot enter, the cluster lived outside the checkout.
  await rm(reachableLocation(path.join(root, name)), { recursive: true, force: true });
  await rm(path.join(root, `${name}.password`), { force: true });
  await rm(path.join(root, `${name}.owner.json`), { force: true });
}
