/**
 * Runs user JavaScript (the `computer` step) in a fresh V8 context (isolated-vm), in an isolate of its own or
 * one reused within the same org (`poolKey`): no `require`, no `process`,
 * no network, no filesystem, no Node timers — only the plain JavaScript builtins. Input goes in and output comes
 * out as JSON text, so no reference to a host object ever crosses the boundary.
 */
import ivm from 'isolated-vm';
import type { FailureCode } from '../shared/failure-codes';
import { COMPUTER_DEFAULT_TIMEOUT_MS } from '../shared/step-placement';

export type SandboxErrorType = Extract<
  FailureCode,
  'sandbox_timeout' | 'sandbox_memory_limit' | 'sandbox_error' | 'sandbox_invalid_output'
>;

export class SandboxError extends Error {
  readonly type: SandboxErrorType;

  constructor(type: SandboxErrorType, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SandboxError';
    this.type = type;
  }
}

export interface RunJavaScriptOptions {
  /** The body of an `async` function that receives `input` and returns the output. */
  code: string;
  input: unknown;
  /** Wall-clock limit covering compilation, execution and awaited promises. Default 5000, max 60000. */
  timeoutMs?: number;
  /** V8 heap limit of the isolate. Default 64, min 8, max 512. */
  memoryLimitMb?: number;
  /** Aborting stops the code at once (the isolate is disposed) and rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Reuse isolates among calls with the same key (the org): each call still gets a fresh context, with
   * its own globals and builtins, so nothing a run leaves behind is visible to the next. Isolates that
   * hit a limit are discarded, and each is retired after a number of uses. Without a key, every call
   * gets a fresh isolate.
   */
  poolKey?: string;
}

/* ---------- isolate pool (per key and memory limit) ---------- */

/**
 * A new isolate costs about 7 ms of CPU, a fresh context in a pooled one about 1.3 ms (measured on this
 * machine under load). With 4 idle isolates per org, runs of one org in flight beyond 4 created and
 * disposed isolates all the time (computer step 2.2 → 3.7 ms CPU at 50 in flight): keep up to 16, and at
 * most 128 idle isolates over all keys (an idle isolate is a few MB).
 */
const POOL = { maxIdlePerKey: 16, maxIdleTotal: 128, maxKeys: 256, maxUses: 200, maxHeapFraction: 0.5 } as const;
interface PooledIsolate {
  isolate: ivm.Isolate;
  uses: number;
  /**
   * A fresh context made for the next call while the isolate sat idle (`release`): creating it is most of
   * a short call's time (about 0.55 of 0.8–0.9 ms here), and made ahead it is off the step's path. It is
   * never used before that call, so every call still starts from pristine globals.
   */
  next?: Promise<ivm.Context>;
}
const idle = new Map<string, PooledIsolate[]>();
/** Entries in `idle`, over all keys. */
let idleCount = 0;

function acquire(key: string | undefined, memoryLimitMb: number): PooledIsolate {
  if (key !== undefined) {
    const list = idle.get(`${key}|${memoryLimitMb}`);
    let entry = list?.pop();
    if (entry) idleCount--;
    while (entry && entry.isolate.isDisposed) {
      entry = list?.pop();
      if (entry) idleCount--;
    }
    if (entry) return entry;
  }
  return { isolate: new ivm.Isolate({ memoryLimit: memoryLimitMb }), uses: 0 };
}

/** Returns a healthy isolate to the pool, or disposes it. */
function release(key: string | undefined, memoryLimitMb: number, entry: PooledIsolate, healthy: boolean): void {
  const { isolate } = entry;
  if (isolate.isDisposed) return;
  entry.uses++;
  let keep = key !== undefined && healthy && entry.uses < POOL.maxUses;
  if (keep) {
    const heap = isolate.getHeapStatisticsSync();
    keep = heap.used_heap_size < memoryLimitMb * 1024 * 1024 * POOL.maxHeapFraction;
  }
  if (!keep) {
    isolate.dispose();
    return;
  }
  const poolKey = `${key}|${memoryLimitMb}`;
  const list = idle.get(poolKey) ?? [];
  idle.delete(poolKey); // re-insert: Map order is least recently used first
  if (list.length >= POOL.maxIdlePerKey) {
    isolate.dispose();
  } else {
    entry.next = isolate.createContext();
    // Rejected only when the isolate is disposed meanwhile; the taker then makes its own.
    entry.next.catch(() => undefined);
    list.push(entry);
    idleCount++;
  }
  idle.set(poolKey, list);
  while (idle.size > POOL.maxKeys || idleCount > POOL.maxIdleTotal) {
    const [oldest, entries] = idle.entries().next().value as [string, PooledIsolate[]];
    for (const e of entries) if (!e.isolate.isDisposed) e.isolate.dispose();
    idleCount -= entries.length;
    idle.delete(oldest);
  }
}

export const SANDBOX_LIMITS = {
  defaultTimeoutMs: COMPUTER_DEFAULT_TIMEOUT_MS,
  maxTimeoutMs: 60_000,
  defaultMemoryLimitMb: 64,
  minMemoryLimitMb: 8,
  maxMemoryLimitMb: 512,
} as const;

function clamp(value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(value)));
}

/**
 * Runs inside the isolate, as the body of a closure with `$0` = user code and `$1` = input JSON. It keeps its own
 * references to the builtins it needs before the user code runs, and always resolves to a JSON envelope:
 * `{ok: true, output}` or `{ok: false, kind, message}`.
 */
const WRAPPER = `return (async () => {
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const StringCtor = String;
  const describe = (e) => {
    try {
      if (e !== null && typeof e === 'object' && typeof e.message === 'string') {
        const name = typeof e.name === 'string' && e.name ? e.name : 'Error';
        return e.message ? name + ': ' + e.message : name;
      }
      if (typeof e === 'string') return e;
      const text = stringify(e);
      return text === undefined ? StringCtor(e) : text;
    } catch (_) {
      return 'a value that cannot be described';
    }
  };
  const envelope = (kind, message) => stringify({ ok: false, kind, message: StringCtor(message).slice(0, 4000) });
  delete globalThis.WebAssembly;
  const AsyncFunction = (async function () {}).constructor;
  let fn;
  try {
    fn = new AsyncFunction('input', $0);
  } catch (e) {
    return envelope('syntax', describe(e));
  }
  let result;
  try {
    result = await fn(parse($1));
  } catch (e) {
    return envelope('error', describe(e));
  }
  try {
    const replacer = function (key, value) {
      const t = typeof value;
      if (t === 'function' || t === 'symbol') {
        throw new TypeError('a ' + t + (key === '' ? '' : ' at key "' + key + '"') + ' is not JSON');
      }
      return value;
    };
    const text = stringify(result, replacer);
    return stringify({ ok: true, output: text === undefined ? 'null' : text });
  } catch (e) {
    return envelope('invalid_output', describe(e));
  }
})();`;

interface Envelope {
  ok: boolean;
  output?: string;
  kind?: 'syntax' | 'error' | 'invalid_output';
  message?: string;
}

/**
 * Runs `code` (an async function body over `input`) in a fresh isolate and returns its output as a JSON value.
 * Throws `SandboxError` when the code fails, exceeds a limit, or returns something that is not JSON.
 */
export async function runJavaScript(opts: RunJavaScriptOptions): Promise<unknown> {
  const timeoutMs = clamp(opts.timeoutMs, SANDBOX_LIMITS.defaultTimeoutMs, 1, SANDBOX_LIMITS.maxTimeoutMs);
  const memoryLimitMb = clamp(
    opts.memoryLimitMb,
    SANDBOX_LIMITS.defaultMemoryLimitMb,
    SANDBOX_LIMITS.minMemoryLimitMb,
    SANDBOX_LIMITS.maxMemoryLimitMb,
  );

  let inputJson: string;
  try {
    inputJson = JSON.stringify(opts.input ?? null) ?? 'null';
  } catch (err) {
    throw new SandboxError('sandbox_error', `The step input is not JSON-serializable: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (opts.signal?.aborted) throw opts.signal.reason;

  const timeoutError = (): SandboxError =>
    new SandboxError('sandbox_timeout', `The code exceeded the time limit of ${timeoutMs} ms`);
  const memoryError = (): SandboxError =>
    new SandboxError('sandbox_memory_limit', `The code exceeded the memory limit of ${memoryLimitMb} MB`);

  const entry = acquire(opts.poolKey, memoryLimitMb);
  const { isolate } = entry;
  let context: ivm.Context | undefined;
  let healthy = false;
  let stoppedBy: 'timeout' | 'abort' | undefined;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const made = entry.next;
    entry.next = undefined;
    context = (made ? await made.catch(() => undefined) : undefined) ?? (await isolate.createContext());
    // The host watchdog covers what the isolate's own (CPU) timeout does not: a promise that never settles,
    // or a loop that runs after an `await`. Disposing the isolate terminates whatever it is running.
    const stopped = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        stoppedBy = 'timeout';
        reject(timeoutError());
        if (!isolate.isDisposed) isolate.dispose();
      }, timeoutMs);
      onAbort = () => {
        stoppedBy = 'abort';
        reject(opts.signal?.reason);
        if (!isolate.isDisposed) isolate.dispose();
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
    stopped.catch(() => undefined);

    const run = context.evalClosure(WRAPPER, [opts.code, inputJson], {
      arguments: { copy: true },
      result: { promise: true, copy: true },
      timeout: timeoutMs,
    });
    run.catch(() => undefined);

    let raw: unknown;
    try {
      raw = await Promise.race([run, stopped]);
    } catch (err) {
      throw classifyFailure(err, { isolate, stoppedBy, timeoutError, memoryError, signal: opts.signal });
    }
    // The code ran to its end (its own errors come back inside the envelope): the isolate is reusable.
    healthy = stoppedBy === undefined;
    return decodeEnvelope(raw);
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
    if (context && !isolate.isDisposed) context.release();
    release(opts.poolKey, memoryLimitMb, entry, healthy);
  }
}

function classifyFailure(
  err: unknown,
  ctx: {
    isolate: ivm.Isolate;
    stoppedBy: 'timeout' | 'abort' | undefined;
    timeoutError: () => SandboxError;
    memoryError: () => SandboxError;
    signal: AbortSignal | undefined;
  },
): unknown {
  if (err instanceof SandboxError) return err;
  if (ctx.stoppedBy === 'abort') return ctx.signal?.reason ?? err;
  if (ctx.stoppedBy === 'timeout') return ctx.timeoutError();
  const message = err instanceof Error ? err.message : String(err);
  if (/memory limit/i.test(message)) return ctx.memoryError();
  if (/timed out/i.test(message)) return ctx.timeoutError();
  // An isolate disposed by V8 itself (not by us) ran out of memory.
  if (ctx.isolate.isDisposed) return ctx.memoryError();
  return new SandboxError('sandbox_error', `The sandbox failed: ${message}`, { cause: err });
}

function decodeEnvelope(raw: unknown): unknown {
  if (typeof raw !== 'string') {
    throw new SandboxError('sandbox_invalid_output', 'The sandbox returned an unexpected result');
  }
  const env = JSON.parse(raw) as Envelope;
  if (env.ok && typeof env.output === 'string') return JSON.parse(env.output) as unknown;
  const message = env.message ?? 'unknown error';
  if (env.kind === 'invalid_output') {
    throw new SandboxError('sandbox_invalid_output', `The code's output is not JSON: ${message}`);
  }
  if (env.kind === 'syntax') throw new SandboxError('sandbox_error', `The code does not compile: ${message}`);
  throw new SandboxError('sandbox_error', `The code threw ${message}`);
}
