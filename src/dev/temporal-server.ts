import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  findFreePort,
  isPidAlive,
  isPortFree,
  PortInUseError,
  processCommandLine,
  settlesWithin,
  sleep,
  stopPid,
} from './process';

/** The repository root (this file lives in `src/dev/`). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const TEMPORAL_DEV_CONFIG_PATH = path.join(REPO_ROOT, 'temporal-dev.yaml');

const SEARCH_ATTRIBUTE_TYPES = ['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'] as const;
const port = z.number().int().min(1).max(65535);

const temporalDevConfigSchema = z.strictObject({
  cliVersion: z.string().regex(/^v\d+\.\d+\.\d+(-[\w.]+)?$/, 'must look like v1.5.1'),
  cliModule: z.string().min(1).default('github.com/temporalio/cli/cmd/temporal'),
  ip: z.string().min(1).default('127.0.0.1'),
  port: port.default(7233),
  uiPort: port.default(8233),
  namespace: z.string().min(1).default('default'),
  dbFile: z.string().min(1).default('.data/temporal/temporal.db'),
  searchAttributes: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier'), z.enum(SEARCH_ATTRIBUTE_TYPES))
    .default({}),
  sqlitePragmas: z.record(z.string().regex(/^\w+$/), z.union([z.string(), z.number(), z.boolean()])).default({}),
  dynamicConfig: z.record(z.string().regex(/^[\w.]+$/), z.unknown()).default({}),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'never']).default('warn'),
});

export type TemporalDevConfig = z.infer<typeof temporalDevConfigSchema>;

/** Reads and validates `temporal-dev.yaml`; throws one line naming every bad key. */
export function loadTemporalDevConfig(file = TEMPORAL_DEV_CONFIG_PATH): TemporalDevConfig {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  const parsed = temporalDevConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const parts = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`);
    throw new Error(`invalid ${path.basename(file)}: ${parts.join('; ')}`);
  }
  return parsed.data;
}

export interface StartDevArgsOptions {
  port: number;
  /** A port, or `false` for `--headless`. */
  uiPort: number | false;
  namespace: string;
  /** SQLite file; undefined keeps everything in memory. */
  dbFile?: string;
}

/** Turns the config into `temporal server start-dev` arguments (exported for tests). */
export function buildStartDevArgs(config: TemporalDevConfig, opts: StartDevArgsOptions): string[] {
  const args = ['server', 'start-dev', '--ip', config.ip, '--port', String(opts.port)];
  if (opts.uiPort === false) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort));
  // `default` is always created; naming it again would ask the server to create it twice.
  if (opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  if (opts.dbFile !== undefined) {
    args.push('--db-filename', opts.dbFile);
    // Pragmas only mean something for a file database.
    for (const [k, v] of Object.entries(config.sqlitePragmas)) args.push('--sqlite-pragma', `${k}=${String(v)}`);
  }
  for (const [name, type] of Object.entries(config.searchAttributes))
    args.push('--search-attribute', `${name}=${type}`);
  // The CLI parses each value as JSON: `false`, `1`, `"a string"`.
  for (const [k, v] of Object.entries(config.dynamicConfig))
    args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  args.push('--log-level', config.logLevel);
  return args;
}

export interface TemporalDevServerOptions {
  /** Path of the `temporal` CLI (see `resolveTemporalBinary`). */
  binary: string;
  /** Directory for the SQLite file (named as `dbFile` in temporal-dev.yaml); undefined = in memory. */
  dataDir?: string;
  /** Frontend port; 0 or undefined picks a free one. */
  port?: number;
  /** Web UI port; 0 or undefined picks a free one; `false` runs headless. */
  uiPort?: number | false;
  /** Defaults to temporal-dev.yaml's `namespace`. */
  namespace?: string;
  log?: (msg: string) => void;
  /** Defaults to `loadTemporalDevConfig()`. */
  config?: TemporalDevConfig;
  /** How long to wait for the frontend and the search attributes; default 60 s. */
  readyTimeoutMs?: number;
}

export interface TemporalDevServer {
  /** `host:port` for `Connection.connect` / `NativeConnection.connect`. */
  address: string;
  uiUrl?: string;
  namespace: string;
  pid: number;
  stop(): Promise<void>;
}

const OWNER_FILE = 'temporal-server.pid.json';
const STDERR_TAIL_LINES = 40;

interface OwnerRecord {
  pid: number;
  ownerPid: number;
  dbFile: string;
}

/**
 * When a previous launcher died without stopping its server (kill -9, a crash), that server still
 * holds the port and the SQLite file. Stop it if its launcher is gone; refuse if the launcher lives.
 */
async function reclaimLeftoverServer(dataDir: string, dbFile: string, log: (m: string) => void): Promise<void> {
  const file = path.join(dataDir, OWNER_FILE);
  let rec: OwnerRecord;
  try {
    rec = JSON.parse(await readFile(file, 'utf8')) as OwnerRecord;
  } catch {
    return;
  }
  const cmd = processCommandLine(rec.pid);
  const isOurServer = isPidAlive(rec.pid) && (cmd === undefined || (cmd.includes('start-dev') && cmd.includes(dbFile)));
  if (isOurServer && rec.ownerPid !== process.pid && isPidAlive(rec.ownerPid)) {
    throw new Error(
      `another launcher (pid ${rec.ownerPid}) is running a Temporal dev server (pid ${rec.pid}) on ${dbFile}; stop it first`,
    );
  }
  if (isOurServer) {
    log(`stopping a Temporal dev server left over from a previous run (pid ${rec.pid})`);
    await stopPid(rec.pid, 10_000);
  }
  await rm(file, { force: true });
}

/**
 * Starts `temporal server start-dev` with the flags from temporal-dev.yaml and resolves once the
 * frontend answers and the configured search attributes are visible in the namespace.
 */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const log = opts.log ?? (() => undefined);
  const config = opts.config ?? loadTemporalDevConfig();
  const namespace = opts.namespace ?? config.namespace;
  const bindHost = config.ip;
  const connectHost = bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost === '::' ? '::1' : bindHost;
  const hostForUrl = (h: string) => (h.includes(':') ? `[${h}]` : h);

  let dbFile: string | undefined;
  if (opts.dataDir !== undefined) {
    const dir = path.resolve(opts.dataDir);
    await mkdir(dir, { recursive: true });
    dbFile = path.join(dir, path.basename(config.dbFile));
    await reclaimLeftoverServer(dir, dbFile, log);
  }

  const port = opts.port ? opts.port : await findFreePort(bindHost);
  if (opts.port && !(await isPortFree(bindHost, port))) {
    throw new PortInUseError(
      bindHost,
      port,
      'Temporal frontend',
      'another Temporal server? Stop it, or set TEMPORAL_ADDRESS to use it',
    );
  }
  let uiPort: number | false = false;
  if (opts.uiPort !== false) {
    uiPort = opts.uiPort ? opts.uiPort : await findFreePort(bindHost);
    if (opts.uiPort && !(await isPortFree(bindHost, uiPort))) {
      throw new PortInUseError(bindHost, uiPort, 'Temporal Web UI', 'another Temporal dev server?');
    }
  }

  const args = buildStartDevArgs(config, { port, uiPort, namespace, dbFile });
  const address = `${hostForUrl(connectHost)}:${port}`;
  log(`starting Temporal dev server on ${address}${dbFile ? ` (data: ${dbFile})` : ' (in memory)'}`);

  // Own process group: a Ctrl-C in the terminal reaches only the launcher, which stops things in order.
  const child: ChildProcess = spawn(opts.binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > STDERR_TAIL_LINES) tail.shift();
    }
  };
  child.stderr?.on('data', keep);
  child.stdout?.on('data', keep);

  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      tail.push(`spawn error: ${err.message}`);
      exitInfo = { code: null, signal: null };
      resolve();
    });
  });
  // Safety net: never leave the server behind when this process exits without calling stop().
  const killOnExit = () => {
    try {
      if (!exitInfo && child.pid) process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);

  const describeExit = () =>
    `Temporal dev server exited (${exitInfo?.signal ? `signal ${exitInfo.signal}` : `code ${String(exitInfo?.code)}`})` +
    ` before it was ready. Last output:\n${tail.join('\n') || '(none)'}`;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exitInfo && child.pid) {
        child.kill('SIGTERM');
        const done = await settlesWithin(exited, 10_000);
        if (!done) {
          log('Temporal dev server did not stop within 10 s; killing it');
          child.kill('SIGKILL');
          await exited;
        }
      }
      process.removeListener('exit', killOnExit);
      if (opts.dataDir !== undefined) await rm(path.join(path.resolve(opts.dataDir), OWNER_FILE), { force: true });
    })();
    return stopping;
  };

  if (child.pid === undefined) {
    await exited;
    process.removeListener('exit', killOnExit);
    throw new Error(describeExit());
  }
  if (opts.dataDir !== undefined && dbFile !== undefined) {
    const rec: OwnerRecord = { pid: child.pid, ownerPid: process.pid, dbFile };
    await writeFile(path.join(path.resolve(opts.dataDir), OWNER_FILE), JSON.stringify(rec));
  }

  try {
    await waitUntilReady({
      address,
      namespace,
      searchAttributes: Object.keys(config.searchAttributes),
      timeoutMs: opts.readyTimeoutMs ?? 60_000,
      exited: () => exitInfo !== undefined,
      exitedPromise: exited,
    });
  } catch (e) {
    if (exitInfo) {
      await stop();
      throw new Error(describeExit(), { cause: e });
    }
    await stop();
    throw new Error(`${(e as Error).message}. Last server output:\n${tail.join('\n') || '(none)'}`, { cause: e });
  }

  const uiUrl =
    uiPort === false
      ? undefined
      : `http://${connectHost === '127.0.0.1' ? 'localhost' : hostForUrl(connectHost)}:${uiPort}`;
  log(`Temporal dev server ready on ${address}${uiUrl ? `, UI ${uiUrl}` : ''}`);
  return { address, uiUrl, namespace, pid: child.pid, stop };
}

interface ReadyOptions {
  address: string;
  namespace: string;
  searchAttributes: string[];
  timeoutMs: number;
  exited: () => boolean;
  exitedPromise: Promise<void>;
}

async function waitUntilReady(o: ReadyOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let lastProblem = 'no answer yet';
  let connection: Connection | undefined;
  try {
    while (!o.exited()) {
      if (Date.now() > deadline) {
        throw new Error(
          `Temporal dev server on ${o.address} was not ready within ${o.timeoutMs / 1000} s (${lastProblem})`,
        );
      }
      try {
        connection ??= await Connection.connect({ address: o.address, connectTimeout: 2_000 });
        await connection.workflowService.getSystemInfo({});
        const res = await connection.operatorService.listSearchAttributes({ namespace: o.namespace });
        const known = new Set(Object.keys(res.customAttributes ?? {}));
        const missing = o.searchAttributes.filter((n) => !known.has(n));
        if (missing.length === 0) return;
        lastProblem = `search attributes not registered yet: ${missing.join(', ')}`;
      } catch (e) {
        lastProblem = (e as Error).message;
        if (connection) {
          await connection.close().catch(() => undefined);
          connection = undefined;
        }
      }
      await Promise.race([sleep(250), o.exitedPromise]);
    }
    throw new Error('the server process exited');
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
