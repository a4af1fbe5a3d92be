import { type Client, Connection, type ConnectionLike } from '@temporalio/client';
import type { ServiceDeps } from '../../src/services/deps';
import type { RouteRegistry } from '../route';
import { z } from 'zod';

const healthSchema = z.object({
  ok: z.boolean(),
  temporal: z.enum(['up', 'down']),
  database: z.enum(['up', 'down']),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timed out')), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e as Error)),
    );
  });
}

const probes = new WeakMap<Client, Connection>();

/**
 * A connection for health probes only: same server and credentials as the client's, but without the
 * SDK's retry interceptor, whose retries outlive the probe's deadline and keep hammering a server that
 * is down. One attempt, answered or timed out within the deadline, is what a health check wants.
 */
function probeConnection(client: Client): Pick<ConnectionLike, 'withDeadline' | 'workflowService'> {
  // A worker's NativeConnection (API and worker in one process) is probed as it is.
  if (!(client.connection instanceof Connection)) return client.connection;
  let probe = probes.get(client);
  if (!probe) {
    probe = Connection.lazy({ ...client.connection.options, interceptors: [] });
    probes.set(client, probe);
  }
  return probe;
}

export async function checkHealth(deps: ServiceDeps, timeoutMs = 2_000) {
  const probe = probeConnection(deps.temporal.client);
  const [db, temporal] = await Promise.allSettled([
    withTimeout(deps.db.$queryRaw`SELECT 1`, timeoutMs),
    withTimeout(
      probe.withDeadline(Date.now() + timeoutMs, () => probe.workflowService.getSystemInfo({})),
      timeoutMs + 200,
    ),
  ]);
  return {
    database: db.status === 'fulfilled' ? 'up' : 'down',
    temporal: temporal.status === 'fulfilled' ? 'up' : 'down',
  } as const;
}

export function registerHealthRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  reg.add(
    {
      method: 'get',
      path: '/healthz',
      summary: 'Liveness and dependency health',
      tag: 'operations',
      public: true,
      responses: {
        200: { description: 'All dependencies up', schema: healthSchema },
        503: { description: 'A dependency is down', schema: healthSchema },
      },
    },
    async () => {
      const h = await checkHealth(deps);
      const down = (['temporal', 'database'] as const).filter((k) => h[k] === 'down');
      if (down.length === 0) return { status: 200, body: { ok: true, ...h }, headers: { 'Cache-Control': 'no-store' } };
      return {
        status: 503,
        headers: { 'Cache-Control': 'no-store' },
        body: {
          ok: false,
          ...h,
          error: {
            code: 'service_unavailable',
            message: `${down.join(' and ')} ${down.length > 1 ? 'are' : 'is'} down`,
          },
        },
      };
    },
  );
}
