import { AppError } from '../../src/errors/app-error';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id that is not a UUID cannot name anything: 404, like any unknown id. */
export function requireUuid(value: string | undefined, what: string): string {
  if (!value || !UUID_RE.test(value)) throw AppError.notFound(what);
  return value.toLowerCase();
}
