import { proxyActivities } from '@temporalio/workflow';
import type { TriggerActivities } from '../activities/triggers';
import type { PollTriggerResult, TriggerWorkflowInput } from '../src/shared/trigger-defs';

/** The MCP call: bounded, a few retries (the next poll tries again anyway). */
const { pollFetch } = proxyActivities<TriggerActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3 },
});
/** Recording runs and moving the cursor must happen eventually: retried for as long as it takes. */
const { pollRecordRuns } = proxyActivities<TriggerActivities>({
  startToCloseTimeout: '10m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});
/** Moving the cursor is one short write; a short timeout lets another worker take over soon after a crash. */
const { pollAdvanceCursor } = proxyActivities<TriggerActivities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
});

/**
 * The action of a poll trigger's schedule: fetch the new items (one MCP tool call), record one run per
 * item (the item id is the run's idempotency key), and only then move the stored cursor. A crash
 * between the two replays the recording (which finds the runs already there) before moving the
 * cursor, and a poll that never moved it fetches the same items again, which start nothing new.
 */
export async function pollTriggerWorkflow(input: TriggerWorkflowInput): Promise<PollTriggerResult> {
  const fetched = await pollFetch({ orgId: input.orgId, triggerId: input.triggerId });
  if (fetched.skipped) return { skipped: fetched.skipped, items: 0, created: 0, cursor: fetched.cursorBefore };
  let created = 0;
  if (fetched.items.length) {
    const r = await pollRecordRuns({
      orgId: input.orgId,
      runnerId: input.runnerId,
      triggerId: input.triggerId,
      items: fetched.items,
    });
    created = r.created;
  }
  if (fetched.cursorAfter !== fetched.cursorBefore) {
    await pollAdvanceCursor({
      orgId: input.orgId,
      triggerId: input.triggerId,
      from: fetched.cursorBefore,
      to: fetched.cursorAfter,
    });
  }
  return { items: fetched.items.length, created, cursor: fetched.cursorAfter };
}
