/**
 * Cancel announcements over PostgreSQL LISTEN/NOTIFY.
 *
 * A model call runs as a local activity (run shape ≥ 3, docs/run-shape.md): it holds the run's workflow
 * task open, so a Temporal cancel request only reaches the workflow when the task completes — at the
 * latest at the task's heartbeat, 8 s into a long call. To keep "cancelling a run aborts an in-flight model
 * request within about a second", the cancel API also announces the cancel on the channel below once
 * Temporal has accepted it; every worker listens, and a model call of that run in flight aborts its
 * request and hands the rest to the workflow (which then receives Temporal's cancel itself).
 *
 * The announcement is only a hint: a lost one (listener reconnecting, a cancel from the Temporal UI or CLI)
 * costs the old latency, never correctness. The payload is a run id and nothing else.
 */
import { Client, type PoolConfig } from 'pg';
import type { PrismaClient } from './client';
import { sqlPool } from './client';

export const RUN_CANCEL_CHANNEL = 'flapjack_run_cancel';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Tells every listening worker that this run is being cancelled. One statement, outside any transaction. */
export async function announceRunCancel(db: PrismaClient, runId: string): Promise<void> {
  await sqlPool(db).query('SELECT pg_notify($1, $2)', [RUN_CANCEL_CHANNEL, runId]);
}

export interface RunCancelWatch {
  /**
   * A signal that aborts when a cancel of `runId` is announced, and a function to stop watching (always
   * call it). Waits (bounded) for the listener's first connection, so an announcement made after this
   * returns is not missed while the worker is starting.
   */
  watch(runId: string): Promise<{ signal: AbortSignal; stop: () => void }>;
  /** Closes the listening connection. */
  close(): Promise<void>;
}

/**
 * One listening connection per worker process, opened on the first watch and reopened (after 1 s) when it
 * drops. Connection settings are the pool's own (same URL, same session role).
 */
export function createRunCancelWatch(db: PrismaClient, opts: { connectWaitMs?: number } = {}): RunCancelWatch {
  const connectWaitMs = opts.connectWaitMs ?? 2_000;
  const watchers = new Map<string, Set<AbortController>>();
  let client: Client | null = null;
  let connecting: Promise<void> | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;

  const onNotification = (msg: { channel: string; payload?: string }) => {
    if (msg.channel !== RUN_CANCEL_CHANNEL || !msg.payload || !UUID.test(msg.payload)) return;
    for (const c of watchers.get(msg.payload) ?? []) c.abort(new Error('run cancel announced'));
  };

  const connect = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (client) return Promise.resolve();
    if (connecting) return connecting;
    const { connectionString, options } = sqlPool(db).options as PoolConfig;
    const c = new Client({ connectionString, options, connectionTimeoutMillis: 5_000 });
    const reconnectLater = () => {
      if (client === c) client = null;
      c.removeAllListeners('notification');
      c.end().catch(() => undefined);
      if (!closed && !retry) {
        retry = setTimeout(() => {
          retry = null;
          void connect();
        }, 1_000);
        retry.unref();
      }
    };
    c.on('error', reconnectLater);
    c.on('end', () => {
      if (client === c) reconnectLater();
    });
    c.on('notification', onNotification);
    connecting = c
      .connect()
      .then(() => c.query(`LISTEN ${RUN_CANCEL_CHANNEL}`))
      .then(() => {
        if (closed) {
          void c.end().catch(() => undefined);
          return;
        }
        client = c;
      })
      .catch(() => reconnectLater())
      .finally(() => {
        connecting = null;
      });
    return connecting;
  };

  return {
    async watch(runId) {
      const controller = new AbortController();
      let set = watchers.get(runId);
      if (!set) watchers.set(runId, (set = new Set()));
      set.add(controller);
      if (!client) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([connect(), new Promise<void>((r) => (timer = setTimeout(r, connectWaitMs)))]);
        clearTimeout(timer);
      }
      return {
        signal: controller.signal,
        stop: () => {
          const s = watchers.get(runId);
          s?.delete(controller);
          if (s && s.size === 0) watchers.delete(runId);
        },
      };
    },
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      retry = null;
      await connecting;
      const c = client;
      client = null;
      if (c) await c.end().catch(() => undefined);
    },
  };
}
