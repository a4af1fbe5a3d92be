import { z } from 'zod';
import { AppError } from '../errors/app-error';
import { systemBatch } from '../db/scoped';
import type { ServiceDeps } from './deps';
import { createRun } from './runs';
import { createSecretBox, generateSecretKey, type SecretBox } from '../crypto/secret-box';
import { BUTTON_DEFAULT_RATE_LIMIT_PER_MINUTE, parseOrigin } from '../shared/trigger-schemas';

/**
 * Button triggers: a public page and an embeddable script that start a run of a runner that has an
 * enabled `button` trigger. No API key is ever involved; instead:
 *
 * - the page (or script) carries a signed, short-lived **start token** bound to the runner and to its
 *   audience (`page`: only usable from the API's own origin; `embed`: usable from the trigger's
 *   `allowedOrigins`, set through the trigger API; any origin when the list is absent, none when empty);
 * - the start POST checks the token, the `Origin` header against the audience, and a per-client rate
 *   limit;
 * - the answer carries a **status token** bound to that one run, which the public status poll
 *   requires; it reveals that run's status and nothing else.
 *
 * Tokens are sealed with the server's secret box (AES-256-GCM with a purpose-specific context, so they
 * cannot be forged or swapped between purposes). Without FLAPJACK_SECRET_KEY a per-process random key
 * is used: tokens then stop working after a restart (the page just needs a reload).
 */

export type ButtonAudience = 'page' | 'embed';

/** Start tokens live this long; a page left open longer asks its user to reload. */
export const BUTTON_TOKEN_TTL_MS = 2 * 60 * 60 * 1000;

/** The row's config as the trigger API writes it (src/services/triggers-button.ts); read leniently. */
const buttonConfigSchema = z.object({
  input: z.unknown().optional(),
  label: z.string().min(1).max(80).optional(),
  allowedOrigins: z.array(z.string()).nullish(),
  rateLimitPerMinute: z.number().int().min(1).max(10_000).optional(),
});

export interface ButtonTrigger {
  triggerId: string;
  orgId: string;
  runnerId: string;
  runnerName: string;
  label: string;
  input: unknown;
  /** Normalised origins (scheme://host[:port]); null: any origin may embed the button; []: none may. */
  allowedOrigins: string[] | null;
  rateLimitPerMinute: number;
}

function normaliseOrigin(o: string): string | null {
  const r = parseOrigin(o);
  return 'origin' in r ? r.origin : null;
}

/** The runner's enabled button trigger, or 404 (public routes: the runner id names the org, so across orgs). */
export async function findButtonTrigger(deps: ServiceDeps, runnerId: string): Promise<ButtonTrigger> {
  const [found] = await systemBatch<{ id: string; org_id: string; config: unknown; name: string }>(
    deps.db,
    'button lookup',
    (q) => [
      `SELECT t.id, t.org_id, t.config, r.name FROM runner_triggers t JOIN runners r ON r.id = t.runner_id
        WHERE t.runner_id = ${q.lit(runnerId)}::uuid AND t.kind = 'button' AND t.enabled AND r.deleted_at IS NULL
        ORDER BY t.created_at LIMIT 1`,
    ],
  );
  const row = found?.rows[0];
  if (!row) throw AppError.notFound('Button');
  const parsed = buttonConfigSchema.safeParse(row.config ?? {});
  const cfg = parsed.success ? parsed.data : {};
  // An explicit list stays a list even if empty (no embedding): a typo never widens it to "any origin".
  const origins = cfg.allowedOrigins?.map(normaliseOrigin).filter((o): o is string => o !== null) ?? null;
  return {
    triggerId: row.id,
    orgId: row.org_id,
    runnerId,
    runnerName: row.name,
    label: cfg.label ?? `Run ${row.name}`,
    input: cfg.input === undefined ? {} : cfg.input,
    allowedOrigins: origins,
    rateLimitPerMinute: cfg.rateLimitPerMinute ?? BUTTON_DEFAULT_RATE_LIMIT_PER_MINUTE,
  };
}

const fallbackBoxes = new WeakMap<object, SecretBox>();

function tokenBox(deps: ServiceDeps): SecretBox {
  if (deps.secrets) return deps.secrets;
  let box = fallbackBoxes.get(deps);
  if (!box) {
    box = createSecretBox(generateSecretKey());
    fallbackBoxes.set(deps, box);
  }
  return box;
}

const START_CONTEXT = 'button-start-token/v1';
const statusContext = (runId: string) => `button-status-token/v1:${runId}`;

export function issueStartToken(deps: ServiceDeps, runnerId: string, aud: ButtonAudience, now = Date.now()): string {
  return tokenBox(deps).encryptJson({ r: runnerId, a: aud, e: now + BUTTON_TOKEN_TTL_MS }, START_CONTEXT);
}

/** The audience of a valid start token for this runner; 401 otherwise (forged, expired, other runner). */
export function verifyStartToken(deps: ServiceDeps, runnerId: string, token: string, now = Date.now()): ButtonAudience {
  let claims: { r?: unknown; a?: unknown; e?: unknown };
  try {
    claims = tokenBox(deps).decryptJson(token, START_CONTEXT);
  } catch {
    throw new AppError('unauthorized', 'This button is not valid; reload the page');
  }
  if (claims.r !== runnerId || (claims.a !== 'page' && claims.a !== 'embed')) {
    throw new AppError('unauthorized', 'This button is not valid; reload the page');
  }
  if (typeof claims.e !== 'number' || claims.e < now) {
    throw new AppError('unauthorized', 'This button has expired; reload the page');
  }
  return claims.a;
}

export function issueStatusToken(deps: ServiceDeps, runId: string): string {
  return tokenBox(deps).encrypt(runId, statusContext(runId));
}

function verifyStatusToken(deps: ServiceDeps, runId: string, token: string): boolean {
  try {
    return tokenBox(deps).decrypt(token, statusContext(runId)) === runId;
  } catch {
    return false;
  }
}

/**
 * Whether a browser request from `origin` may use a token of this audience. A page token only works
 * on the API's own origin(s); an embed token on the allowed origins (any when none are configured).
 */
export function originAllowed(b: ButtonTrigger, aud: ButtonAudience, origin: string, ownOrigins: string[]): boolean {
  if (ownOrigins.includes(origin)) return true;
  if (aud === 'page') return false;
  return b.allowedOrigins === null || b.allowedOrigins.includes(origin);
}

/** Whether any embed may call from `origin` (for CORS answers). */
export function embedOriginAllowed(b: ButtonTrigger, origin: string): boolean {
  return b.allowedOrigins === null || b.allowedOrigins.includes(origin);
}

/** Starts a run for a button click (trigger kind `button`); the input is checked like any run's. */
export async function startButtonRun(deps: ServiceDeps, b: ButtonTrigger, input: unknown) {
  const { run } = await createRun(
    deps,
    b.orgId,
    b.runnerId,
    { input: input === undefined ? b.input : input },
    { kind: 'button', triggerId: b.triggerId },
  );
  return { runId: run.id, status: run.status, statusToken: issueStatusToken(deps, run.id) };
}

/** The status of one run started by a button, for whoever holds its status token. */
export async function buttonRunStatus(deps: ServiceDeps, runnerId: string, runId: string, token: string) {
  if (!verifyStatusToken(deps, runId, token)) throw AppError.notFound('Run');
  const [found] = await systemBatch<{ status: string }>(deps.db, 'button run status', (q) => [
    `SELECT status FROM runner_runs WHERE id = ${q.lit(runId)}::uuid AND runner_id = ${q.lit(runnerId)}::uuid`,
  ]);
  const row = found?.rows[0];
  if (!row) throw AppError.notFound('Run');
  return { runId, status: row.status };
}
