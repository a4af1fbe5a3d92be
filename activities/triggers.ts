import type { Client } from '@temporalio/client';
import pino from 'pino';
import type { Logger } from '../src/config/logger';
import type { PrismaClient } from '../src/db/client';
import { AppError } from '../src/errors/app-error';
import { McpClientError, type McpClientErrorKind } from '../src/mcp-client/client';
import { failure, type FailureCode } from '../src/shared/failure-codes';
import type { EgressGuard } from '../src/net/egress';
import type { ServiceDeps } from '../src/services/deps';
import type { SecretBox } from '../src/crypto/secret-box';
import { recordCronRun, recordPollRuns } from '../src/services/triggers-fire';
import { advancePollCursor, fetchPollItems, PollError } from '../src/services/triggers-poll';
import type { PollFetchResult, PollItem, RecordCronRunResult } from '../src/shared/trigger-defs';

/** The activities of the trigger workflows (workflows/trigger-cron.ts, workflows/trigger-poll.ts). */
export interface TriggerActivities {
  recordCronRun(a: {
    orgId: string;
    runnerId: string;
    triggerId: string;
    scheduledAt: string;
  }): Promise<RecordCronRunResult>;
  pollFetch(a: { orgId: string; triggerId: string }): Promise<PollFetchResult>;
  pollRecordRuns(a: {
    orgId: string;
    runnerId: string;
    triggerId: string;
    items: PollItem[];
  }): Promise<{ created: number; existing: number }>;
  pollAdvanceCursor(a: {
    orgId: string;
    triggerId: string;
    from: string | number | null;
    to: string | number | null;
  }): Promise<boolean>;
}

export interface TriggerActivityDeps {
  db: PrismaClient;
  /** Starts the runs the triggers record (on `runTaskQueue`). Without it the trigger activities fail clearly. */
  client?: Client;
  runTaskQueue: string;
  namespace: string;
  secrets?: SecretBox;
  guard: EgressGuard;
  log?: Logger;
  /** Crash-safety tests: runs at the start of `pollAdvanceCursor` (e.g. kills the worker there). */
  faults?: { beforePollCursorAdvance?: (triggerId: string) => void | Promise<void> };
}

const MCP_FAILURE_CODES: Record<McpClientErrorKind, FailureCode> = {
  invalid_config: 'mcp_invalid_config',
  egress_refused: 'mcp_egress_refused',
  connect: 'mcp_connect',
  timeout: 'mcp_timeout',
  protocol: 'mcp_protocol',
  closed: 'mcp_closed',
};

/** AppErrors that no retry can fix (validation, not found) end the activity at once. */
function permanent<T>(p: Promise<T>): Promise<T> {
  return p.catch((e: unknown) => {
    // The API's code (not_found, validation_failed, …) stays in the details for the Web UI.
    if (e instanceof AppError && e.status < 500)
      throw failure('trigger_rejected', e.message, { details: [{ code: e.code }] });
    if (e instanceof PollError) throw failure('poll_failed', e.message, { retryable: e.retryable });
    if (e instanceof McpClientError) {
      const fatal = e.kind === 'invalid_config' || e.kind === 'egress_refused';
      throw failure(MCP_FAILURE_CODES[e.kind], e.message, { retryable: !fatal });
    }
    throw e;
  });
}

export function createTriggerActivities(deps: TriggerActivityDeps): TriggerActivities {
  const log = deps.log ?? pino({ level: 'warn', name: 'trigger-activities' });
  const services = (): ServiceDeps => {
    if (!deps.client) throw failure('worker_misconfigured', 'This worker has no Temporal client for trigger runs');
    return {
      db: deps.db,
      log,
      secrets: deps.secrets,
      temporal: { client: deps.client, taskQueue: deps.runTaskQueue, namespace: deps.namespace },
    };
  };
  return {
    recordCronRun: (a) => permanent(recordCronRun(services(), a)),
    pollFetch: (a) =>
      permanent(fetchPollItems({ db: deps.db, secrets: deps.secrets, log }, deps.guard, a.orgId, a.triggerId)),
    pollRecordRuns: (a) => permanent(recordPollRuns(services(), a)),
    pollAdvanceCursor: async (a) => {
      await deps.faults?.beforePollCursorAdvance?.(a.triggerId);
      return permanent(advancePollCursor({ db: deps.db }, a.orgId, a.triggerId, a.from, a.to));
    },
  };
}
