/**
 * The stack a chaos scenario breaks, all on loopback: a fresh migrated PostgreSQL database (the server at
 * TEST_DATABASE_URL / DATABASE_URL, else an embedded one), a TCP proxy in front of it that the harness
 * can cut, a Temporal dev server with a SQLite file (so a stop and start keeps every workflow and
 * schedule), the scripted model server, a webhook receiver, and the API and worker as child processes
 * started through their real entry points.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Pool } from 'pg';
import { generateSecretKey } from '../../src/crypto/secret-box';
import { applyMigrations, dropDatabase, ensureDatabase } from '../../src/db/migrate';
import { startEmbeddedPostgres } from '../../src/dev/embedded-postgres';
import { findFreePort } from '../../src/dev/process';
import { resolveTemporalBinary } from '../../src/dev/temporal-binary';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/dev/temporal-server';
import { connectTemporalClient } from '../../src/temporal/connection';
import { startFakeOpenAI, type FakeLlmServer } from '../../test/fixtures/fake-openai';
import { startTcpProxy, type TcpProxy } from '../../test/fixtures/tcp-proxy';
import { json, startWebhookServer } from '../../test/fixtures/webhook-server';
import { flapjackChild, type FlapjackChild } from './child';

export type Say = (msg: string) => void;

export interface ChaosStack {
  /** Direct connections to the chaos database for the checks (never through the proxy). */
  pg: Pool;
  proxy: TcpProxy;
  temporal: {
    address: string;
    /** Stops the dev server (SIGTERM), waits `downMs`, starts it again on the same port and file. */
    restart(downMs: number): Promise<void>;
  };
  /** The harness's own Temporal client (reconnects after a restart). */
  client: Client;
  llm: FakeLlmServer;
  hooks: Awaited<ReturnType<typeof startWebhookServer>>;
  /**
   * Lets the webhook receiver's held requests go: a `/hook` request whose body has `hold: <tag>` gets no
   * answer until its tag is released (a released tag's later requests, such as retries, answer at once).
   */
  releaseHeld(tag: string): void;
  api: FlapjackChild;
  worker: FlapjackChild;
  taskQueue: string;
  /** A request to the API child with the bootstrap key; never throws on an HTTP status. */
  call(method: string, p: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  logDir: string;
  /** Stops everything; `keep` leaves the logs and data directory in place (after a failed check). */
  close(keep?: boolean): Promise<void>;
}

export interface ChaosStackOptions {
  say: Say;
  /** How often the worker's reconciler looks for runs recorded but never started. */
  reconcileIntervalMs?: number;
  /** Delay of the webhook receiver's answer, so runs are in flight when faults land. */
  hookDelayMs?: number;
}

async function freshDatabase(
  say: Say,
  cleanups: (() => Promise<void>)[],
  tmp: string,
  keep: () => boolean,
): Promise<string> {
  const external = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  let base = external;
  if (!base) {
    say('no TEST_DATABASE_URL/DATABASE_URL: starting an embedded PostgreSQL');
    const pg = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'pg'), port: 0 });
    cleanups.push(() => pg.stop());
    base = pg.url;
  }
  const u = new URL(base);
  u.pathname = `/flapjack_chaos_${Date.now()}_${process.pid}`;
  await ensureDatabase(u.toString());
  // On the caller's server the database goes at the end (after the processes and pools that use it), kept
  // with the logs when a failure asked for them; an embedded cluster goes whole with the temporary files.
  if (external) {
    cleanups.push(async () => {
      if (keep()) say(`kept the database ${u.pathname.slice(1)}`);
      else await dropDatabase(u.toString());
    });
  }
  await applyMigrations(u.toString());
  return u.toString();
}

export async function startChaosStack(opts: ChaosStackOptions): Promise<ChaosStack> {
  const { say } = opts;
  const cleanups: (() => Promise<void>)[] = [];
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'fj-chaos-'));
  const logDir = path.join(tmp, 'logs');
  await mkdir(logDir, { recursive: true });
  let keepFiles = false;
  // Runs last: the data and the logs go once every process is stopped, unless a failure asked to keep them.
  cleanups.push(async () => {
    if (keepFiles) say(`kept the logs and data in ${tmp}`);
    else await rm(tmp, { recursive: true, force: true });
  });
  const close = async (keep = false) => {
    keepFiles = keep;
    for (const c of cleanups.splice(0).reverse()) await c().catch((e: unknown) => say(`cleanup: ${String(e)}`));
  };
  try {
    const databaseUrl = await freshDatabase(say, cleanups, tmp, () => keepFiles);
    const pg = new Pool({ connectionString: databaseUrl, max: 4 });
    pg.on('error', () => undefined);
    cleanups.push(() => pg.end());
    const dbUrl = new URL(databaseUrl);
    const proxy = await startTcpProxy({ host: dbUrl.hostname, port: Number(dbUrl.port || 5432) });
    cleanups.push(() => proxy.close());
    const proxiedUrl = new URL(databaseUrl);
    proxiedUrl.hostname = proxy.host;
    proxiedUrl.port = String(proxy.port);

    const binary = await resolveTemporalBinary();
    const temporalPort = await findFreePort();
    const dataDir = path.join(tmp, 'temporal');
    const startTemporal = () => startTemporalDevServer({ binary, dataDir, port: temporalPort, uiPort: false });
    let server: TemporalDevServer = await startTemporal();
    cleanups.push(() => server.stop());
    const { connection, client } = await connectTemporalClient({
      address: server.address,
      namespace: server.namespace,
      taskQueue: 'unused',
    });
    cleanups.push(() => connection.close());

    const llm = await startFakeOpenAI();
    cleanups.push(() => llm.close());
    // A step offered tools asks for the first one once, then answers: a tool round per agent step, so the
    // faults meet model calls whose ledger rows are written after they answer (activities/run-writes.ts).
    llm.script(null, (req) => {
      const offered = ((req.body.tools ?? []) as { function?: { name?: string } }[])[0]?.function?.name;
      const asked = ((req.body.messages ?? []) as { role: string }[]).some((m) => m.role === 'assistant');
      return offered && !asked
        ? { toolCalls: [{ name: offered, arguments: { q: 1 } }], usage: { inputTokens: 30, outputTokens: 6 } }
        : { text: 'chaos answer', usage: { inputTokens: 40, outputTokens: 4 } };
    });
    const delay = opts.hookDelayMs ?? 50;
    const held = new Map<string, (() => void)[]>();
    const released = new Set<string>();
    const hooks = await startWebhookServer({
      '/hook': (req, res) => {
        const answer = () => void setTimeout(() => json(res, 200, { received: req.body }), delay).unref();
        const tag = (req.body as { hold?: unknown } | null)?.hold;
        if (typeof tag === 'string' && !released.has(tag)) held.set(tag, [...(held.get(tag) ?? []), answer]);
        else answer();
      },
      '/tool': (_req, res) => json(res, 200, { found: 1 }),
    });
    cleanups.push(() => hooks.close());

    const apiKey = `fj_live_chaos_${randomBytes(18).toString('base64url')}`;
    const taskQueue = `flapjack-chaos-${process.pid}`;
    const apiPort = await findFreePort();
    const env: Record<string, string> = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      DATABASE_URL: proxiedUrl.toString(),
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      FLAPJACK_SECRET_KEY: generateSecretKey(),
      FLAPJACK_BOOTSTRAP_API_KEY: apiKey,
      FLAPJACK_EGRESS_ALLOWLIST: '127.0.0.1',
      FLAPJACK_RATE_LIMIT_PER_SEC: '100000',
      FLAPJACK_RATE_LIMIT_BURST: '100000',
      FLAPJACK_RECONCILE_INTERVAL_MS: String(opts.reconcileIntervalMs ?? 2_000),
      OPENAI_API_KEY: 'sk-chaos',
      OPENAI_BASE_URL: llm.url,
      PORT: String(apiPort),
    };
    const api = flapjackChild({ entry: 'api', name: 'api', env, logDir, port: apiPort });
    const worker = flapjackChild({ entry: 'worker', name: 'worker', env: { ...env, PORT: '0' }, logDir });
    cleanups.push(() => api.stop());
    cleanups.push(() => worker.stop());
    say(`starting the API and the worker (logs in ${logDir})`);
    await Promise.all([api.start(), worker.start()]);

    const call = async (method: string, p: string, body?: unknown) => {
      const r = await fetch(`http://127.0.0.1:${apiPort}${p}`, {
        method,
        headers: {
          Authorization: `Bearer ${apiKey}`,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
      const text = await r.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // keep the text
      }
      return { status: r.status, body: parsed };
    };

    return {
      pg,
      proxy,
      temporal: {
        address: server.address,
        restart: async (downMs: number) => {
          await server.stop();
          await new Promise((r) => setTimeout(r, downMs));
          server = await startTemporal();
        },
      },
      client,
      llm,
      hooks,
      releaseHeld: (tag: string) => {
        released.add(tag);
        for (const answer of held.get(tag) ?? []) answer();
        held.delete(tag);
      },
      api,
      worker,
      taskQueue,
      call,
      logDir,
      close,
    };
  } catch (e) {
    await close(true);
    throw e;
  }
}
