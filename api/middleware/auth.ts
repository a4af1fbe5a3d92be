import type { Request, RequestHandler } from 'express';
import { AppError } from '../../src/errors/app-error';
import type { Principal } from '../../src/services/deps';

/**
 * Resolves `Authorization: Bearer fj_live_…` to a principal in `res.locals.principal`. Routes marked
 * public skip the check (the route wrapper enforces it), so a missing header is not an error here;
 * a header that is present but wrong is a 401 everywhere, except on routes for which `ignore` is true
 * (public routes that authenticate their caller themselves, such as inbound webhooks): there the header
 * is not read at all.
 */
export function authenticate(
  resolve: (key: string) => Promise<Principal | null>,
  ignore: (req: Request) => boolean = () => false,
): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    if (!header || ignore(req)) return next();
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m?.[1]) return next(new AppError('unauthorized', 'Authorization header must be "Bearer <api key>"'));
    resolve(m[1])
      .then((principal) => {
        if (!principal) return next(new AppError('unauthorized', 'Invalid API key'));
        res.locals.principal = principal;
        next();
      })
      .catch(next);
  };
}
