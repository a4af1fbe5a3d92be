/**
 * What every chaos scenario reads back: run statuses straight from PostgreSQL (never through the proxy),
 * the run workflows Temporal knows, and a bulk submitter that retries like a careful client.
 */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { sleep } from '../../src/dev/process';
import { RUN_WORKFLOW_TYPE } from '../../src/shared/workflow-defs';
import type { ChaosStack, Say } from './stack';

export const FINAL = ['completed', 'failed', 'cancelled'];

/** Runs of a runner per status. */
export async function statusCounts(pg: Pool, runnerId: string): Promise<Record<string, number>> {
  const r = await pg.query<{ status: string; n: string }>(
    'SELECT status, count(*) AS n FROM runner_runs WHERE runner_id = $1 GROUP BY status',
    [runnerId],
  );
  return Object.fromEntries(r.rows.map((x) => [x.status, Number(x.n)]));
}

export const finalCount = (c: Record<string, number>): number => FINAL.reduce((s, k) => s + (c[k] ?? 0), 0);
export const total = (c: Record<string, number>): number => Object.values(c).reduce((s, n) => s + n, 0);

/** Waits until `expected` runs of the runner are final; returns the counts and whether that happened. */
export async function waitAllFinal(
  pg: Pool,
  runnerId: string,
  expected: number,
  timeoutMs: number,
  say: Say,
): Promise<{ counts: Record<string, number>; done: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let lastSaid = 0;
  for (;;) {
    const counts = await statusCounts(pg, runnerId);
    if (finalCount(counts) >= expected) return { counts, done: true };
    if (Date.now() > deadline) return { counts, done: false };
    if (Date.now() - lastSaid > 10_000) {
      say(`  waiting: ${JSON.stringify(counts)}`);
      lastSaid = Date.now();
    }
    await sleep(1_000);
  }
}

/** Waits until at least `n` runs of the runner are final (or `timeoutMs` passes). */
export async function waitFinalAtLeast(pg: Pool, runnerId: string, n: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = finalCount(await statusCounts(pg, runnerId));
    if (done >= n || Date.now() > deadline) return done;
    await sleep(250);
  }
}

export interface Executions {
  /** Run workflow executions of the runner (every run of every workflow id). */
  executions: number;
  /** Distinct workflow ids (= run ids). */
  distinctIds: number;
  /** Executions per Temporal status. */
  byStatus: Record<string, number>;
  ids: Set<string>;
}

/**
 * The run workflows Temporal has for a runner (search attribute RunnerId), waiting up to `timeoutMs`
 * for visibility to show `expected` closed executions (it lags the close by a moment).
 */
export async function runExecutions(
  client: Client,
  runnerId: string,
  expected: number,
  timeoutMs = 60_000,
): Promise<Executions> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const byStatus: Record<string, number> = {};
    const ids = new Set<string>();
    let executions = 0;
    try {
      const query = `RunnerId = "${runnerId}" AND WorkflowType = "${RUN_WORKFLOW_TYPE}"`;
      for await (const w of client.workflow.list({ query })) {
        executions++;
        ids.add(w.workflowId);
        byStatus[w.status.name] = (byStatus[w.status.name] ?? 0) + 1;
      }
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(1_000);
      continue;
    }
    const closed = executions - (byStatus.RUNNING ?? 0);
    if ((closed >= expected && !byStatus.RUNNING) || Date.now() > deadline) {
      return { executions, distinctIds: ids.size, byStatus, ids };
    }
    await sleep(1_000);
  }
}

export interface BulkItem {
  input: unknown;
  idempotencyKey: string;
}

/**
 * Sends items in chunks through `POST /runs/bulk`, retrying a chunk (same keys, so never twice) on a
 * network error or a 5xx until it is accepted. Returns the run ids in item order and the retries made.
 */
export async function submitBulk(
  stack: Pick<ChaosStack, 'call'>,
  runnerId: string,
  items: BulkItem[],
  chunkSize: number,
  timeoutMs = 300_000,
): Promise<{ ids: string[]; retries: number }> {
  const ids: string[] = [];
  let retries = 0;
  const deadline = Date.now() + timeoutMs;
  for (let at = 0; at < items.length; at += chunkSize) {
    const chunk = items.slice(at, at + chunkSize);
    for (;;) {
      let status = 0;
      let body: unknown;
      try {
        ({ status, body } = await stack.call('POST', `/api/runners/${runnerId}/runs/bulk`, { items: chunk }));
      } catch (e) {
        body = String(e);
      }
      if (status === 202) {
        const data = (body as { data: { id: string }[] }).data;
        ids.push(...data.map((d) => d.id));
        break;
      }
      if (status >= 400 && status < 500)
        throw new Error(`bulk refused: ${status} ${JSON.stringify(body).slice(0, 300)}`);
      if (Date.now() > deadline)
        throw new Error(
          `bulk not accepted within ${timeoutMs / 1000} s: ${status} ${JSON.stringify(body).slice(0, 300)}`,
        );
      retries++;
      await sleep(1_000);
    }
  }
  return { ids, retries };
}

/** POST that must answer `expected`; returns the body. */
export async function must<T>(
  stack: Pick<ChaosStack, 'call'>,
  method: string,
  p: string,
  body: unknown,
  expected = 201,
): Promise<T> {
  const r = await stack.call(method, p, body);
  if (r.status !== expected) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
  return r.body as T;
}

/** A runner with the given steps; returns its id. */
export async function createRunner(
  stack: Pick<ChaosStack, 'call'>,
  name: string,
  steps: Record<string, unknown>[],
): Promise<string> {
  const runner = await must<{ id: string }>(stack, 'POST', '/api/runners', { name });
  for (const [i, s] of steps.entries())
    await must(stack, 'POST', `/api/runners/${runner.id}/steps`, { orderIndex: i, ...s });
  return runner.id;
}
