import { proxyActivities } from '@temporalio/workflow';

/** The baseline: a bare Temporal workflow running `n` no-op activities, nothing else. */
const acts = proxyActivities<{ noop(i: number): Promise<number> }>({
  startToCloseTimeout: '1m',
  retry: { maximumAttempts: 3 },
});

export async function bareWorkflow(n: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await acts.noop(i);
  return sum;
}
