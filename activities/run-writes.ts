/**
 * The writes an activity leaves in flight for a run, in this worker process, and the points that wait
 * for them. Two kinds:
 *
 * - **bookings** (a tool call's analytics row): best effort; the promise never rejects.
 * - **deferred ledger rows**: a local model call that asks for tools answers as soon as its HTTP request
 *   is done, and its `model_calls` row is written while the workflow schedules the tool calls. The
 *   row must land: a write that fails is tried again by the next `settle`, whose caller fails (and is
 *   retried) while it still cannot. A row that finds another attempt's different answer recorded first
 *   is `superseded`.
 *
 * Everything that follows a model call waits here first: the step's tool calls (`callTool`), its next
 * model call, and every `persistRun` (a run's end, a budget pause, a cancel). So a run's writes keep
 * their order, and a workflow task cannot complete past a model call before its row is in, except
 * through a workflow-task heartbeat; for that case the tool call carries the row and writes it itself
 * when this process does not know it (see `callTool` in activities/agent.ts).
 */

export type DeferredOutcome = 'recorded' | 'superseded';

interface Deferred {
  runId: string;
  write: () => Promise<DeferredOutcome>;
  /** Settles with the outcome, or the error of the last try; never rejects. */
  attempt: Promise<{ outcome: DeferredOutcome } | { error: unknown }>;
  outcome?: DeferredOutcome;
}

export interface RunWrites {
  /** A best-effort write of `runId` (it handles its own failure): waited for by `settle`. */
  book(runId: string, write: Promise<void>): void;
  /** Starts a ledger row's write now; `settle(runId)` waits for it and tries it again if it failed. */
  defer(runId: string, key: string, write: () => Promise<DeferredOutcome>): void;
  /** The outcome of deferred write `key` once settled, 'pending' before, undefined if this process never had it. */
  state(key: string): DeferredOutcome | 'pending' | undefined;
  /**
   * Waits for every write of `runId`. A deferred write that failed is tried once more; if that fails too,
   * its error is thrown (the write stays, for the next `settle`).
   */
  settle(runId: string): Promise<void>;
  /** Forgets the settled deferred writes of `runId` (their rows are in; nothing will ask again). */
  forget(runId: string): void;
  /** Waits for every run's writes, trying failed ones once more (worker shutdown); never throws. */
  drain(): Promise<void>;
}

/** How many settled deferred writes are remembered (for `state`) across runs that ended without `forget`. */
const REMEMBERED = 5_000;

export function createRunWrites(): RunWrites {
  const bookings = new Map<string, Set<Promise<void>>>();
  const deferred = new Map<string, Deferred>();
  const deferredByRun = new Map<string, Set<string>>();

  const start = (d: Deferred) => {
    d.attempt = d.write().then(
      (outcome) => {
        d.outcome = outcome;
        return { outcome };
      },
      (error: unknown) => ({ error }),
    );
  };

  const dropKey = (key: string) => {
    const d = deferred.get(key);
    if (!d) return;
    deferred.delete(key);
    const keys = deferredByRun.get(d.runId);
    keys?.delete(key);
    if (keys?.size === 0) deferredByRun.delete(d.runId);
  };

  /** Keeps the map bounded: the oldest settled entries go first (a Map iterates in insertion order). */
  const trim = () => {
    if (deferred.size <= REMEMBERED) return;
    for (const [key, d] of deferred) {
      if (deferred.size <= REMEMBERED) break;
      if (d.outcome) dropKey(key);
    }
  };

  const settleDeferred = async (d: Deferred): Promise<void> => {
    const first = d.attempt;
    let r = await first;
    if ('error' in r) {
      // Once more (only one waiter restarts it; the others wait for the same try).
      if (d.attempt === first) start(d);
      r = await d.attempt;
      if ('error' in r) throw r.error;
    }
  };

  const writes: RunWrites = {
    book(runId, write) {
      let set = bookings.get(runId);
      if (!set) bookings.set(runId, (set = new Set()));
      const mine = set;
      mine.add(write);
      void write.finally(() => {
        mine.delete(write);
        if (mine.size === 0 && bookings.get(runId) === mine) bookings.delete(runId);
      });
    },

    defer(runId, key, write) {
      const d = { runId, write } as Deferred;
      start(d);
      deferred.set(key, d);
      let keys = deferredByRun.get(runId);
      if (!keys) deferredByRun.set(runId, (keys = new Set()));
      keys.add(key);
      trim();
    },

    state(key) {
      const d = deferred.get(key);
      return d ? (d.outcome ?? 'pending') : undefined;
    },

    async settle(runId) {
      const booked = bookings.get(runId);
      const keys = deferredByRun.get(runId);
      await Promise.all([
        ...(booked ? [...booked] : []),
        ...[...(keys ?? [])].map((k) => deferred.get(k)).map((d) => (d && !d.outcome ? settleDeferred(d) : null)),
      ]);
    },

    forget(runId) {
      for (const key of [...(deferredByRun.get(runId) ?? [])]) {
        if (deferred.get(key)?.outcome) dropKey(key);
      }
    },

    async drain() {
      const runs = new Set([...bookings.keys(), ...deferredByRun.keys()]);
      await Promise.all([...runs].map((runId) => writes.settle(runId).catch(() => undefined)));
    },
  };
  return writes;
}
