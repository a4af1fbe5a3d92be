import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../../src/config/logger';
import { toAppError } from '../../src/errors/map';

/** Every failure leaves as `{error: {code, message, details?}}`; no stack trace ever reaches a client. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appError = toAppError(err);
    if (appError.status >= 500) {
      log.error({ err, requestId: res.locals.requestId, method: req.method, path: req.path }, 'request failed');
    }
    if (res.headersSent) return;
    for (const [k, v] of Object.entries(appError.headers)) res.setHeader(k, v);
    const body: { code: string; message: string; details?: unknown } = {
      code: appError.code,
      message: appError.message,
    };
    if (appError.details !== undefined) body.details = appError.details;
    res.status(appError.status).json({ error: body });
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json({ error: { code: 'not_found', message: `No route for ${req.method} ${req.path}` } });
};
