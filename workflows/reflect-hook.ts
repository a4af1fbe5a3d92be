import { proxyActivities } from '@temporalio/workflow';
import type { createReflectActivities, ReflectArgs } from '../activities/reflect';

type ReflectActivities = ReturnType<typeof createReflectActivities>;

/** One model call and one small write; retried a little (429/5xx), never long. */
const reflect = proxyActivities<ReflectActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 3 },
});

/**
 * `reflectOnFailure`: after the run has been recorded as failed, ask the model for one lesson (see
 * activities/reflect.ts). Only for runners that opted in (the flag is frozen in the snapshot), so runs
 * of other runners — and every history recorded before the setting existed — schedule nothing. Best
 * effort: a failed reflection never changes the run's outcome.
 */
export async function reflectAfterFailure(args: ReflectArgs, enabled: boolean | undefined): Promise<void> {
  if (!enabled) return;
  try {
    await reflect.reflectOnFailure.executeWithOptions(
      {
        startToCloseTimeout: '2m',
        retry: { initialInterval: '2s', maximumAttempts: 3 },
        summary: 'reflect on failure',
      },
      [args],
    );
  } catch {
    // Logged by the activity; the run stays failed either way.
  }
}
