/**
 * `npm start`: the whole stack on one machine. Brings up Temporal (the dev server from
 * temporal-dev.yaml, or TEMPORAL_ADDRESS) and PostgreSQL (embedded, or DATABASE_URL), applies the
 * migrations, then runs the API and the worker in one child process (FLAPJACK_ROLES) with the
 * resolved environment.
 * Ctrl-C / SIGTERM stops the children, then Temporal, then PostgreSQL. Data lives in `.data/`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ConfigError, loadEnv, type Env } from '../config/env';
import { applyMigrations, ensureDatabase } from '../db/migrate';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../dev/embedded-postgres';
import { errorMessage, PortInUseError, probeDatabase, settlesWithin, sleep } from '../dev/process';
import { removeStackInfo, writeStackInfo } from '../dev/stack-file';
import { resolveTemporalBinary } from '../dev/temporal-binary';
import {
  loadTemporalDevConfig,
  REPO_ROOT,
  startTemporalDevServer,
  type TemporalDevServer,
} from '../dev/temporal-server';
import { maskConnectionString as maskUrl } from '../shared/mask';
import { temporalSettingsFromEnv } from '../temporal/connection';

const DATA_DIR = path.join(REPO_ROOT, '.data');
const TEMPORAL_DATA_DIR = path.join(DATA_DIR, 'temporal');
const PG_DATA_DIR = path.join(DATA_DIR, 'postgres');
const SECRET_KEY_FILE = path.join(DATA_DIR, 'secret-key');
const EMBEDDED_PG_PORT = 5433;
const EMBEDDED_PG_DATABASE = 'flapjack';
const CHECK_TIMEOUT_MS = 5_000;
const CHILD_STOP_GRACE_MS = 10_000;

const say = (msg: string) => process.stdout.write(`[dev-stack] ${msg}\n`);
const complain = (msg: string) => process.stderr.write(`[dev-stack] ${msg}\n`);
/** `p` relative to the working directory, or absolute when it lies outside it. */
const rel = (p: string) => {
  const r = path.relative(process.cwd(), p);
  return r.startsWith('..') ? p : r || '.';
};

/** A startup failure whose message is the one line the user needs. */
class StartupError extends Error {
  override readonly name = 'StartupError';
}

// ---------------------------------------------------------------- Temporal

interface TemporalTarget {
  address: string;
  namespace: string;
  uiUrl?: string;
  description: string;
  server?: TemporalDevServer;
}

async function checkRemoteTemporal(env: Env, address: string, namespace: string): Promise<void> {
  const settings = await temporalSettingsFromEnv(env).catch((e: unknown) => {
    throw new StartupError(`cannot read the Temporal TLS files: ${errorMessage(e)}`);
  });
  let connection: Connection;
  try {
    // connectTimeout bounds the connection; the deadline bounds the first call.
    connection = await Connection.connect({
      address,
      connectTimeout: CHECK_TIMEOUT_MS,
      ...(settings.tls ? { tls: settings.tls } : {}),
      ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    });
  } catch (e) {
    throw new StartupError(`Temporal at ${address} is unreachable: ${errorMessage(e)}`);
  }
  try {
    await connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => connection.workflowService.getSystemInfo({}));
  } catch (e) {
    await connection.close().catch(() => undefined);
    throw new StartupError(`Temporal at ${address} is unreachable: ${errorMessage(e)}`);
  }
  try {
    await connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
      connection.workflowService.describeNamespace({ namespace }),
    );
  } catch (e) {
    throw new StartupError(
      `Temporal at ${address} answers, but namespace "${namespace}" is not usable: ${errorMessage(e)}`,
    );
  } finally {
    await connection.close().catch(() => undefined);
  }
}

async function setupTemporal(env: Env): Promise<TemporalTarget> {
  const config = loadTemporalDevConfig();
  // An explicit TEMPORAL_NAMESPACE wins over temporal-dev.yaml (env.ts defaults it to `default`).
  const namespace = process.env.TEMPORAL_NAMESPACE ? env.TEMPORAL_NAMESPACE : config.namespace;

  if (env.TEMPORAL_ADDRESS) {
    say(`checking Temporal at ${env.TEMPORAL_ADDRESS}…`);
    await checkRemoteTemporal(env, env.TEMPORAL_ADDRESS, namespace);
    return {
      address: env.TEMPORAL_ADDRESS,
      namespace,
      uiUrl: env.TEMPORAL_UI_URL,
      description: 'TEMPORAL_ADDRESS',
    };
  }

  const binary = await resolveTemporalBinary({ log: say });
  try {
    const server = await startTemporalDevServer({
      binary,
      dataDir: TEMPORAL_DATA_DIR,
      port: config.port,
      uiPort: config.uiPort,
      namespace,
      config,
      log: say,
    });
    return {
      address: server.address,
      namespace,
      uiUrl: server.uiUrl,
      description: `dev server, data in ${rel(TEMPORAL_DATA_DIR)}`,
      server,
    };
  } catch (e) {
    if (e instanceof PortInUseError) {
      const reuse =
        e.port === config.port ? `, use the server already there with TEMPORAL_ADDRESS=${e.host}:${e.port}` : '';
      throw new StartupError(
        `${e.what} port ${e.port} on ${e.host} is already in use (another \`npm start\`?). Stop that process${reuse}, ` +
          `or change the ports in temporal-dev.yaml`,
      );
    }
    throw e;
  }
}

// -------------------------------------------------------------- PostgreSQL

interface DatabaseTarget {
  url: string;
  description: string;
  embedded?: EmbeddedPostgres;
}

async function setupDatabase(env: Env): Promise<DatabaseTarget> {
  if (env.DATABASE_URL) {
    const url = env.DATABASE_URL;
    say(`checking PostgreSQL at ${maskUrl(url)}…`);
    try {
      await probeDatabase(url, CHECK_TIMEOUT_MS);
    } catch (e) {
      if ((e as { code?: string }).code !== '3D000') {
        throw new StartupError(`cannot connect to PostgreSQL at ${maskUrl(url)}: ${errorMessage(e)}`);
      }
      // The server answers but the database does not exist yet: create it, as for the embedded one.
      try {
        await ensureDatabase(url);
        say(`created database ${new URL(url).pathname.slice(1)}`);
      } catch (e2) {
        throw new StartupError(
          `PostgreSQL at ${maskUrl(url)}: the database does not exist and cannot be created: ${errorMessage(e2)}`,
        );
      }
    }
    return { url, description: 'DATABASE_URL' };
  }

  let embedded: EmbeddedPostgres;
  try {
    embedded = await startEmbeddedPostgres({ dataDir: PG_DATA_DIR, port: EMBEDDED_PG_PORT, log: say });
  } catch (e) {
    if (e instanceof PortInUseError) {
      throw new StartupError(
        `PostgreSQL port ${e.port} on ${e.host} is already in use (another \`npm start\`?). Stop that process, ` +
          `or point DATABASE_URL at a PostgreSQL you already run`,
      );
    }
    throw e;
  }
  const u = new URL(embedded.url);
  u.pathname = `/${EMBEDDED_PG_DATABASE}`;
  const url = u.toString();
  try {
    await ensureDatabase(url);
  } catch (e) {
    await embedded.stop();
    throw e;
  }
  // Where the cluster really is: under /var/lib/flapjack when the postgres OS user cannot enter the checkout.
  return { url, description: `embedded, data in ${rel(embedded.dataDir)}`, embedded };
}

// ------------------------------------------------------------------ secret

async function secretKey(env: Env): Promise<{ key: string; source: string }> {
  if (env.FLAPJACK_SECRET_KEY) return { key: env.FLAPJACK_SECRET_KEY, source: 'FLAPJACK_SECRET_KEY' };
  await mkdir(DATA_DIR, { recursive: true });
  const existing = await readFile(SECRET_KEY_FILE, 'utf8').catch(() => '');
  if (existing.trim()) return { key: existing.trim(), source: rel(SECRET_KEY_FILE) };
  const key = randomBytes(32).toString('base64');
  await writeFile(SECRET_KEY_FILE, `${key}\n`, { mode: 0o600 });
  say(`generated a secret key in ${rel(SECRET_KEY_FILE)} (keep it: it encrypts stored credentials)`);
  return { key, source: rel(SECRET_KEY_FILE) };
}

// ------------------------------------------------------------------ stack

interface ManagedChild {
  name: string;
  process: ChildProcess;
  exited: Promise<void>;
}

class DevStack {
  private temporal?: TemporalDevServer;
  private embeddedPg?: EmbeddedPostgres;
  private readonly children: ManagedChild[] = [];
  private stopping = false;

  get isStopping(): boolean {
    return this.stopping;
  }

  adoptTemporal(server: TemporalDevServer | undefined): void {
    this.temporal = server;
  }

  adoptPostgres(pg: EmbeddedPostgres | undefined): void {
    this.embeddedPg = pg;
  }

  spawnChild(name: string, script: string, env: NodeJS.ProcessEnv): void {
    // `node --import tsx <file>` is what `tsx <file>` runs, minus tsx's relay process, so our
    // SIGTERM reaches the program itself. Own process group: the terminal's Ctrl-C reaches only us.
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        resolve();
        if (this.stopping) return;
        complain(`${name} exited (${signal ? `signal ${signal}` : `code ${String(code)}`}); stopping everything`);
        void this.shutdown(1);
      });
      child.once('error', (err) => {
        resolve();
        if (this.stopping) return;
        complain(`cannot start ${name}: ${err.message}`);
        void this.shutdown(1);
      });
    });
    this.children.push({ name, process: child, exited });
  }

  /** Stops the children (SIGTERM, then SIGKILL after 10 s), then Temporal, then PostgreSQL; exits. */
  async shutdown(code: number): Promise<never> {
    if (this.stopping) return new Promise<never>(() => undefined);
    this.stopping = true;
    const anything = this.children.length > 0 || this.temporal !== undefined || this.embeddedPg !== undefined;
    const running = this.children.filter((c) => c.process.exitCode === null && c.process.signalCode === null);
    if (running.length) say(`stopping ${running.map((c) => c.name).join(' and ')}…`);
    await Promise.all(
      running.map(async (c) => {
        c.process.kill('SIGTERM');
        if (!(await settlesWithin(c.exited, CHILD_STOP_GRACE_MS))) {
          complain(`${c.name} did not stop within ${CHILD_STOP_GRACE_MS / 1000} s; killing it`);
          c.process.kill('SIGKILL');
          await c.exited;
        }
      }),
    );
    if (this.temporal) {
      say('stopping Temporal…');
      await this.temporal.stop().catch((e: unknown) => complain(`stopping Temporal: ${errorMessage(e)}`));
    }
    if (this.embeddedPg) {
      say('stopping PostgreSQL…');
      await this.embeddedPg.stop().catch((e: unknown) => complain(`stopping PostgreSQL: ${errorMessage(e)}`));
    }
    await removeStackInfo().catch(() => undefined);
    if (anything) say('stopped');
    process.exit(code);
  }

  /** A second Ctrl-C: no more waiting. The start functions' exit hooks take the servers down. */
  forceExit(): never {
    for (const c of this.children) if (c.process.exitCode === null) c.process.kill('SIGKILL');
    complain('forced exit');
    process.exit(130);
  }
}

async function waitForApi(port: number, stack: DevStack): Promise<boolean> {
  const deadline = Date.now() + 120_000;
  while (!stack.isStopping && Date.now() < deadline) {
    try {
      await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
      return true; // any HTTP answer means it listens; /healthz reports the details
    } catch {
      await sleep(500);
    }
  }
  return false;
}

function banner(lines: Array<[string, string]>): string {
  const width = Math.max(...lines.map(([k]) => k.length));
  const body = lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  const rule = '─'.repeat(Math.max(40, ...body.map((l) => l.length)) + 2);
  return [
    '',
    rule,
    '  Flapjack runners: local dev stack',
    '',
    ...body,
    '',
    '  Ctrl-C stops everything.',
    rule,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  let env: Env;
  try {
    env = loadEnv();
  } catch (e) {
    if (e instanceof ConfigError) {
      complain(e.message);
      process.exit(1);
    }
    throw e;
  }

  const stack = new DevStack();
  // One Ctrl-C can arrive several times (the terminal signals npm, tsx and us; npm and tsx forward
  // it too), so only a signal well after the first one means "stop waiting".
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stack.isStopping) {
      if (Date.now() - firstSignalAt > 2_000) stack.forceExit();
      return;
    }
    firstSignalAt = Date.now();
    say(`${signal} received; stopping (press Ctrl-C again to force)`);
    void stack.shutdown(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const temporal = await setupTemporal(env);
    stack.adoptTemporal(temporal.server);
    if (stack.isStopping) return;

    const db = await setupDatabase(env);
    stack.adoptPostgres(db.embedded);
    if (stack.isStopping) return;

    const migrations = await applyMigrations(db.url);
    say(
      `migrations: ${migrations.applied.length} applied` +
        (migrations.applied.length ? ` (${migrations.applied.join(', ')})` : '') +
        `, ${migrations.alreadyApplied.length} already applied`,
    );
    const secret = await secretKey(env);

    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      FLAPJACK_SECRET_KEY: secret.key,
      ...(temporal.uiUrl ? { TEMPORAL_UI_URL: temporal.uiUrl } : {}),
    };

    const apiUrl = `http://localhost:${env.PORT}`;
    process.stdout.write(
      banner([
        ['API', apiUrl],
        ['Temporal UI', temporal.uiUrl ?? '(none: set TEMPORAL_UI_URL)'],
        ['Temporal', `${temporal.address}, namespace ${temporal.namespace} (${temporal.description})`],
        ['Database', `${maskUrl(db.url)} (${db.description})`],
        ['Secret key', secret.source],
        ['API key', 'npm run cli -- api-keys create --org <your-org>   (then: Authorization: Bearer <key>)'],
        ['Reference', `${apiUrl}/docs`],
      ]) + '\n',
    );
    await writeStackInfo({
      pid: process.pid,
      databaseUrl: db.url,
      apiUrl,
      temporalAddress: temporal.address,
      temporalNamespace: temporal.namespace,
      ...(temporal.uiUrl ? { temporalUiUrl: temporal.uiUrl } : {}),
    });

    // One process runs the API and the worker (FLAPJACK_ROLES, default api,worker), so runs start
    // eagerly on the worker's connection (docs/run-shape.md).
    const script = 'src/bin/server.ts';
    if (!existsSync(path.join(REPO_ROOT, script))) throw new StartupError(`${script} does not exist; cannot start`);
    childEnv.FLAPJACK_ROLES = env.FLAPJACK_ROLES ?? 'api,worker';
    stack.spawnChild(`flapjack (${childEnv.FLAPJACK_ROLES})`, script, childEnv);

    if (await waitForApi(env.PORT, stack)) say(`ready: ${apiUrl}`);
    else if (!stack.isStopping) complain(`the API is not answering on ${apiUrl} yet; still waiting for it to come up`);
  } catch (e) {
    if (stack.isStopping) return;
    complain(e instanceof StartupError ? e.message : `startup failed: ${errorMessage(e)}`);
    await stack.shutdown(1);
  }
}

void main();
