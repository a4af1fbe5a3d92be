/**
 * `npm run fuzz [-- --runs N] [-- --seed S]`: starts the real stack (Temporal dev server, a fresh migrated
 * PostgreSQL database, a run worker; see test/global-setup.ts), builds the API in process and sends N
 * property-based requests generated from /api/openapi.json (scripts/fuzz-requests.ts). Loopback only.
 * Exit code 1 when any request failed a property.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { createApp } from '../api/app';
import { createLogger } from '../src/config/logger';
import { createSecretBox } from '../src/crypto/secret-box';
import { createDb } from '../src/db/client';
import { createApiKey, createKeyResolver } from '../src/services/api-keys';
import setup from '../test/global-setup';
import teardown from '../test/global-teardown';
import { testEnv } from '../test/test-env';
import { runFuzz } from './fuzz-requests';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

async function main(): Promise<number> {
  const runs = arg('runs', 1000);
  const seed = arg('seed', 20261129);
  process.env.TEST_DATABASE_URL ??= process.env.DATABASE_URL;
  await setup();
  const env = testEnv();
  const db = createDb(env.databaseUrl, { poolSize: 10 });
  const connection = await Connection.connect({ address: env.temporalAddress });
  try {
    const client = new Client({ connection, namespace: env.namespace });
    const app = createApp({
      services: {
        db,
        log: createLogger('silent'),
        temporal: { client, taskQueue: env.taskQueue, namespace: env.namespace },
        publicUrl: 'http://localhost:3000',
        secrets: createSecretBox(env.secretKey),
      },
      resolveApiKey: createKeyResolver(db),
      rateLimit: { ratePerSec: 100_000, burst: 100_000 },
    });
    const a = await createApiKey(db, `fuzz-a-${randomUUID()}`);
    const b = await createApiKey(db, `fuzz-b-${randomUUID()}`);
    const started = Date.now();
    const r = await runFuzz({ app, keyA: a.key, keyB: b.key, runs, seed, log: (l) => console.log(l) });
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`fuzz: ${r.runs} requests over ${r.operations} operations, seed ${r.seed}, ${secs} s`);
    console.log(
      `statuses: ${Object.entries(r.statuses)
        .sort()
        .map(([s, n]) => `${s}×${n}`)
        .join(' ')}`,
    );
    console.log(
      r.failures.length
        ? `FAILED (${r.failures.length}):\n${r.failures.join('\n')}`
        : 'result: OK (no 5xx, every 4xx in the error shape, org A unchanged and unseen)',
    );
    console.log(
      JSON.stringify({ suite: 'fuzz', runs: r.runs, seed: r.seed, statuses: r.statuses, failures: r.failures.length }),
    );
    return r.failures.length ? 1 : 0;
  } finally {
    await connection.close().catch(() => undefined);
    await db.$disconnect();
    await teardown();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
