/**
 * Runs whose record the API is writing while their workflow starts (`createRun` with eager start, see
 * docs/run-shape.md "The run's record and its start, side by side"). The API and the worker of one process
 * share this map: the run's first write (`runStarted`, flagged `recordedAfterStart`) waits here for the
 * record instead of finding no row. A worker of another process has no entry and writes first, checking
 * that the row is there (activities/persistence.ts).
 */

/** How long an entry is kept for a first write that may come late (a slow first workflow task). */
const KEEP_MS = 60_000;

const inFlight = new Map<string, Promise<boolean>>();

/**
 * Registers the record of `runId` being written: `recorded` resolves true once it is committed, false if
 * it failed (the API then terminates the workflow). Never rejects.
 */
export function trackRunRecord(runId: string, recorded: Promise<boolean>): void {
  inFlight.set(runId, recorded);
  const timer = setTimeout(() => {
    if (inFlight.get(runId) === recorded) inFlight.delete(runId);
  }, KEEP_MS);
  timer.unref();
}

/** The record of `runId` being written by this process, if it is. */
export function runRecordInFlight(runId: string): Promise<boolean> | undefined {
  return inFlight.get(runId);
}

/** The run's first write has landed: nothing will wait for its record again. */
export function forgetRunRecord(runId: string): void {
  inFlight.delete(runId);
}
