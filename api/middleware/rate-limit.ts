import type { RequestHandler } from 'express';
import { AppError } from '../../src/errors/app-error';

export interface RateLimitOptions {
  /** Sustained requests per second per key (or per IP for public routes). */
  ratePerSec: number;
  /** Bucket size: how many requests may arrive at once. */
  burst: number;
}

/** A token bucket per API key (or client IP when unauthenticated); 429 with Retry-After when empty. */
export function rateLimit(opts: RateLimitOptions): RequestHandler {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (req, res, next) => {
    const who = (res.locals.principal as { apiKeyId?: string } | undefined)?.apiKeyId ?? `ip:${req.ip}`;
    const now = Date.now();
    const b = buckets.get(who) ?? { tokens: opts.burst, at: now };
    b.tokens = Math.min(opts.burst, b.tokens + ((now - b.at) / 1000) * opts.ratePerSec);
    b.at = now;
    if (b.tokens < 1) {
      buckets.set(who, b);
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / opts.ratePerSec));
      return next(
        new AppError('rate_limited', 'Too many requests; slow down', {
          headers: { 'Retry-After': String(retryAfter) },
        }),
      );
    }
    b.tokens -= 1;
    buckets.set(who, b);
    if (buckets.size > 50_000) buckets.clear();
    next();
  };
}
