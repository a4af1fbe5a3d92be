import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignaturePreset } from '../shared/trigger-schemas';

/**
 * Inbound webhook signatures: HMAC-SHA256 over the raw request body, with the presets of GitHub
 * (`X-Hub-Signature-256: sha256=<hex>`), Stripe (`Stripe-Signature: t=<ts>,v1=<hex>` over `<ts>.<body>`,
 * timestamp tolerance) and Standard Webhooks (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64>` over `<id>.<ts>.<body>` with the base64 key after `whsec_`), plus a
 * configurable generic HMAC-SHA256 header. Comparisons are constant-time. Pure (no I/O).
 */

export interface SignatureSettings {
  preset: SignaturePreset;
  secret: string;
  toleranceSeconds?: number;
  header?: string;
  encoding?: 'hex' | 'base64';
  prefix?: string;
}

export type Headers = Record<string, string | string[] | undefined>;

export const DEFAULT_TOLERANCE_SECONDS = 300;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

const hmac = (key: string | Buffer, data: Buffer | string) => createHmac('sha256', key).update(data).digest();

function equal(expected: Buffer, given: Buffer): boolean {
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function decode(value: string, encoding: 'hex' | 'base64'): Buffer | null {
  if (encoding === 'hex')
    return /^[0-9a-fA-F]+$/.test(value) && value.length % 2 === 0 ? Buffer.from(value, 'hex') : null;
  return /^[A-Za-z0-9+/=_-]+$/.test(value) ? Buffer.from(value, 'base64') : null;
}

/** Why a delivery's signature is refused, or null when it is valid. Messages never include secrets. */
export function verifySignature(
  s: SignatureSettings,
  rawBody: Buffer,
  headers: Headers,
  nowMs: number = Date.now(),
): string | null {
  const tolerance = s.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const tooOld = (ts: number) => !Number.isFinite(ts) || Math.abs(nowMs / 1000 - ts) > tolerance;

  switch (s.preset) {
    case 'github': {
      const v = header(headers, 'x-hub-signature-256');
      if (!v) return 'missing X-Hub-Signature-256 header';
      if (!v.startsWith('sha256=')) return 'X-Hub-Signature-256 must start with "sha256="';
      const given = decode(v.slice(7), 'hex');
      return given && equal(hmac(s.secret, rawBody), given) ? null : 'signature does not match';
    }
    case 'stripe': {
      const v = header(headers, 'stripe-signature');
      if (!v) return 'missing Stripe-Signature header';
      let t: string | undefined;
      const sigs: string[] = [];
      for (const part of v.split(',')) {
        const [k, val] = part.split('=', 2).map((x) => x.trim());
        if (k === 't') t = val;
        else if (k === 'v1' && val) sigs.push(val);
      }
      if (!t || !/^\d+$/.test(t)) return 'Stripe-Signature has no timestamp';
      if (sigs.length === 0) return 'Stripe-Signature has no v1 signature';
      if (tooOld(Number(t))) return 'timestamp is outside the tolerance';
      const expected = hmac(s.secret, Buffer.concat([Buffer.from(`${t}.`), rawBody]));
      return sigs.some((sig) => {
        const given = decode(sig, 'hex');
        return given !== null && equal(expected, given);
      })
        ? null
        : 'signature does not match';
    }
    case 'standard_webhooks': {
      const id = header(headers, 'webhook-id');
      const ts = header(headers, 'webhook-timestamp');
      const sig = header(headers, 'webhook-signature');
      if (!id || !ts || !sig) return 'missing webhook-id, webhook-timestamp or webhook-signature header';
      if (!/^\d+$/.test(ts) || tooOld(Number(ts))) return 'timestamp is outside the tolerance';
      const key = s.secret.startsWith('whsec_')
        ? Buffer.from(s.secret.slice(6), 'base64')
        : Buffer.from(s.secret, 'utf8');
      const expected = hmac(key, Buffer.concat([Buffer.from(`${id}.${ts}.`), rawBody]));
      const ok = sig
        .split(' ')
        .filter(Boolean)
        .some((entry) => {
          const [version, value] = entry.split(',', 2);
          if (version !== 'v1' || !value) return false;
          const given = decode(value, 'base64');
          return given !== null && equal(expected, given);
        });
      return ok ? null : 'signature does not match';
    }
    case 'hmac_sha256': {
      const name = s.header ?? 'x-signature';
      let v = header(headers, name);
      if (!v) return `missing ${name} header`;
      if (s.prefix) {
        if (!v.startsWith(s.prefix)) return `${name} must start with "${s.prefix}"`;
        v = v.slice(s.prefix.length);
      }
      const given = decode(v.trim(), s.encoding ?? 'hex');
      return given && equal(hmac(s.secret, rawBody), given) ? null : 'signature does not match';
    }
  }
}

/** Signs like the sender would (tests, docs, and the SDK's examples). */
export function signForTest(
  s: SignatureSettings,
  rawBody: Buffer | string,
  opts: { id?: string; timestampSec?: number } = {},
): Record<string, string> {
  const body = Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody);
  const ts = opts.timestampSec ?? Math.floor(Date.now() / 1000);
  switch (s.preset) {
    case 'github':
      return { 'X-Hub-Signature-256': `sha256=${hmac(s.secret, body).toString('hex')}` };
    case 'stripe':
      return {
        'Stripe-Signature': `t=${ts},v1=${hmac(s.secret, Buffer.concat([Buffer.from(`${ts}.`), body])).toString('hex')}`,
      };
    case 'standard_webhooks': {
      const id = opts.id ?? `msg_${ts}`;
      const key = s.secret.startsWith('whsec_')
        ? Buffer.from(s.secret.slice(6), 'base64')
        : Buffer.from(s.secret, 'utf8');
      const sig = hmac(key, Buffer.concat([Buffer.from(`${id}.${ts}.`), body])).toString('base64');
      return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${sig}` };
    }
    case 'hmac_sha256': {
      const digest = hmac(s.secret, body).toString(s.encoding ?? 'hex');
      return { [s.header ?? 'x-signature']: `${s.prefix ?? ''}${digest}` };
    }
  }
}
