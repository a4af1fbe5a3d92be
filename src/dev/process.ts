/**
 * Process helpers shared by the dev launchers (`npm start`, the test stack, the benchmarks): waiting, pids,
 * ports, and probing a database. One copy; the Temporal and PostgreSQL launchers both use it.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Client } from 'pg';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves true when `p` settles within `ms`, false otherwise (the timer never outlives the wait). */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a live process (Linux `/proc`), or undefined when it cannot be read. */
export function processCommandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

/** Sends `signal`, waits up to `graceMs` for the process to go away, then SIGKILLs it. */
export async function stopPid(pid: number, graceMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const waitGone = async (ms: number) => {
    const until = Date.now() + ms;
    while (isPidAlive(pid) && Date.now() < until) await sleep(100);
    return !isPidAlive(pid);
  };
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  if (await waitGone(graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitGone(5_000);
}

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly host: string,
    readonly port: number,
    /** What wanted the port, e.g. "Temporal frontend". */
    readonly what: string,
    hint: string,
  ) {
    super(`${what} port ${port} on ${host} is already in use${hint ? ` (${hint})` : ''}`);
  }
}

/** A port the OS says is free right now on `host` (there is a small race until someone binds it). */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const found = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (found ? resolve(found) : reject(new Error('could not pick a free port'))));
    });
  });
}

/** True when nothing listens on `host:port` (we could bind it). */
export function isPortFree(host: string, portNumber: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', (e: NodeJS.ErrnoException) =>
      e.code === 'EADDRINUSE' || e.code === 'EACCES' ? resolve(false) : reject(e),
    );
    srv.listen({ port: portNumber, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** The message of anything thrown, for one-line start-up errors. */
export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Connects to PostgreSQL and runs `select 1`, failing within `timeoutMs` (also when the server accepts the
 * connection but never answers). The error keeps the driver's `code` (e.g. `3D000`: no such database).
 */
export async function probeDatabase(url: string, timeoutMs = 5_000): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    const attempt = client.connect().then(() => client.query('select 1'));
    if (
      !(await settlesWithin(
        attempt.catch(() => undefined),
        timeoutMs + 500,
      ))
    ) {
      throw new Error(`no answer within ${timeoutMs / 1000} s`);
    }
    await attempt;
  } finally {
    await client.end().catch(() => undefined);
  }
}
