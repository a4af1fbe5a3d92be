import { AppError } from '../errors/app-error';
import { openSecretMap, requireSecretBox, sealSecretMap, type SecretBox } from './secret-box';

/**
 * A webhook step's custom headers (usually tokens) are stored encrypted: `runner_steps.webhook_headers`
 * holds the ciphertext (a JSON string), and runs copy that ciphertext into their snapshot, to be
 * opened only by the activity that makes the request.
 */
export const WEBHOOK_HEADERS_COLUMN = 'runner_steps.webhook_headers';

export function sealWebhookHeaders(
  box: SecretBox | undefined,
  orgId: string,
  headers: Record<string, string> | null | undefined,
): string | null {
  if (!headers || Object.keys(headers).length === 0) return null;
  return sealSecretMap(requireSecretBox(box), orgId, WEBHOOK_HEADERS_COLUMN, headers);
}

/** The headers from their stored form (ciphertext; a plain object from before encryption is read as is). */
export function openWebhookHeaders(
  box: SecretBox | undefined,
  orgId: string,
  stored: unknown,
): Record<string, string> | null {
  if (stored === null || stored === undefined) return null;
  if (typeof stored === 'string') return openSecretMap(requireSecretBox(box), orgId, WEBHOOK_HEADERS_COLUMN, stored);
  if (typeof stored === 'object') return stored as Record<string, string>;
  throw new AppError('internal', 'Stored webhook headers have an unexpected form');
}
