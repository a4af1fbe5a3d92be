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

export async function checkHealth(deps: ServiceDeps, timeoutMs = 2_000) {
  const [db, temporal] = await Promise.allSettled([
    withTimeout(deps.db.$queryRaw`SELECT 1`, timeoutMs),
    withTimeout(
      deps.temporal.client.connection.withDeadline(Date.now() + timeoutMs, () =>
        deps.temporal.client.workflowService.getSystemInfo({}),
      ),
      timeoutMs + 200,
    ),
  ]);
  return { database: db.status === 'fulfilled' ? 'up' : 'down', temporal: temporal.status === 'fulfilled' ? 'up' : 'down' } as const;
}

export function registerHealthRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  reg.add(
    {
      method: 'get',
      path: '/healthz',
      summary: 'Liveness and dependency health',
      tag: 'operations',
      public: true,
      responses: { 200: { description: 'All dependencies up', schema: healthSchema }, 503: { description: 'A dependency is down', schema: healthSchema } },
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
          error: { code: 'service_unavailable', message: `${down.join(' and ')} ${down.length > 1 ? 'are' : 'is'} down` },
        },
      };
    },
  );
}
