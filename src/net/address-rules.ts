/**
 * Which addresses outbound requests made for users may reach: the non-global ranges refused by default and the
 * operator's allowlist (`FLAPJACK_EGRESS_ALLOWLIST`). Pure address logic; parsing and range matching are
 * `ipaddr.js`'s, after Node's strict `net.isIP` has accepted the text (ipaddr.js alone would also accept
 * shorthand forms such as `127.1` or `0x7f.0.0.1`).
 */
import net from 'node:net';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export function stripZone(ip: string): string {
  const pct = ip.indexOf('%');
  return pct >= 0 ? ip.slice(0, pct) : ip;
}

/** The address in `text` (IPv4 dotted quad or IPv6, brackets and zone id allowed), or null. */
function parseAddress(text: string): Address | null {
  const ip = stripZone(stripBrackets(text.trim()));
  return net.isIP(ip) === 0 ? null : ipaddr.parse(ip);
}

/** IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is judged as the IPv4 address it carries. */
function canonical(a: Address): Address {
  return a instanceof ipaddr.IPv6 && a.isIPv4MappedAddress() ? a.toIPv4Address() : a;
}

function inCidr(a: Address, [network, bits]: Cidr): boolean {
  if (a instanceof ipaddr.IPv4 && network instanceof ipaddr.IPv4) return a.match(network, bits);
  if (a instanceof ipaddr.IPv6 && network instanceof ipaddr.IPv6) return a.match(network, bits);
  return false;
}

const cidrs = (list: readonly string[]): readonly Cidr[] => list.map((c) => ipaddr.parseCIDR(c));

/** IPv4 ranges that are not globally reachable unicast (IANA special-purpose registry). */
const NON_GLOBAL_V4 = cidrs([
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
]);

/** Global unicast IPv6 is 2000::/3; inside it these are still not global. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const NON_GLOBAL_V6_IN_2000 = cidrs([
  '2001::/23', // IETF protocol assignments (Teredo, ORCHID, benchmarking, ...)
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation
]);
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');

/** For IPv6 forms that carry an IPv4 address (NAT64, 6to4), that IPv4 address; else null. */
function embeddedIpv4(a: ipaddr.IPv6): ipaddr.IPv4 | null {
  const bytes = a.toByteArray();
  if (inCidr(a, NAT64)) return new ipaddr.IPv4(bytes.slice(12, 16));
  if (inCidr(a, SIX_TO_FOUR)) return new ipaddr.IPv4(bytes.slice(2, 6));
  return null;
}

const isNonGlobalV4 = (a: ipaddr.IPv4): boolean => NON_GLOBAL_V4.some((r) => inCidr(a, r));

/**
 * True when `ip` is not a globally reachable unicast address: loopback, private, link-local, unspecified, CGNAT,
 * multicast, reserved, documentation, ... IPv6 forms that embed an IPv4 address (`::ffff:a.b.c.d`, NAT64
 * `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that IPv4 address. A string that is not an IP address is
 * treated as private (fail closed).
 */
export function isPrivateAddress(ip: string): boolean {
  const parsed = parseAddress(ip);
  if (!parsed) return true;
  const a = canonical(parsed);
  if (a instanceof ipaddr.IPv4) return isNonGlobalV4(a);
  const v4 = embeddedIpv4(a);
  if (v4) return isNonGlobalV4(v4);
  if (!inCidr(a, GLOBAL_UNICAST_V6)) return true;
  return NON_GLOBAL_V6_IN_2000.some((r) => inCidr(a, r));
}

// ---------------------------------------------------------------------------------------------------------------
// Allowlist
// ---------------------------------------------------------------------------------------------------------------

export type AllowEntry =
  | { kind: 'host'; host: string; includeSubdomains: boolean }
  | { kind: 'cidr'; text: string; network: Address; prefix: number }
  | { kind: 'ip'; text: string; network: Address; prefix: number };

const HOST_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

export function normalizeHost(host: string): string {
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
    const parsed = parseAddress(addr);
    if (!parsed) throw bad('the part before "/" is not an IP address');
    const max = parsed.kind() === 'ipv4' ? 32 : 128;
    if (!/^\d{1,3}$/.test(len) || Number(len) > max) throw bad(`the prefix length must be 0-${max}`);
    let prefix = Number(len);
    let network = parsed;
    // An IPv4-mapped IPv6 CIDR (::ffff:10.0.0.0/104) stands for the IPv4 CIDR it carries.
    if (network instanceof ipaddr.IPv6 && network.isIPv4MappedAddress() && prefix >= 96) {
      network = network.toIPv4Address();
      prefix -= 96;
    }
    return { kind: 'cidr', text: entry, network, prefix };
  }
  const parsed = parseAddress(entry);
  if (parsed) {
    const network = canonical(parsed);
    return { kind: 'ip', text: entry, network, prefix: network.kind() === 'ipv4' ? 32 : 128 };
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

export function hostAllowed(allowlist: readonly AllowEntry[], hostname: string): boolean {
  const h = normalizeHost(hostname);
  return allowlist.some(
    (e) => e.kind === 'host' && (e.host === h || (e.includeSubdomains && h.endsWith(`.${e.host}`))),
  );
}

export function ipAllowed(allowlist: readonly AllowEntry[], ip: string): boolean {
  const parsed = parseAddress(ip);
  if (!parsed) return false;
  const a = canonical(parsed);
  return allowlist.some((e) => e.kind !== 'host' && inCidr(a, [e.network, e.prefix]));
}

/** True when `text` is a literal IP address (brackets and zone id allowed). */
export function isIpLiteral(text: string): boolean {
  return parseAddress(text) !== null;
}
