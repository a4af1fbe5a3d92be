import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createDb } from '../src/db/client';
import { announceRunCancel, createRunCancelWatch } from '../src/db/run-cancel';
import { startTcpProxy } from './fixtures/tcp-proxy';
import { waitFor } from './harness';
import { testEnv } from './test-env';

/** Cancel announcements over a real PostgreSQL LISTEN/NOTIFY (src/db/run-cancel.ts). */
const db = createDb(testEnv().databaseUrl, { poolSize: 2 });
afterAll(() => db.$disconnect());

describe('run cancel announcements', () => {
  it('aborts the watchers of the announced run only, and stops a watcher that stopped watching', async () => {
    const watch = createRunCancelWatch(db);
    try {
      const [a, b] = [randomUUID(), randomUUID()];
      const wa = await watch.watch(a);
      const wa2 = await watch.watch(a);
      const wb = await watch.watch(b);
      wa2.stop();
      await announceRunCancel(db, a);
      await waitFor(
        async () => wa.signal.aborted,
        (v) => v,
        5_000,
        20,
      );
      // Give a stray notification time to arrive before asserting that none did.
      await new Promise((r) => setTimeout(r, 200));
      expect(wb.signal.aborted).toBe(false);
      expect(wa2.signal.aborted).toBe(false);
      wa.stop();
      wb.stop();
    } finally {
      await watch.close();
    }
  });

  it('ignores payloads that are not run ids', async () => {
    const watch = createRunCancelWatch(db);
    try {
      const id = randomUUID();
      const w = await watch.watch(id);
      await db.$executeRawUnsafe(`SELECT pg_notify('flapjack_run_cancel', '${id} OR 1=1')`);
      await new Promise((r) => setTimeout(r, 300));
      expect(w.signal.aborted).toBe(false);
      w.stop();
    } finally {
      await watch.close();
    }
  });

  it('listens again after its connection is cut', async () => {
    const url = new URL(testEnv().databaseUrl);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.hostname = proxy.host;
    url.port = String(proxy.port);
    const viaProxy = createDb(url.toString(), { poolSize: 1 });
    const watch = createRunCancelWatch(viaProxy);
    try {
      const id = randomUUID();
      const w1 = await watch.watch(id);
      proxy.pause();
      await new Promise((r) => setTimeout(r, 300));
      proxy.resume();
      // Announced on the direct connection until the watch has reconnected and hears it.
      const w2 = await watch.watch(id);
      await waitFor(
        async () => {
          await announceRunCancel(db, id);
          return w2.signal.aborted;
        },
        (v) => v,
        15_000,
        250,
      );
      expect(w1.signal.aborted).toBe(true);
      w1.stop();
      w2.stop();
    } finally {
      await watch.close();
      await viaProxy.$disconnect();
      await proxy.close();
    }
  });
});
