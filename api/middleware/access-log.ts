import type { RequestHandler } from 'express';
import type { Logger } from '../../src/config/logger';

/**
 * One structured line per request when it finishes: method, route path (no query string, which may
 * carry tokens), status, duration, request id and the org. Never headers or bodies.
 */
export function accessLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const principal = res.locals.principal as { orgId?: string } | undefined;
      const entry = {
        requestId: res.locals.requestId as string | undefined,
        method: req.method,
        path: req.path.startsWith('/api/runners/webhooks/') ? '/api/runners/webhooks/:token' : req.path,
        status: res.statusCode,
        ms: Math.round(ms * 10) / 10,
        orgId: principal?.orgId,
      };
      if (res.statusCode >= 500) log.error(entry, 'request failed');
      else log.info(entry, 'request');
    });
    next();
  };
}
