import { proxyLocalActivities } from '@temporalio/workflow';

/**
 * The baseline: the bench's pipeline (webhook → condition → computer) written by hand in Temporal's
 * fastest shape: two local activities, the condition in the workflow, no database.
 */
export interface BaselineActivities {
  /** POSTs `body` as JSON to `url` and returns the JSON answer. */
  postJson(url: string, body: unknown): Promise<{ items: number[] }>;
  sum(items: number[]): Promise<number>;
}

const acts = proxyLocalActivities<BaselineActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', maximumAttempts: 3 },
});

export async function baselinePipeline(url: string, input: unknown): Promise<{ total: number } | null> {
  const fetched = await acts.postJson(url, input);
  if (!fetched.items.length) return null;
  return { total: await acts.sum(fetched.items) };
}
