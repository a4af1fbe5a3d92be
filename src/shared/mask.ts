/**
 * Masking: what the API shows instead of a secret. Pure; the one rule for every secret the API answers with
 * (env vars, headers, connection strings) and for URLs in log and start-up messages.
 */
export const MASK = '****';

/**
 * A masked secret: `****` followed by the last four characters when the value is long enough (16+)
 * that four characters say little about it, else `****` alone.
 */
export function maskSecret(value: string): string {
  return value.length >= 16 ? `${MASK}${value.slice(-4)}` : MASK;
}

/** Masks every value of a map (env vars, headers); keys stay visible. */
export function maskRecord(values: Record<string, string> | null | undefined): Record<string, string> | null {
  if (!values) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) out[k] = maskSecret(String(v));
  return out;
}

/** Query parameters of a connection string that are never secret and help to recognise it. */
const PLAIN_PARAMS = new Set(['sslmode', 'application_name', 'connect_timeout', 'target_session_attrs']);

/**
 * Masks a database URL: scheme, user, host, port, database and harmless parameters stay; the
 * password and every other parameter value become `****`. Anything that does not parse as a URL is
 * masked whole.
 */
export function maskConnectionString(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return MASK;
  }
  if (!url.host) return MASK;
  const user = url.username ? decodeURIComponent(url.username) : '';
  const auth = user ? `${encodeURIComponent(user)}${url.password ? `:${MASK}` : ''}@` : url.password ? `:${MASK}@` : '';
  const params: string[] = [];
  for (const [k, v] of url.searchParams) params.push(`${k}=${PLAIN_PARAMS.has(k.toLowerCase()) ? v : MASK}`);
  return `${url.protocol}//${auth}${url.host}${url.pathname}${params.length ? `?${params.join('&')}` : ''}`;
}
