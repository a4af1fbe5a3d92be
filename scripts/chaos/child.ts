/**
 * A Flapjack process (the real entry points src/bin/api.ts and src/bin/worker.ts) run as a child the
 * chaos harness can SIGKILL and start again. Its output goes to a log file (for a post-mortem) and its
 * last lines are kept for error messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../src/dev/temporal-server';
import { settlesWithin, sleep } from '../../src/dev/process';

export type Entry = 'api' | 'worker';

export interface ChildSpec {
  entry: Entry;
  /** Name in logs and tables, e.g. `worker-1`. */
  name: string;
  env: Record<string, string>;
  logDir: string;
  /** For the API: the port whose /healthz says it is up. */
  port?: number;
}

export interface FlapjackChild {
  readonly name: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Resolves once the process is ready (API: /healthz answers; worker: "worker started" logged). */
  start(): Promise<void>;
  /** SIGKILL: no shutdown hook runs, in-flight activities are lost with the process. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** How many times this child was started. */
  readonly starts: number;
}

const ENTRY_FILE: Record<Entry, string> = {
  api: path.join(REPO_ROOT, 'src', 'bin', 'api.ts'),
  worker: path.join(REPO_ROOT, 'src', 'bin', 'worker.ts'),
};

export function flapjackChild(spec: ChildSpec): FlapjackChild {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let starts = 0;
  let log: WriteStream | undefined;
  const tail: string[] = [];

  const keep = (chunk: Buffer, ready: () => void) => {
    log?.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 30) tail.shift();
      if (spec.entry === 'worker' && line.includes('"worker started"')) ready();
    }
  };

  // The entry points fail fast (5 s) when Temporal or PostgreSQL does not answer at start-up; on a
  // starved machine that happens right after a restart, so a start that exits is tried twice more.
  const start = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await startOnce();
        return;
      } catch (e) {
        if (attempt >= 3 || !(e instanceof ExitedDuringStartError)) throw e;
        await sleep(2_000);
      }
    }
  };

  const startOnce = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null)
      throw new Error(`${spec.name} is already running`);
    starts++;
    tail.length = 0;
    log ??= createWriteStream(path.join(spec.logDir, `${spec.name}.log`), { flags: 'a' });
    log.write(`\n--- start #${starts} at ${new Date().toISOString()} ---\n`);
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((r) => (markReady = r));
    // `node --import tsx` keeps it one process, so a SIGKILL reaches the Flapjack process itself.
    const c = spawn(process.execPath, ['--import', 'tsx', ENTRY_FILE[spec.entry]], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    c.stdout?.on('data', (b: Buffer) => keep(b, markReady));
    c.stderr?.on('data', (b: Buffer) => keep(b, markReady));
    exited = new Promise<void>((r) => c.once('exit', () => r()));
    const died = exited.then(() => {
      throw new ExitedDuringStartError(
        `${spec.name} exited during start-up (code ${String(c.exitCode)}). Last output:\n${tail.join('\n')}`,
      );
    });
    died.catch(() => undefined); // a later kill must not surface as an unhandled rejection
    const deadline = Date.now() + 300_000;
    const alive = () => c.exitCode === null && c.signalCode === null && Date.now() < deadline;
    const up = spec.entry === 'api' ? waitHealthy(spec.port ?? 0, alive) : ready;
    if (!(await settlesWithin(Promise.race([up, died]), 300_000))) {
      throw new Error(`${spec.name} was not ready within 300 s. Last output:\n${tail.join('\n')}`);
    }
  };

  const kill = async (): Promise<void> => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };

  const stop = async (graceMs = 15_000): Promise<void> => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await settlesWithin(exited, graceMs))) await kill();
  };

  return {
    name: spec.name,
    get pid() {
      return child?.pid;
    },
    get running() {
      return !!child && child.exitCode === null && child.signalCode === null;
    },
    get starts() {
      return starts;
    },
    start,
    kill,
    stop,
  };
}

class ExitedDuringStartError extends Error {
  override readonly name = 'ExitedDuringStartError';
}

async function waitHealthy(port: number, alive: () => boolean): Promise<void> {
  while (alive()) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
}
