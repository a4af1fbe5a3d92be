import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { canonicalJson, itemKey, runsBulkCommand } from './runs-bulk';

describe('idempotency keys of the bulk CLI', () => {
  it('hashes content independently of key order and whitespace', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: null }] })).toBe('{"a":[{"c":null,"d":2}],"b":1}');
    const a = itemKey(JSON.parse('{"x": 1, "y": "z"}'), undefined);
    const b = itemKey(JSON.parse('{"y":"z","x":1}'), undefined);
    expect(a).toEqual(b);
    expect('key' in a && a.key).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(itemKey({ x: 2 }, undefined)).not.toEqual(a);
  });

  it('takes the key from a field, and refuses an item without one', () => {
    expect(itemKey({ id: 'row-1', n: 1 }, 'id')).toEqual({ key: 'row-1' });
    expect(itemKey({ id: 42 }, 'id')).toEqual({ key: '42' });
    expect(itemKey({ n: 1 }, 'id')).toEqual({ error: 'has no value in the key field "id"' });
    expect(itemKey('scalar', 'id')).toHaveProperty('error');
    expect(itemKey({ id: 'x'.repeat(256) }, 'id')).toHaveProperty('error');
  });
});

describe('runs bulk arguments', () => {
  const io = () => {
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    return {
      io: { env: { FLAPJACK_API_KEY: 'k' }, stdin: new PassThrough(), stdout: new PassThrough(), stderr },
      err: () => err,
    };
  };
  it('exits 2 with a reason on usage errors, before touching the network', async () => {
    for (const [args, why] of [
      [['--file', 'x.jsonl'], /--runner <id> is required/],
      [['--runner', 'r'], /--file <path\|-> is required/],
      [['--runner', 'r', '--file', 'x', '--chunk-size', '0'], /--chunk-size/],
      [['--runner', 'r', '--file', 'x', '--format', 'xml'], /--format/],
      [['--runner', 'r', '--file', 'x', '--bogus'], /unknown option --bogus/],
    ] as const) {
      const t = io();
      expect(await runsBulkCommand([...args], { ...t.io, fetch: () => Promise.reject(new Error('no network')) })).toBe(
        2,
      );
      expect(t.err()).toMatch(why);
    }
  });
});
