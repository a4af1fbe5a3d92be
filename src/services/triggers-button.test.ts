import { describe, expect, it } from '@jest/globals';
import { AppError } from '../errors/app-error';
import { parseOrigin, triggerCreateSchema, triggerUpdateSchema } from '../shared/trigger-schemas';
import { applyButtonFields, serializeButtonConfig } from './triggers-button';

describe('button trigger settings', () => {
  it('accepts origins as browsers send them and normalises them', () => {
    expect(parseOrigin('https://Shop.Example:443/')).toEqual({ origin: 'https://shop.example' });
    expect(parseOrigin('http://localhost:8080')).toEqual({ origin: 'http://localhost:8080' });
    expect(parseOrigin('http://[::1]:3000')).toEqual({ origin: 'http://[::1]:3000' });
  });

  it.each([
    ['https://shop.example/checkout', 'without a path'],
    ['https://shop.example?x=1', 'without a path, query or fragment'],
    ['https://shop.example#top', 'without a path, query or fragment'],
    ['ftp://files.example', 'http:// or https://'],
    ['https://user:pw@shop.example', 'credentials'],
    ['https://*.example', 'wildcards'],
    ['shop.example', 'is not an origin'],
    ['null', 'is not an origin'],
  ])('refuses %s', (v, why) => {
    const r = parseOrigin(v);
    expect('problem' in r && r.problem).toContain(why);
  });

  it('names the bad entry and field in the create schema', () => {
    const r = triggerCreateSchema.safeParse({
      kind: 'button',
      allowedOrigins: ['https://a.example', 'https://b.example/x'],
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['allowedOrigins.1']);
    expect(triggerCreateSchema.safeParse({ kind: 'button', rateLimitPerMinute: 10_001 }).success).toBe(false);
    expect(triggerUpdateSchema.safeParse({ allowedOrigins: null, label: null }).success).toBe(true);
  });

  it('applies a body: undefined keeps, null resets, origins deduplicated after normalising', () => {
    const a = applyButtonFields(
      {},
      { label: 'Go', allowedOrigins: ['https://A.example', 'https://a.example/'], input: { x: 1 } },
    );
    expect(a).toEqual({ label: 'Go', allowedOrigins: ['https://a.example'], input: { x: 1 } });
    const b = applyButtonFields(a, { rateLimitPerMinute: 3 });
    expect(b).toEqual({ ...a, rateLimitPerMinute: 3 });
    const c = applyButtonFields(b, { label: null, allowedOrigins: null });
    expect(c).toEqual({ input: { x: 1 }, rateLimitPerMinute: 3 });
    expect(serializeButtonConfig(c)).toEqual({
      input: { x: 1 },
      label: null,
      allowedOrigins: null,
      rateLimitPerMinute: 3,
    });
    expect(serializeButtonConfig({ allowedOrigins: [] })).toMatchObject({
      allowedOrigins: [],
      rateLimitPerMinute: 10,
      input: {},
    });
  });

  it('refuses a webhook-sized rate limit for a button (the PATCH field is shared)', () => {
    let caught: unknown;
    try {
      applyButtonFields({}, { rateLimitPerMinute: 50_000 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).details).toEqual([expect.objectContaining({ path: 'rateLimitPerMinute' })]);
    expect(applyButtonFields({}, { rateLimitPerMinute: 10_000 })).toEqual({ rateLimitPerMinute: 10_000 });
  });
});
