import { proxyLocalActivities } from '@temporalio/workflow';

/**
 * The floor under an agent step's per-call overhead in `bench/agent.ts`: `k` local activities that do
 * nothing, one after the other. An agent step runs each model call and each tool call as a local
 * activity, so a tool round cannot cost less than two of these on the same worker and server.
 */
const acts = proxyLocalActivities<{ noop(i: number): Promise<number> }>({ startToCloseTimeout: '10s' });

export async function localActivityFloor(k: number): Promise<number> {
  let n = 0;
  for (let i = 0; i < k; i++) n += await acts.noop(i);
  return n;
}
