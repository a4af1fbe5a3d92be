import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';

/** A request whose body the JSON parser read: `rawBody` holds the exact bytes (webhook signatures). */
export type RawBodyRequest = IncomingMessage & { rawBody?: Buffer };

/**
 * Request bodies are JSON whatever their `Content-Type` (curl's `-d` sends
 * `application/x-www-form-urlencoded`, and the spec's examples rely on it), like GitHub's API; only
 * multipart uploads are left to their routes (multer). A body that is not valid JSON is a 400
 * (`invalid_json`), never read as empty. A request without a body leaves `req.body` undefined. The
 * raw bytes are kept in `req.rawBody`.
 */
export function jsonBody(limit: string): RequestHandler {
  const isMultipart = (req: IncomingMessage): boolean => /^multipart\//i.test(req.headers['content-type'] ?? '');
  return express.json({
    limit,
    type: (req) => !isMultipart(req),
    // Inbound webhook signatures are computed over the exact bytes received (api/routes/triggers.ts).
    verify: (req, _res, buf) => {
      (req as RawBodyRequest).rawBody = buf;
    },
  });
}
