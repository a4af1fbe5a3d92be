/**
 * Egress control for outbound HTTP made on behalf of users (webhook steps, custom tools, MCP over HTTP):
 * protection against server-side request forgery. Which addresses are allowed is `address-rules.ts`; the
 * client that sends requests through this guard is `http-client.ts`.
 *
 * - Every address a host name resolves to is checked; a private, loopback, link-local or otherwise non-global
 *   address is refused unless the host name or the address is on the allowlist (`FLAPJACK_EGRESS_ALLOWLIST`).
 * - The check lives in the `lookup` hook of the socket, so the socket connects to exactly the address that was
 *   checked: no DNS-rebinding window between "check" and "connect".
 * - Node skips `lookup` for literal IP hosts, so callers check those with `assertLiteralHost` before connecting.
 */
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import { hostAllowed, ipAllowed, isIpLiteral, isPrivateAddress, stripBrackets, type AllowEntry } from './address-rules';

// ---------------------------------------------------------------------------------------------------------------
// Guard
// ---------------------------------------------------------------------------------------------------------------

/** Raised (as the `lookup` error, or by `postJson` for literal IPs) when a target is not allowed. */
export class EgressRefusedError extends Error {
  readonly code = 'EGRESS_REFUSED';
  readonly hostname: string;
  readonly address: string;

  constructor(hostname: string, address: string, options?: { cause?: unknown }) {
    const target = hostname === address ? `address ${address}` : `host "${hostname}" (resolved to ${address})`;
    super(
      `Egress to ${target} refused: ${address} is a private, loopback, link-local or otherwise non-public address. ` +
        'Add the host or address to FLAPJACK_EGRESS_ALLOWLIST to allow it.',
      options,
    );
    this.name = 'EgressRefusedError';
    this.hostname = hostname;
    this.address = address;
  }
}

export interface EgressGuard {
  /** True when connecting to `ip` (which `hostname` resolved to) is allowed. */
  check(hostname: string, ip: string): boolean;
  /** Drop-in for the `lookup` option of `http.request`/`https.request`/`net.connect`. */
  lookup: LookupFunction;
  /** Throws `EgressRefusedError` when `hostname` is a literal IP that is not allowed; no-op for names. */
  assertLiteralHost(hostname: string): void;
}

export function createEgressGuard(allowlist: readonly AllowEntry[]): EgressGuard {
  const entries = [...allowlist];

  const check = (hostname: string, ip: string): boolean =>
    !isPrivateAddress(ip) || hostAllowed(entries, hostname) || ipAllowed(entries, ip);

  const lookup: LookupFunction = (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    const lookupOptions: dns.LookupAllOptions = { all: true, family };
    if (options.hints !== undefined) lookupOptions.hints = options.hints;
    if (options.verbatim !== undefined) lookupOptions.verbatim = options.verbatim;
    dns.lookup(hostname, lookupOptions, (err, addresses) => {
      if (err) {
        callback(err, '', 0);
        return;
      }
      const refused = addresses.find((a) => !check(hostname, a.address));
      if (refused) {
        callback(new EgressRefusedError(hostname, refused.address), '', 0);
        return;
      }
      const first = addresses[0];
      if (!first) {
        const e: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        e.code = 'ENOTFOUND';
        callback(e, '', 0);
        return;
      }
      if (options.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };

  const assertLiteralHost = (hostname: string): void => {
    const h = stripBrackets(hostname);
    if (isIpLiteral(h) && !check(h, h)) throw new EgressRefusedError(h, h);
  };

  return { check, lookup, assertLiteralHost };
}
