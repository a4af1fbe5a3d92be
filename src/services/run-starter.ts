import { markWorkflowsStarted, startRunWorkflow, type RunRecord } from './runs';
import type { ServiceDeps } from './deps';

/**
 * Starts the workflows of runs that are already recorded, in the background, with bounded
 * concurrency (bulk imports). Each start is "already started counts as success", so racing the
 * reconciler is harmless. Started runs are marked (`workflow_started_at`) in batches so the reconciler
 * skips them; a run whose start fails stays `pending` and unmarked, and the reconciler starts it after
 * 10 s. If the process dies with a queue, the reconciler starts what is left: nothing recorded is left
 * unstarted.
 */
export class RunStarter {
  private readonly queue: RunRecord[] = [];
  private head = 0;
  private active = 0;
  private marks: string[] = [];
  private markTimer: NodeJS.Timeout | null = null;
  private marking: Promise<void> = Promise.resolve();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly deps: ServiceDeps,
    private readonly opts: { concurrency: number; markEvery: number; markDelayMs: number } = {
      concurrency: 24,
      markEvery: 500,
      markDelayMs: 200,
    },
  ) {}

  get pending(): number {
    return this.queue.length - this.head + this.active;
  }

  enqueue(runs: RunRecord[]): void {
    for (const r of runs) this.queue.push(r);
    while (this.active < this.opts.concurrency && this.head < this.queue.length) this.spawn();
  }

  /** Resolves once every queued run has been tried and the marks are written (tests, benchmarks). */
  async idle(): Promise<void> {
    if (this.pending > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    this.flushMarks();
    await this.marking;
  }

  private spawn(): void {
    this.active++;
    void this.loop().finally(() => {
      this.active--;
      if (this.pending === 0) {
        this.queue.length = 0;
        this.head = 0;
        this.flushMarks();
        for (const w of this.idleWaiters.splice(0)) w();
      }
    });
  }

  private async loop(): Promise<void> {
    while (this.head < this.queue.length) {
      const run = this.queue[this.head] as RunRecord;
      this.queue[this.head++] = undefined as unknown as RunRecord; // let the input be collected
      try {
        await startRunWorkflow(this.deps, run);
        this.mark(run.id);
      } catch (err) {
        this.deps.log.warn({ err, runId: run.id }, 'could not start a bulk run; the reconciler will start it');
      }
    }
  }

  private mark(id: string): void {
    this.marks.push(id);
    if (this.marks.length >= this.opts.markEvery) this.flushMarks();
    else this.markTimer ??= setTimeout(() => this.flushMarks(), this.opts.markDelayMs).unref();
  }

  private flushMarks(): void {
    if (this.markTimer) clearTimeout(this.markTimer);
    this.markTimer = null;
    const ids = this.marks.splice(0);
    if (!ids.length) return;
    this.marking = this.marking.then(() => markWorkflowsStarted(this.deps, ids));
  }
}

const starters = new WeakMap<object, RunStarter>();

/** The process's starter for these deps (one per Temporal client). */
export function runStarterFor(deps: ServiceDeps): RunStarter {
  let s = starters.get(deps.temporal.client);
  if (!s) {
    s = new RunStarter(deps);
    starters.set(deps.temporal.client, s);
  }
  return s;
}
