import type { Worker } from '@temporalio/worker';
import type { Logger } from '../config/logger';

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** One `worker stats` record: the process's memory and what the Temporal worker holds. */
export function workerStats(worker: Worker): Record<string, number> {
  const m = process.memoryUsage();
  const s = worker.getStatus();
  return {
    rssMb: mb(m.rss),
    heapUsedMb: mb(m.heapUsed),
    heapTotalMb: mb(m.heapTotal),
    externalMb: mb(m.external),
    cachedWorkflows: s.numCachedWorkflows,
    inFlightWorkflowActivations: s.numInFlightWorkflowActivations,
    inFlightActivities: s.numInFlightActivities,
  };
}

/**
 * Logs `workerStats` every `intervalMs` (0: never), so an operator sees whether memory follows the
 * workflow cache (bounded by maxCachedWorkflows) or something else. Heap figures are the main thread's
 * (activities); the workflow sandboxes run in a worker thread whose memory shows in `rssMb` only.
 * Returns a stop function.
 */
export function startWorkerStats(worker: Worker, log: Logger, intervalMs: number): () => void {
  if (intervalMs <= 0) return () => undefined;
  const timer = setInterval(() => {
    if (worker.getState() === 'RUNNING') log.info(workerStats(worker), 'worker stats');
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
