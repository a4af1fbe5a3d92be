import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';

/**
 * Request bodies are JSON whatever their `Content-Type` (curl's `-d` sends
 * `application/x-www-form-urlencoded`, and the spec's examples rely on it), like GitHub's API; only
 * multipart uploads are left to their routes (multer). A body that is not valid JSON is a 400
 * (`invalid_json`), never read as empty. A request without a body leaves `req.body` undefined.
 */
export function jsonBody(limit: string): RequestHandler {
  const isMultipart = (req: IncomingMessage): boolean =>
    /^multipart\//i.test(req.headers['content-type'] ?? '');
  return express.json({ limit, type: (req) => !isMultipart(req) });
}
