import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApp } from '../api/app';
import { createDb } from '../src/db/client';
import { createKeyResolver } from '../src/services/api-keys';
import type { ServiceDeps } from '../src/services/deps';
import { connectTemporalClient } from '../src/temporal/connection';
import { startTcpProxy } from './fixtures/tcp-proxy';
import { request, useTestContext, waitFor } from './harness';

/**
 * /healthz against dependencies that really go away: the app talks to PostgreSQL and Temporal
 * through TCP proxies that the test pauses (every connection cut, new ones reset) and resumes.
 */
describe('/healthz with dependencies going down', () => {
  const ctx = useTestContext();

  let dbProxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let temporalProxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let db: ReturnType<typeof createDb>;
  let connection: Awaited<ReturnType<typeof connectTemporalClient>>['connection'];
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    const pgUrl = new URL(ctx.env.databaseUrl);
    dbProxy = await startTcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
    const [temporalHost, temporalPort] = ctx.env.temporalAddress.split(':');
    temporalProxy = await startTcpProxy({ host: temporalHost as string, port: Number(temporalPort) });

    const viaProxy = new URL(ctx.env.databaseUrl);
    viaProxy.hostname = dbProxy.host;
    viaProxy.port = String(dbProxy.port);
    db = createDb(viaProxy.toString(), { poolSize: 3 });
    // The production connection settings (src/bin/api.ts uses the same helper), only the address differs.
    const temporal = await connectTemporalClient({
      address: temporalProxy.address,
      namespace: ctx.env.namespace,
      taskQueue: ctx.env.taskQueue,
    });
    connection = temporal.connection;
    const services: ServiceDeps = {
      ...ctx.services,
      db,
      temporal: { ...ctx.services.temporal, client: temporal.client },
    };
    app = createApp({ services, resolveApiKey: createKeyResolver(db) });
  });

  afterAll(async () => {
    await connection.close().catch(() => undefined);
    await db.$disconnect().catch(() => undefined);
    await dbProxy.close();
    await temporalProxy.close();
  });

  const health = () => request(app).get('/healthz');
  const RECOVERY_MS = 10_000;

  describe('GET /healthz', () => {
    it('answers 200 with both dependencies up', async () => {
      const r = await health();
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ ok: true, temporal: 'up', database: 'up' });
      expect(r.headers['cache-control']).toBe('no-store');
    });

    it('answers 503 naming the database while it is down, and recovers by itself', async () => {
      dbProxy.pause();
      const started = Date.now();
      const down = await health();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ ok: false, database: 'down', temporal: 'up' });
      expect(down.body.error.code).toBe('service_unavailable');
      expect(down.body.error.message).toMatch(/database/i);
      expect(down.body.error.message).not.toMatch(/temporal/i);

      dbProxy.resume();
      const back = await waitFor(health, (r) => r.status === 200, RECOVERY_MS, 250);
      expect(back.body).toEqual({ ok: true, temporal: 'up', database: 'up' });
    });

    it('answers 503 naming Temporal while it is down, and recovers by itself', async () => {
      temporalProxy.pause();
      const started = Date.now();
      const down = await health();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ ok: false, temporal: 'down', database: 'up' });
      expect(down.body.error.code).toBe('service_unavailable');
      expect(down.body.error.message).toMatch(/temporal/i);
      expect(down.body.error.message).not.toMatch(/database/i);

      temporalProxy.resume();
      const back = await waitFor(health, (r) => r.status === 200, RECOVERY_MS, 250);
      expect(back.body).toEqual({ ok: true, temporal: 'up', database: 'up' });
    });

    it('names both when both are down, and recovers from a longer outage', async () => {
      dbProxy.pause();
      temporalProxy.pause();
      const down = await health();
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ ok: false, temporal: 'down', database: 'down' });
      expect(down.body.error.message).toMatch(/temporal/i);
      expect(down.body.error.message).toMatch(/database/i);
      // Stay down a while so client reconnect backoff grows, then come back.
      await new Promise((r) => setTimeout(r, 6_000));
      expect((await health()).status).toBe(503);
      dbProxy.resume();
      temporalProxy.resume();
      const back = await waitFor(health, (r) => r.status === 200, RECOVERY_MS, 250);
      expect(back.body).toEqual({ ok: true, temporal: 'up', database: 'up' });
    });

    it('serves real requests again after the outages', async () => {
      const r = await request(app).get('/api/runners').set('Authorization', `Bearer ${ctx.keyA}`);
      expect(r.status).toBe(200);
    });
  });
});
