import { AppError } from '../errors/app-error';
import {
  BUTTON_DEFAULT_RATE_LIMIT_PER_MINUTE,
  BUTTON_MAX_RATE_LIMIT_PER_MINUTE,
  parseOrigin,
} from '../shared/trigger-schemas';

/**
 * The settings of a `button` trigger, as its row's `config` keeps them and src/services/button.ts reads
 * them. Set through the trigger API (create and PATCH); a setting left out is the default.
 */
export interface ButtonConfig {
  /** The run input when a click sends none. */
  input?: unknown;
  /** The button's text; default "Run <runner name>". */
  label?: string;
  /** Normalised origins whose pages may embed the button; absent: any origin, []: none. */
  allowedOrigins?: string[];
  /** Starts per minute per client (ten times that per runner). */
  rateLimitPerMinute?: number;
}

/** The button fields of a create or PATCH body (already checked by the wire schema). */
export interface ButtonFields {
  input?: unknown;
  label?: string | null;
  allowedOrigins?: string[] | null;
  rateLimitPerMinute?: number;
}

/** Each origin in its normalised form, once; the list keeps the caller's order. */
function normaliseOrigins(list: string[]): string[] {
  const out: string[] = [];
  list.forEach((o, i) => {
    const r = parseOrigin(o);
    if ('problem' in r) throw AppError.validation([{ path: `allowedOrigins.${i}`, message: r.problem }]);
    if (!out.includes(r.origin)) out.push(r.origin);
  });
  return out;
}

/** Applies a create or PATCH body to a button's config: `undefined` keeps a setting, `null` resets it. */
export function applyButtonFields(prev: ButtonConfig, f: ButtonFields): ButtonConfig {
  const next: ButtonConfig = { ...prev };
  if (f.input !== undefined) next.input = f.input;
  if (f.label === null) delete next.label;
  else if (f.label !== undefined) next.label = f.label;
  if (f.allowedOrigins === null) delete next.allowedOrigins;
  else if (f.allowedOrigins !== undefined) next.allowedOrigins = normaliseOrigins(f.allowedOrigins);
  if (f.rateLimitPerMinute !== undefined) {
    // The PATCH schema shares this field with webhooks (a wider range): the button's own bound is here.
    if (f.rateLimitPerMinute > BUTTON_MAX_RATE_LIMIT_PER_MINUTE) {
      throw AppError.validation([
        {
          path: 'rateLimitPerMinute',
          message: `must be at most ${BUTTON_MAX_RATE_LIMIT_PER_MINUTE} for a button trigger`,
        },
      ]);
    }
    next.rateLimitPerMinute = f.rateLimitPerMinute;
  }
  return next;
}

/** The API shape of a button's settings, defaults filled in so a reader sees what applies. */
export function serializeButtonConfig(c: ButtonConfig) {
  return {
    input: c.input ?? {},
    label: c.label ?? null,
    allowedOrigins: c.allowedOrigins ?? null,
    rateLimitPerMinute: c.rateLimitPerMinute ?? BUTTON_DEFAULT_RATE_LIMIT_PER_MINUTE,
  };
}
