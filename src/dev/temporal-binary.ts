import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isPidAlive, sleep } from './process';
import { loadTemporalDevConfig, type TemporalDevConfig } from './temporal-server';

export interface ResolveTemporalBinaryOptions {
  /** Defaults to `process.env` (reads TEMPORAL_CLI_PATH, PATH, HOME). */
  env?: NodeJS.ProcessEnv;
  log?: (msg: string) => void;
  /** Defaults to `loadTemporalDevConfig()` (temporal-dev.yaml). */
  config?: Pick<TemporalDevConfig, 'cliVersion' | 'cliModule'>;
}

export class TemporalBinaryError extends Error {
  override readonly name = 'TemporalBinaryError';
}

const EXE = process.platform === 'win32' ? 'temporal.exe' : 'temporal';
/** A build holding the lock longer than this is presumed dead even if its pid was reused. */
const BUILD_LOCK_MAX_AGE_MS = 45 * 60_000;

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    const s = await stat(p);
    if (!s.isFile()) return false;
    await access(p, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** `~/.cache/flapjack/temporal-<version>/` — outside the repo, shared by every checkout on the machine. */
export function temporalCacheDir(version: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME || os.homedir();
  return path.join(home, '.cache', 'flapjack', `temporal-${version}`);
}

/**
 * Finds the Temporal CLI, in this order:
 * 1. `TEMPORAL_CLI_PATH` (must be an executable file, else this throws);
 * 2. a `temporal` on `PATH`;
 * 3. the cache, `~/.cache/flapjack/temporal-<cliVersion>/temporal` (version from temporal-dev.yaml);
 * 4. otherwise builds it there once with `go install <cliModule>@<cliVersion>` (several minutes),
 *    under a lock file so concurrent callers wait for one build instead of starting their own.
 */
export async function resolveTemporalBinary(opts: ResolveTemporalBinaryOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);

  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit) {
    const abs = path.resolve(explicit);
    if (!(await isExecutableFile(abs))) {
      throw new TemporalBinaryError(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
    }
    return abs;
  }

  const onPath = await findOnPath(EXE, env);
  if (onPath) return onPath;

  const config = opts.config ?? loadTemporalDevConfig();
  const dir = temporalCacheDir(config.cliVersion, env);
  const cached = path.join(dir, EXE);
  if (await isExecutableFile(cached)) return cached;

  await mkdir(dir, { recursive: true });
  const lockFile = path.join(dir, '.build.lock');
  if (!(await acquireLock(lockFile, cached, log))) return cached; // someone else built it meanwhile
  try {
    // Another process may have finished the build while we waited for the lock.
    if (await isExecutableFile(cached)) return cached;
    await buildWithGo(config, dir, cached, env, log);
    return cached;
  } finally {
    await rm(lockFile, { force: true });
  }
}

/**
 * Takes `lockFile` (O_EXCL create holding our pid) and returns true; while a live process holds it,
 * waits, and returns false as soon as `binary` appears (the holder's build finished).
 */
async function acquireLock(lockFile: string, binary: string, log: (m: string) => void): Promise<boolean> {
  let announced = false;
  for (;;) {
    try {
      const fh = await open(lockFile, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
    const age = await stat(lockFile).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    // An empty file is a holder between create and write: give it a moment before calling it stale.
    const stale = Number.isNaN(holder) ? age > 5_000 : !isPidAlive(holder) || age > BUILD_LOCK_MAX_AGE_MS;
    if (stale) {
      await rm(lockFile, { force: true });
      continue;
    }
    if (!announced) {
      log(`another process (pid ${holder}) is building the Temporal CLI; waiting for it (${lockFile})`);
      announced = true;
    }
    await sleep(1_000);
    if (await isExecutableFile(binary)) return false;
  }
}

function findGo(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const candidates = [env.GOROOT ? path.join(env.GOROOT, 'bin', 'go') : '', '/usr/local/go/bin/go'].filter(Boolean);
  return findOnPath(process.platform === 'win32' ? 'go.exe' : 'go', env).then(async (found) => {
    if (found) return found;
    for (const c of candidates) if (await isExecutableFile(c)) return c;
    return undefined;
  });
}

async function buildWithGo(
  config: Pick<TemporalDevConfig, 'cliVersion' | 'cliModule'>,
  dir: string,
  target: string,
  env: NodeJS.ProcessEnv,
  log: (m: string) => void,
): Promise<void> {
  const go = await findGo(env);
  const spec = `${config.cliModule}@${config.cliVersion}`;
  if (!go) {
    throw new TemporalBinaryError(
      `no Temporal CLI found (TEMPORAL_CLI_PATH unset, no "temporal" on PATH, nothing in ${dir}) and Go is not ` +
        `installed to build it. Install Go (https://go.dev/dl/) or download a Temporal CLI release binary and set ` +
        `TEMPORAL_CLI_PATH to it (or put it on PATH).`,
    );
  }
  // Build into a private directory, then rename: a half-written binary is never visible at `target`.
  const gobin = path.join(dir, `.build-${process.pid}`);
  await rm(gobin, { recursive: true, force: true });
  await mkdir(gobin, { recursive: true });
  log(
    `building the Temporal CLI with \`go install ${spec}\` into ${dir}. ` +
      'This happens once per machine and takes several minutes…',
  );
  const started = Date.now();
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(go, ['install', spec], {
      env: { ...env, CGO_ENABLED: '0', GOBIN: gobin, GOFLAGS: env.GOFLAGS ?? '-buildvcs=false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b: Buffer) => {
      output.push(b.toString('utf8'));
      if (output.length > 200) output.shift();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const ticker = setInterval(
      () => log(`still building the Temporal CLI (${Math.round((Date.now() - started) / 60_000)} min)…`),
      60_000,
    );
    child.once('error', (e) => {
      clearInterval(ticker);
      reject(e);
    });
    child.once('exit', (c) => {
      clearInterval(ticker);
      resolve(c);
    });
  });
  const built = path.join(gobin, path.basename(target));
  if (code !== 0 || !(await isExecutableFile(built))) {
    await rm(gobin, { recursive: true, force: true });
    const tail = output.join('').trim().split('\n').slice(-20).join('\n');
    throw new TemporalBinaryError(
      `\`go install ${spec}\` failed (exit ${String(code)}). Set TEMPORAL_CLI_PATH to a Temporal CLI binary to skip ` +
        `the build.\n${tail}`,
    );
  }
  await rename(built, target);
  await rm(gobin, { recursive: true, force: true });
  log(`built ${target} in ${Math.round((Date.now() - started) / 1000)} s`);
}
