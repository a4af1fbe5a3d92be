import type { Client } from '@temporalio/client';
import type { Logger } from '../config/logger';
import type { PrismaClient } from '../db/client';

/** What every use case needs; built once in each entry point and passed down. */
export interface ServiceDeps {
  db: PrismaClient;
  temporal: {
    client: Client;
    taskQueue: string;
    namespace: string;
    /** Base URL of the Temporal Web UI, for links in responses and logs. */
    uiUrl?: string;
  };
  log: Logger;
  /** Public base URL of the API (for webhook trigger URLs, button pages). */
  publicUrl?: string;
}

/** An authenticated caller: everything it does is scoped to `orgId`. */
export interface Principal {
  orgId: string;
  apiKeyId: string;
}
