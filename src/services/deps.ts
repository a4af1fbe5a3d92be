import type { Client } from '@temporalio/client';
import type { Logger } from '../config/logger';
import type { PrismaClient } from '../db/client';
import type { SecretBox } from '../crypto/secret-box';

/** What every use case needs; built once in each entry point and passed down. */
export interface ServiceDeps {
  db: PrismaClient;
  temporal: {
    client: Client;
    taskQueue: string;
    namespace: string;
    /** Base URL of the Temporal Web UI, for links in responses and logs. */
    uiUrl?: string;
    /**
     * Start run workflows with `requestEagerStart`: only when `client` is built on the NativeConnection
     * of a worker in this process that polls `taskQueue` (FLAPJACK_ROLES=api,worker).
     */
    eagerStart?: boolean;
  };
  log: Logger;
  /** Public base URL of the API (for webhook trigger URLs, button pages). */
  publicUrl?: string;
  /**
   * Fault injection for tests of crash safety: `afterRunRecorded` runs between recording a run and
   * starting its workflow; throwing there behaves like the process dying at that point.
   */
  faults?: { afterRunRecorded?: (runId: string) => void };
  /** Encrypts secrets at rest (MCP env/headers, integration URLs, tool headers); from FLAPJACK_SECRET_KEY. */
  secrets?: SecretBox;
}

/** An authenticated caller: everything it does is scoped to `orgId`. */
export interface Principal {
  orgId: string;
  apiKeyId: string;
}
