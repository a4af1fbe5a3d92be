import { describe, expect, it } from '@jest/globals';
import { signForTest, verifySignature, type SignatureSettings } from './triggers-signature';

const body = Buffer.from('{"action":"opened","number":7}');
const lower = (h: Record<string, string>) =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));

describe('webhook signature presets', () => {
  const cases: SignatureSettings[] = [
    { preset: 'github', secret: 'gh-secret-123456' },
    { preset: 'stripe', secret: 'whsec_stripe_test_secret' },
    {
      preset: 'standard_webhooks',
      secret: `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`,
    },
    { preset: 'hmac_sha256', secret: 'custom-secret-xyz', header: 'X-Signature', encoding: 'base64', prefix: 'v1=' },
  ];

  for (const s of cases) {
    it(`${s.preset}: accepts a correct signature over the raw body and refuses a tampered body or wrong secret`, () => {
      const headers = lower(signForTest(s, body));
      expect(verifySignature(s, body, headers)).toBeNull();
      expect(verifySignature(s, Buffer.from('{"action":"opened","number":8}'), headers)).toBe(
        'signature does not match',
      );
      const other =
        s.preset === 'standard_webhooks'
          ? `whsec_${Buffer.from('another-32-byte-key-for-testing!').toString('base64')}`
          : `${s.secret}x`;
      expect(verifySignature({ ...s, secret: other }, body, headers)).toBe('signature does not match');
      expect(verifySignature(s, body, {})).toMatch(/^missing /);
    });
  }

  it('github: the same JSON re-serialized (different bytes) does not verify', () => {
    const s: SignatureSettings = { preset: 'github', secret: 'gh-secret-123456' };
    const headers = lower(signForTest(s, body));
    const reformatted = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 2));
    expect(verifySignature(s, reformatted, headers)).toBe('signature does not match');
  });

  it('stripe: refuses a timestamp outside the tolerance, accepts any of several v1 signatures', () => {
    const s: SignatureSettings = { preset: 'stripe', secret: 'whsec_stripe_test_secret', toleranceSeconds: 300 };
    const now = Date.now();
    const old = lower(signForTest(s, body, { timestampSec: Math.floor(now / 1000) - 301 }));
    expect(verifySignature(s, body, old, now)).toBe('timestamp is outside the tolerance');
    const fresh = lower(signForTest(s, body, { timestampSec: Math.floor(now / 1000) - 10 }));
    const withExtra = { 'stripe-signature': `${fresh['stripe-signature']},v1=${'0'.repeat(64)}` };
    expect(verifySignature(s, body, withExtra, now)).toBeNull();
    const onlyBad = { 'stripe-signature': `t=${Math.floor(now / 1000)},v1=${'0'.repeat(64)}` };
    expect(verifySignature(s, body, onlyBad, now)).toBe('signature does not match');
  });

  it('standard webhooks: the id and timestamp are signed (changing either fails) and stale timestamps are refused', () => {
    const s: SignatureSettings = {
      preset: 'standard_webhooks',
      secret: `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`,
    };
    const h = lower(signForTest(s, body, { id: 'msg_1' }));
    expect(verifySignature(s, body, h)).toBeNull();
    expect(verifySignature(s, body, { ...h, 'webhook-id': 'msg_2' })).toBe('signature does not match');
    const stale = lower(signForTest(s, body, { id: 'msg_1', timestampSec: Math.floor(Date.now() / 1000) - 3600 }));
    expect(verifySignature(s, body, stale)).toBe('timestamp is outside the tolerance');
    // Several signatures (key rotation): any valid v1 one is enough.
    expect(verifySignature(s, body, { ...h, 'webhook-signature': `v1,AAAA ${h['webhook-signature']}` })).toBeNull();
  });
});
