/**
 * Egress control for outbound HTTP made on behalf of users (webhook steps, custom tools, MCP over HTTP):
 * protection against server-side request forgery.
 *
 * - Every address a host name resolves to is checked; a private, loopback, link-local or otherwise non-global
 *   address is refused unless the host name or the address is on the allowlist (`FLAPJACK_EGRESS_ALLOWLIST`).
 * - The check lives in the `lookup` hook of the socket, so the socket connects to exactly the address that was
 *   checked: no DNS-rebinding window between "check" and "connect".
 * - Node skips `lookup` for literal IP hosts, so `postJson` checks those itself before connecting.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { LookupFunction } from 'node:net';

// ---------------------------------------------------------------------------------------------------------------
// IP parsing and ranges
// ---------------------------------------------------------------------------------------------------------------

interface ParsedIp {
  family: 4 | 6;
  bytes: Uint8Array;
}

function parseIpv4(ip: string): Uint8Array | null {
  if (net.isIPv4(ip) === false) return null;
  const parts = ip.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const n = Number(parts[i]);
    if (!Number.isInteger(n) || n < 0 || n > 255) return null;
    bytes[i] = n;
  }
  return bytes;
}

function parseIpv6(input: string): Uint8Array | null {
  const ip = stripZone(input);
  if (!net.isIPv6(ip)) return null;
  let head = ip;
  let tailV4: Uint8Array | null = null;
  const lastColon = ip.lastIndexOf(':');
  if (ip.slice(lastColon + 1).includes('.')) {
    tailV4 = parseIpv4(ip.slice(lastColon + 1));
    if (!tailV4) return null;
    // Keep the colon(s) in front of the dotted part so "::1.2.3.4" still has its "::".
    head = ip.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const groupsNeeded = tailV4 ? 6 : 8;
  const parseGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  const dbl = head.indexOf('::');
  if (dbl >= 0) {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right) return null;
    const fill = groupsNeeded - left.length - right.length;
    if (fill < 0) return null;
    groups = [...left, ...new Array<number>(fill).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (!all) return null;
    groups = all;
  }
  if (groups.length !== groupsNeeded) return null;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  if (tailV4) bytes.set(tailV4, 12);
  return bytes;
}

function stripZone(ip: string): string {
  const pct = ip.indexOf('%');
  return pct >= 0 ? ip.slice(0, pct) : ip;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function parseIp(ip: string): ParsedIp | null {
  const v4 = parseIpv4(ip);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIpv6(ip);
  if (v6) return { family: 6, bytes: v6 };
  return null;
}

function inPrefix(bytes: Uint8Array, network: Uint8Array, prefix: number): boolean {
  if (bytes.length !== network.length) return false;
  let bits = prefix;
  for (let i = 0; i < bytes.length && bits > 0; i++) {
    const take = Math.min(8, bits);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((network[i] ?? 0) & mask)) return false;
    bits -= take;
  }
  return true;
}

interface Range {
  network: Uint8Array;
  prefix: number;
}

function range(cidr: string): Range {
  const [addr, len] = cidr.split('/');
  const parsed = parseIp(addr ?? '');
  if (!parsed) throw new Error(`bad built-in range ${cidr}`);
  return { network: parsed.bytes, prefix: Number(len) };
}

/** IPv4 ranges that are not globally reachable unicast (IANA special-purpose registry). */
const NON_GLOBAL_V4: readonly Range[] = [
  '0.0.0.0/8', // "this network", includes 0.0.0.0
  '10.0.0.0/8', // private
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, includes cloud metadata 169.254.169.254
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // TEST-NET-1
  '192.88.99.0/24', // 6to4 relay anycast (deprecated)
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // TEST-NET-2
  '203.0.113.0/24', // TEST-NET-3
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, includes broadcast 255.255.255.255
].map(range);

/** Global unicast IPv6 is 2000::/3; inside it these are still not global. */
const GLOBAL_UNICAST_V6 = range('2000::/3');
const NON_GLOBAL_V6_IN_2000: readonly Range[] = [
  '2001::/23', // IETF protocol assignments (Teredo, ORCHID, benchmarking, ...)
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation
].map(range);
const IPV4_MAPPED = range('::ffff:0:0/96');
const NAT64 = range('64:ff9b::/96');
const SIX_TO_FOUR = range('2002::/16');

function isNonGlobalV4(bytes: Uint8Array): boolean {
  return NON_GLOBAL_V4.some((r) => inPrefix(bytes, r.network, r.prefix));
}

/** For IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4), the embedded IPv4 address; else null. */
function embeddedIpv4(bytes: Uint8Array): Uint8Array | null {
  if (inPrefix(bytes, IPV4_MAPPED.network, IPV4_MAPPED.prefix)) return bytes.slice(12, 16);
  if (inPrefix(bytes, NAT64.network, NAT64.prefix)) return bytes.slice(12, 16);
  if (inPrefix(bytes, SIX_TO_FOUR.network, SIX_TO_FOUR.prefix)) return bytes.slice(2, 6);
  return null;
}

/** Reduce an address to the form it is judged as: IPv4-mapped (and NAT64/6to4) IPv6 become their IPv4. */
function canonical(ip: ParsedIp): ParsedIp {
  if (ip.family === 6 && inPrefix(ip.bytes, IPV4_MAPPED.network, IPV4_MAPPED.prefix)) {
    return { family: 4, bytes: ip.bytes.slice(12, 16) };
  }
  return ip;
}

/**
 * True when `ip` is not a globally reachable unicast address: loopback, private, link-local, unspecified, CGNAT,
 * multicast, reserved, documentation, ... IPv6 forms that embed an IPv4 address (`::ffff:a.b.c.d`, NAT64
 * `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that IPv4 address. A string that is not an IP address is
 * treated as private (fail closed).
 */
export function isPrivateAddress(ip: string): boolean {
  const parsed = parseIp(stripBrackets(ip.trim()));
  if (!parsed) return true;
  if (parsed.family === 4) return isNonGlobalV4(parsed.bytes);
  const v4 = embeddedIpv4(parsed.bytes);
  if (v4) return isNonGlobalV4(v4);
  if (!inPrefix(parsed.bytes, GLOBAL_UNICAST_V6.network, GLOBAL_UNICAST_V6.prefix)) return true;
  return NON_GLOBAL_V6_IN_2000.some((r) => inPrefix(parsed.bytes, r.network, r.prefix));
}

// ---------------------------------------------------------------------------------------------------------------
// Allowlist
// ---------------------------------------------------------------------------------------------------------------

export type AllowEntry =
  | { kind: 'host'; host: string; includeSubdomains: boolean }
  | { kind: 'ip'; ip: string; family: 4 | 6; bytes: Uint8Array }
  | { kind: 'cidr'; cidr: string; family: 4 | 6; network: Uint8Array; prefix: number };

const HOST_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

function normalizeHost(host: string): string {
  let h = stripBrackets(host.trim().toLowerCase());
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/**
 * Parse `FLAPJACK_EGRESS_ALLOWLIST`: comma-separated host names (optionally `*.example.com` for subdomains),
 * IP addresses and CIDRs, IPv4 or IPv6. Entries are trimmed and empty ones ignored; a bad entry throws.
 */
export function parseAllowlist(raw: string | undefined): AllowEntry[] {
  if (!raw) return [];
  const out: AllowEntry[] = [];
  for (const piece of raw.split(',')) {
    const entry = piece.trim();
    if (entry === '') continue;
    out.push(parseAllowEntry(entry));
  }
  return out;
}

function parseAllowEntry(entry: string): AllowEntry {
  const bad = (why: string): Error => new Error(`Invalid FLAPJACK_EGRESS_ALLOWLIST entry "${entry}": ${why}`);
  if (entry.includes('/')) {
    const [addr = '', len = '', ...rest] = entry.split('/');
    if (rest.length > 0) throw bad('expected a CIDR like 10.0.0.0/8 or fd00::/8');
    const parsed = parseIp(stripBrackets(addr));
    if (!parsed) throw bad('the part before "/" is not an IP address');
    const max = parsed.family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(len) || Number(len) > max) throw bad(`the prefix length must be 0-${max}`);
    const c = canonicalCidr(parsed, Number(len));
    return { kind: 'cidr', cidr: entry, family: c.ip.family, network: c.ip.bytes, prefix: c.prefix };
  }
  const ipText = stripBrackets(entry);
  const parsed = parseIp(ipText);
  if (parsed) {
    const c = canonical(parsed);
    return { kind: 'ip', ip: ipText, family: c.family, bytes: c.bytes };
  }
  let host = normalizeHost(entry);
  let includeSubdomains = false;
  if (host.startsWith('*.')) {
    includeSubdomains = true;
    host = host.slice(2);
  }
  if (host.length === 0 || host.length > 253) throw bad('not a host name, IP address or CIDR');
  if (!host.split('.').every((label) => HOST_LABEL.test(label))) {
    throw bad('not a host name, IP address or CIDR (no scheme, port or path allowed)');
  }
  return { kind: 'host', host, includeSubdomains };
}

/** An IPv4-mapped IPv6 CIDR (::ffff:10.0.0.0/104) is stored as the IPv4 CIDR it stands for. */
function canonicalCidr(ip: ParsedIp, prefix: number): { ip: ParsedIp; prefix: number } {
  if (ip.family === 6 && prefix >= 96 && inPrefix(ip.bytes, IPV4_MAPPED.network, IPV4_MAPPED.prefix)) {
    return { ip: { family: 4, bytes: ip.bytes.slice(12, 16) }, prefix: prefix - 96 };
  }
  return { ip, prefix };
}

function hostAllowed(allowlist: readonly AllowEntry[], hostname: string): boolean {
  const h = normalizeHost(hostname);
  return allowlist.some(
    (e) => e.kind === 'host' && (e.host === h || (e.includeSubdomains && h.endsWith(`.${e.host}`))),
  );
}

function ipAllowed(allowlist: readonly AllowEntry[], ip: string): boolean {
  const parsed = parseIp(stripBrackets(ip));
  if (!parsed) return false;
  const c = canonical(parsed);
  return allowlist.some((e) => {
    if (e.kind === 'ip') return e.family === c.family && inPrefix(c.bytes, e.bytes, e.family === 4 ? 32 : 128);
    if (e.kind === 'cidr') return e.family === c.family && inPrefix(c.bytes, e.network, e.prefix);
    return false;
  });
}

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
    if (net.isIP(stripZone(h)) !== 0 && !check(h, h)) throw new EgressRefusedError(h, h);
  };

  return { check, lookup, assertLiteralHost };
}

// ---------------------------------------------------------------------------------------------------------------
// postJson
// ---------------------------------------------------------------------------------------------------------------

export type HttpErrorKind =
  'invalid_url' | 'invalid_request' | 'egress_refused' | 'timeout' | 'aborted' | 'too_large' | 'network';

/** Every failure of `postJson`; `kind` tells the caller what happened. Messages never include header values. */
export class HttpError extends Error {
  readonly kind: HttpErrorKind;

  constructor(kind: HttpErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HttpError';
    this.kind = kind;
  }
}

export interface PostJsonOptions {
  url: string;
  /** Default `POST`. A GET/HEAD/DELETE with `body` undefined sends no body at all. */
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body: unknown;
  headers?: Record<string, string>;
  timeoutMs: number;
  maxResponseBytes: number;
  signal?: AbortSignal;
  guard: EgressGuard;
}

export interface PostJsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bodyText: string;
}

/** Headers the caller may not set: they are computed here. */
const RESERVED_HEADERS = new Set(['host', 'content-type', 'content-length', 'transfer-encoding', 'connection']);

/**
 * POST `body` as JSON (or another method, see `method`). No redirects are followed (a 3xx is returned as is), the response body is capped at
 * `maxResponseBytes`, and `timeoutMs` bounds the whole exchange (connect, send, receive).
 */
export function postJson(opts: PostJsonOptions): Promise<PostJsonResponse> {
  return new Promise<PostJsonResponse>((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch (err) {
      reject(new HttpError('invalid_url', 'The URL is not a valid absolute URL', { cause: err }));
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      reject(new HttpError('invalid_url', `Unsupported URL scheme "${url.protocol}": only http and https are allowed`));
      return;
    }
    const host = url.hostname;
    try {
      opts.guard.assertLiteralHost(host);
    } catch (err) {
      reject(new HttpError('egress_refused', err instanceof Error ? err.message : String(err), { cause: err }));
      return;
    }
    if (opts.signal?.aborted) {
      reject(new HttpError('aborted', `The request to ${host} was aborted`, { cause: opts.signal.reason }));
      return;
    }

    const method = opts.method ?? 'POST';
    const bodiless = opts.body === undefined && (method === 'GET' || method === 'HEAD' || method === 'DELETE');
    const payload = bodiless ? null : Buffer.from(JSON.stringify(opts.body ?? null) ?? 'null', 'utf8');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(opts.headers ?? {})) {
      if (!RESERVED_HEADERS.has(name.toLowerCase())) headers[name] = value;
    }
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }

    let settled = false;
    let req: http.ClientRequest | undefined;
    const cleanup = (): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: HttpError): void => {
      if (settled) return;
      settled = true;
      cleanup();
      req?.destroy();
      reject(err);
    };
    const onAbort = (): void =>
      fail(new HttpError('aborted', `The request to ${host} was aborted`, { cause: opts.signal?.reason }));
    const timer = setTimeout(
      () => fail(new HttpError('timeout', `The request to ${host} timed out after ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const tooLarge = (): HttpError =>
      new HttpError('too_large', `The response from ${host} exceeded the limit of ${opts.maxResponseBytes} bytes`);

    try {
      const requestFn = url.protocol === 'https:' ? https.request : http.request;
      req = requestFn(url, {
        method,
        headers,
        lookup: opts.guard.lookup,
        // A fresh connection per request: a pooled socket could have been opened under another guard.
        agent: false,
      });
    } catch (err) {
      // Invalid header names/values throw synchronously; Node's message names the header, not its value.
      fail(
        new HttpError('invalid_request', err instanceof Error ? err.message : 'The request could not be built', {
          cause: err,
        }),
      );
      return;
    }

    req.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      if (err instanceof EgressRefusedError || err.code === 'EGRESS_REFUSED') {
        fail(new HttpError('egress_refused', err.message, { cause: err }));
      } else {
        fail(new HttpError('network', `The request to ${host} failed: ${err.code ?? err.message}`, { cause: err }));
      }
    });

    req.on('response', (res) => {
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxResponseBytes) {
        fail(tooLarge());
        res.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > opts.maxResponseBytes) {
          fail(tooLarge());
          res.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err: NodeJS.ErrnoException) => {
        fail(
          new HttpError('network', `Reading the response from ${host} failed: ${err.code ?? err.message}`, {
            cause: err,
          }),
        );
      });
      res.on('aborted', () => {
        fail(new HttpError('network', `The connection to ${host} closed before the response was complete`));
      });
      res.on('end', () => {
        if (settled) return;
        if (!res.complete) {
          fail(new HttpError('network', `The connection to ${host} closed before the response was complete`));
          return;
        }
        settled = true;
        cleanup();
        resolve({
          status: res.statusCode ?? 0,
          headers: { ...res.headers },
          bodyText: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });

    if (payload) req.end(payload);
    else req.end();
  });
}
