import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { maskConnectionString, maskRecord, maskSecret } from '../shared/mask';
import { createSecretBox, deriveSecretKey, generateSecretKey, SecretBoxError } from './secret-box';

describe('createSecretBox', () => {
  const box = createSecretBox(generateSecretKey());

  it('round-trips text and JSON', () => {
    const ct = box.encrypt('hunter2-very-secret');
    expect(box.decrypt(ct)).toBe('hunter2-very-secret');
    const j = box.encryptJson({ TOKEN: 'abc', n: 1 });
    expect(box.decryptJson(j)).toEqual({ TOKEN: 'abc', n: 1 });
    expect(box.decrypt(box.encrypt(''))).toBe('');
    expect(box.decrypt(box.encrypt('ünïcødé ✓'))).toBe('ünïcødé ✓');
  });

  it('writes versioned text v1:<iv>:<tag>:<data> that does not contain the plaintext', () => {
    const ct = box.encrypt('plain-secret-value');
    const parts = ct.split(':');
    expect(parts).toHaveLength(4);
    expect(parts[0]).toBe('v1');
    expect(Buffer.from(parts[1] as string, 'base64url')).toHaveLength(12);
    expect(Buffer.from(parts[2] as string, 'base64url')).toHaveLength(16);
    expect(ct).not.toContain('plain-secret-value');
    expect(ct).not.toContain(Buffer.from('plain-secret-value').toString('base64url'));
  });

  it('uses a fresh IV every time', () => {
    expect(box.encrypt('same')).not.toBe(box.encrypt('same'));
  });

  it('detects tampering', () => {
    const ct = box.encrypt('value');
    const [v, iv, tag, data] = ct.split(':') as [string, string, string, string];
    const flipped = Buffer.from(data, 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() => box.decrypt([v, iv, tag, flipped.toString('base64url')].join(':'))).toThrow(SecretBoxError);
  });

  it('binds a ciphertext to its context', () => {
    const ct = box.encrypt('db-password', 'org-a/integrations.connection');
    expect(box.decrypt(ct, 'org-a/integrations.connection')).toBe('db-password');
    expect(() => box.decrypt(ct, 'org-b/integrations.connection')).toThrow(/another/);
    expect(() => box.decrypt(ct)).toThrow(SecretBoxError);
  });

  it('refuses another key, unknown versions and garbage, without echoing the input', () => {
    const other = createSecretBox(generateSecretKey());
    expect(() => other.decrypt(box.encrypt('x'))).toThrow(SecretBoxError);
    expect(() => box.decrypt('v9:a:b:c')).toThrow(/Unsupported secret version v9/);
    let thrown: unknown;
    try {
      box.decrypt('not-encrypted-secret-text');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(SecretBoxError);
    expect((thrown as Error).message).not.toContain('not-encrypted-secret-text');
    expect(() => box.decrypt('v1:AAAA:BBBB:CCCC')).toThrow(/Malformed/);
  });

  it('accepts base64, base64url, raw 32 bytes and passphrases; same material gives the same key', () => {
    const raw = randomBytes(32);
    const a = createSecretBox(raw.toString('base64'));
    const b = createSecretBox(raw.toString('base64url'));
    const c = createSecretBox(raw);
    const ct = a.encrypt('shared');
    expect(b.decrypt(ct)).toBe('shared');
    expect(c.decrypt(ct)).toBe('shared');
    expect(a.keyId).toBe(b.keyId);
    const p1 = createSecretBox('correct horse battery staple');
    const p2 = createSecretBox('correct horse battery staple');
    expect(p2.decrypt(p1.encrypt('via passphrase'))).toBe('via passphrase');
    expect(p1.keyId).not.toBe(a.keyId);
    expect(deriveSecretKey('correct horse battery staple')).toHaveLength(32);
  });

  it('refuses short passphrases and wrong-sized raw keys', () => {
    expect(() => createSecretBox('short')).toThrow(/too short/);
    expect(() => createSecretBox(randomBytes(16))).toThrow(/32 bytes/);
    // base64 of 16 bytes is not a key: it is treated as a passphrase (24 chars, long enough).
    expect(() => createSecretBox(randomBytes(16).toString('base64'))).not.toThrow();
  });
});

describe('masking', () => {
  it('masks a secret, showing the last four characters only of long values', () => {
    expect(maskSecret('abc')).toBe('****');
    expect(maskSecret('sk-123456789012')).toBe('****');
    expect(maskSecret('sk-1234567890123456')).toBe('****3456');
    expect(maskSecret('')).toBe('****');
  });

  it('masks every value of a record and keeps the keys', () => {
    expect(maskRecord({ Authorization: 'Bearer abcdefghijklmnop', X: 'y' })).toEqual({
      Authorization: '****mnop',
      X: '****',
    });
    expect(maskRecord(null)).toBeNull();
  });

  it('masks the password and unknown parameters of a connection string', () => {
    expect(maskConnectionString('postgres://app:s3cr3t@db.example.com:5432/shop?sslmode=require&password=p2')).toBe(
      'postgres://app:****@db.example.com:5432/shop?sslmode=require&password=****',
    );
    expect(maskConnectionString('postgresql://db.internal/x')).toBe('postgresql://db.internal/x');
    expect(maskConnectionString('postgresql://:onlypass@h/x')).toBe('postgresql://:****@h/x');
    expect(maskConnectionString('host=x password=secret')).toBe('****');
  });
});
