import { randomBytes } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { AppError } from '../../src/errors/app-error';
import {
  buttonRunStatus,
  embedOriginAllowed,
  findButtonTrigger,
  issueStartToken,
  originAllowed,
  startButtonRun,
  verifyStartToken,
  type ButtonTrigger,
} from '../../src/services/button';
import type { ServiceDeps } from '../../src/services/deps';
import { errorResponseSchema } from '../../src/shared/schemas';
import { RUN_STATUSES } from '../../src/shared/status';
import type { RouteRegistry } from '../route';
import { BUTTON_CLIENT_JS, BUTTON_CSS } from './button-client';
import { requireUuid } from './params';

const startBodySchema = z
  .object({
    token: z.string().min(1).max(2_000),
    input: z.unknown().optional(),
  })
  .strict();
const statusQuerySchema = z.object({ token: z.string().min(1).max(2_000) });
const startResponseSchema = z.object({ runId: z.uuid(), status: z.enum(RUN_STATUSES), statusToken: z.string() });
const statusResponseSchema = z.object({ runId: z.uuid(), status: z.enum(RUN_STATUSES) });

/** Largest `input` a public button may send (JSON characters). */
const MAX_INPUT_CHARS = 16 * 1024;

/** The origins this API answers on: the request's own (as the browser saw it) and the public URL's. */
function ownOrigins(req: Request, deps: ServiceDeps): string[] {
  const out = [`${req.protocol}://${req.get('host') ?? ''}`];
  if (deps.publicUrl) {
    try {
      out.push(new URL(deps.publicUrl).origin);
    } catch {
      // ignored: a malformed public URL only loses that alias
    }
  }
  return out;
}

/** JSON for inside a <script> element: nothing in it can close the element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A token bucket per (runner, client IP): `rateLimitPerMinute` starts per minute with bursts of the
 * same size, plus ten times that per runner across all clients.
 */
function createStartLimiter() {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const take = (key: string, perMinute: number): number => {
    const now = Date.now();
    const b = buckets.get(key) ?? { tokens: perMinute, at: now };
    b.tokens = Math.min(perMinute, b.tokens + ((now - b.at) / 60_000) * perMinute);
    b.at = now;
    buckets.set(key, b);
    if (buckets.size > 50_000) buckets.clear();
    if (b.tokens < 1) return Math.max(1, Math.ceil(((1 - b.tokens) * 60) / perMinute));
    b.tokens -= 1;
    return 0;
  };
  return (b: ButtonTrigger, ip: string) => {
    const wait = take(`${b.runnerId}|${ip}`, b.rateLimitPerMinute) || take(b.runnerId, b.rateLimitPerMinute * 10);
    if (wait) {
      throw new AppError('rate_limited', 'Too many runs started from this button; try again shortly', {
        headers: { 'Retry-After': String(wait) },
      });
    }
  };
}

/** CORS for the embed: only for an origin the button may be embedded on. */
function allowCors(res: Response, origin: string | undefined, b: ButtonTrigger): void {
  res.setHeader('Vary', 'Origin');
  if (origin && embedOriginAllowed(b, origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Max-Age', '600');
  }
}

const PREFLIGHT_RE = /^\/api\/runners\/([^/]+)\/button\/runs(?:\/[^/]+)?$/;

/** Answers CORS preflights of the button's start and status calls (mounted before the routes). */
export function buttonPreflight(deps: ServiceDeps): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'OPTIONS') return next();
    const m = PREFLIGHT_RE.exec(req.path);
    if (!m) return next();
    void (async () => {
      const b = await findButtonTrigger(deps, requireUuid(m[1], 'Button'));
      allowCors(res, req.get('origin'), b);
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
      res.status(204).end();
    })().catch(next);
  };
}

function pageHtml(b: ButtonTrigger, token: string, nonce: string): string {
  const cfg = { api: '', runnerId: b.runnerId, token, label: b.label };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(b.runnerName)}</title>
<style nonce="${nonce}">
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; min-height: 100vh; display: grid;
  place-items: center; background: #f8fafc; color: #0f172a; }
main { text-align: center; padding: 2rem; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
${BUTTON_CSS}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(b.runnerName)}</h1>
<div id="fj-root"></div>
<noscript><p>This button needs JavaScript.</p></noscript>
</main>
<script nonce="${nonce}">
${BUTTON_CLIENT_JS}
fjMountButton(document.getElementById('fj-root'), ${scriptJson(cfg)});
</script>
</body>
</html>
`;
}

function embedJs(b: ButtonTrigger, token: string): string {
  const cfg = { runnerId: b.runnerId, token, label: b.label };
  return `(function () {
'use strict';
${BUTTON_CLIENT_JS}
var cfg = ${scriptJson(cfg)};
var script = document.currentScript;
if (!script) {
  var all = document.querySelectorAll('script[src*="/api/runners/' + cfg.runnerId + '/embed.js"]:not([data-fj-mounted])');
  script = all[all.length - 1];
}
if (!script) return;
script.setAttribute('data-fj-mounted', '');
cfg.api = new URL(script.src, document.baseURI).origin;
if (script.getAttribute('data-label')) cfg.label = script.getAttribute('data-label');
var host = document.createElement('span');
host.className = 'flapjack-button';
script.parentNode.insertBefore(host, script.nextSibling);
var root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
var style = document.createElement('style');
style.textContent = ${scriptJson(BUTTON_CSS)};
root.appendChild(style);
var raw = script.getAttribute('data-input');
if (raw !== null) {
  try { cfg.input = JSON.parse(raw); } catch (e) {
    var p = document.createElement('p');
    p.setAttribute('role', 'alert');
    p.textContent = 'Flapjack button: data-input is not valid JSON';
    root.appendChild(p);
    return;
  }
}
fjMountButton(root, cfg);
})();
`;
}

export function registerButtonRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  const limit = createStartLimiter();
  const noButton = { description: 'No such runner, or it has no enabled button trigger', schema: errorResponseSchema };

  reg.add(
    {
      method: 'get',
      path: '/api/runners/:id/button',
      summary: 'A page with a button that starts a run (public; only while the runner has an enabled button trigger)',
      tag: 'triggers',
      public: true,
      responses: { 200: { description: 'The HTML page', contentType: 'text/html', schema: z.string() }, 404: noButton },
    },
    async ({ params }) => {
      const b = await findButtonTrigger(deps, requireUuid(params.id, 'Button'));
      const nonce = randomBytes(16).toString('base64');
      return {
        status: 200,
        headers: {
          'Cache-Control': 'no-store',
          'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
        },
        raw: {
          contentType: 'text/html; charset=utf-8',
          payload: pageHtml(b, issueStartToken(deps, b.runnerId, 'page'), nonce),
        },
      };
    },
  );

  reg.add(
    {
      method: 'get',
      path: '/api/runners/:id/embed.js',
      summary:
        'A script that renders the button in any page: <script src=".../embed.js" data-input=\'{"a":1}\'></script> (public)',
      tag: 'triggers',
      public: true,
      responses: {
        200: { description: 'The script', contentType: 'text/javascript', schema: z.string() },
        404: noButton,
      },
    },
    async ({ params }) => {
      const b = await findButtonTrigger(deps, requireUuid(params.id, 'Button'));
      return {
        status: 200,
        headers: {
          'Cache-Control': 'no-store',
          'X-Content-Type-Options': 'nosniff',
          'Cross-Origin-Resource-Policy': 'cross-origin',
        },
        raw: {
          contentType: 'text/javascript; charset=utf-8',
          payload: embedJs(b, issueStartToken(deps, b.runnerId, 'embed')),
        },
      };
    },
  );

  reg.add(
    {
      method: 'post',
      path: '/api/runners/:id/button/runs',
      summary:
        'Start a run from a button page or embed (public): needs the start token of the page or script, a browser Origin ' +
        'the token is valid for, and stays under the rate limit',
      tag: 'triggers',
      public: true,
      body: startBodySchema,
      responses: {
        202: { description: 'The run, with the token that reads its status', schema: startResponseSchema },
        401: {
          description: 'Missing, forged or expired token, or an origin it is not valid for',
          schema: errorResponseSchema,
        },
        404: noButton,
      },
    },
    async ({ req, res, params, body }) => {
      const b = await findButtonTrigger(deps, requireUuid(params.id, 'Button'));
      const origin = req.get('origin');
      if (origin) allowCors(res, origin, b);
      const aud = verifyStartToken(deps, b.runnerId, body.token);
      if (!origin) throw new AppError('unauthorized', 'A button run must come from a browser page (no Origin header)');
      if (!originAllowed(b, aud, origin, ownOrigins(req, deps))) {
        throw new AppError('unauthorized', `This button may not be used from ${origin}`);
      }
      if (body.input !== undefined && JSON.stringify(body.input).length > MAX_INPUT_CHARS) {
        throw AppError.validation([
          { path: 'input', message: `must be at most ${MAX_INPUT_CHARS} characters of JSON` },
        ]);
      }
      limit(b, req.ip ?? 'unknown');
      return { status: 202, headers: { 'Cache-Control': 'no-store' }, body: await startButtonRun(deps, b, body.input) };
    },
  );

  reg.add(
    {
      method: 'get',
      path: '/api/runners/:id/button/runs/:runId',
      summary: "The status of a run started by a button (public, with that run's status token)",
      tag: 'triggers',
      public: true,
      query: statusQuerySchema,
      responses: { 200: { description: "The run's status", schema: statusResponseSchema }, 404: noButton },
    },
    async ({ req, res, params, query }) => {
      const runnerId = requireUuid(params.id, 'Run');
      const origin = req.get('origin');
      if (origin) {
        // The answer holds nothing but one status, and only for the token's holder: any origin may read it.
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Vary', 'Origin');
      }
      return {
        status: 200,
        headers: { 'Cache-Control': 'no-store' },
        body: await buttonRunStatus(deps, runnerId, requireUuid(params.runId, 'Run'), query.token),
      };
    },
  );
}
