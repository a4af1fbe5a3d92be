import { describe, expect, it } from '@jest/globals';
import { SandboxError, runJavaScript } from './js-sandbox';

async function failure(promise: Promise<unknown>): Promise<SandboxError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SandboxError);
    return err as SandboxError;
  }
  throw new Error('expected the sandbox to fail');
}

describe('runJavaScript', () => {
  it('runs the code as an async function body over the input and returns its output', async () => {
    await expect(runJavaScript({ code: 'return { n: input.a + 1 }', input: { a: 41 } })).resolves.toEqual({ n: 42 });
  });

  it('supports await and the plain JavaScript builtins', async () => {
    const code = `
      const v = await Promise.resolve(input.items.map((x) => x * 2));
      return { v, max: Math.max(...v), json: JSON.parse('[1]'), date: new Date(0).toISOString(), re: /a+/.test('caa') };
    `;
    await expect(runJavaScript({ code, input: { items: [1, 2, 3] } })).resolves.toEqual({
      v: [2, 4, 6],
      max: 6,
      json: [1],
      date: '1970-01-01T00:00:00.000Z',
      re: true,
    });
  });

  it('returns null when the code returns nothing', async () => {
    await expect(runJavaScript({ code: 'const x = 1;', input: null })).resolves.toBeNull();
  });

  it('passes the input as a copy', async () => {
    const input = { list: [1] };
    await runJavaScript({ code: 'input.list.push(2); return input', input });
    expect(input).toEqual({ list: [1] });
  });

  it('reports a syntax error as sandbox_error', async () => {
    const err = await failure(runJavaScript({ code: 'return {', input: {} }));
    expect(err.type).toBe('sandbox_error');
    expect(err.message).toMatch(/SyntaxError/);
  });

  it('does not let the code break out of its function body', async () => {
    const err = await failure(runJavaScript({ code: '}); (async function () {', input: {} }));
    expect(err.type).toBe('sandbox_error');
  });

  it('reports a thrown error with its message and no host stack', async () => {
    const err = await failure(
      runJavaScript({ code: 'throw new RangeError("bad input: " + input.x)', input: { x: 7 } }),
    );
    expect(err.type).toBe('sandbox_error');
    expect(err.message).toContain('RangeError: bad input: 7');
    expect(err.message).not.toMatch(/node_modules|js-sandbox/);
  });

  it('reports a thrown non-Error value', async () => {
    const err = await failure(runJavaScript({ code: 'throw { reason: "nope" }', input: {} }));
    expect(err.type).toBe('sandbox_error');
    expect(err.message).toContain('nope');
  });

  it('stops an infinite loop at the time limit', async () => {
    const started = Date.now();
    const err = await failure(runJavaScript({ code: 'while (true) {}', input: {}, timeoutMs: 200 }));
    expect(err.type).toBe('sandbox_timeout');
    expect(err.message).toContain('exceeded the time limit of 200 ms');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stops an infinite loop that starts after an await', async () => {
    const err = await failure(runJavaScript({ code: 'await null; for (;;) {}', input: {}, timeoutMs: 200 }));
    expect(err.type).toBe('sandbox_timeout');
  });

  it('fails a promise that never settles at the time limit instead of hanging', async () => {
    const started = Date.now();
    const err = await failure(runJavaScript({ code: 'await new Promise(() => {})', input: {}, timeoutMs: 200 }));
    expect(err.type).toBe('sandbox_timeout');
    expect(err.message).toContain('exceeded the time limit of 200 ms');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stops a memory bomb at the memory limit', async () => {
    const code = 'const hog = []; while (true) { hog.push(new Array(100000).fill("x" + hog.length)); }';
    const err = await failure(runJavaScript({ code, input: {}, memoryLimitMb: 16, timeoutMs: 20_000 }));
    expect(err.type).toBe('sandbox_memory_limit');
    expect(err.message).toContain('exceeded the memory limit of 16 MB');
  });

  it('still works after an isolate hit the memory limit', async () => {
    await failure(
      runJavaScript({ code: 'const a = []; for (;;) a.push(new Array(1e5).fill(1));', input: {}, memoryLimitMb: 8 }),
    );
    await expect(runJavaScript({ code: 'return 1 + 1', input: {} })).resolves.toBe(2);
  });

  it.each([
    ['require', 'return require("fs").readdirSync("/")'],
    ['process', 'return process.env'],
    ['fetch', 'return await fetch("http://169.254.169.254/")'],
    ['Function constructor escape', 'return globalThis.constructor.constructor("return process")().env'],
    ['async Function constructor escape', 'return (async () => {}).constructor("return process")().then((p) => p.env)'],
    ['setTimeout', 'await new Promise((r) => setTimeout(r, 1)); return 1'],
  ])('gives the code no access to the host: %s', async (_name, code) => {
    const err = await failure(runJavaScript({ code, input: {} }));
    expect(err.type).toBe('sandbox_error');
    expect(err.message).toMatch(/ReferenceError|TypeError/);
  });

  it('exposes no Node or host globals', async () => {
    const out = await runJavaScript({
      code: `return ['require', 'process', 'module', 'Buffer', 'fetch', 'setTimeout', 'setInterval', 'WebAssembly']
        .filter((name) => typeof globalThis[name] !== 'undefined')`,
      input: {},
    });
    expect(out).toEqual([]);
  });

  it('rejects output that is a function', async () => {
    const err = await failure(runJavaScript({ code: 'return () => 1', input: {} }));
    expect(err.type).toBe('sandbox_invalid_output');
  });

  it('rejects output holding a function or a symbol', async () => {
    const fn = await failure(runJavaScript({ code: 'return { f() {} }', input: {} }));
    expect(fn.type).toBe('sandbox_invalid_output');
    expect(fn.message).toContain('"f"');
    const sym = await failure(runJavaScript({ code: 'return [Symbol("s")]', input: {} }));
    expect(sym.type).toBe('sandbox_invalid_output');
  });

  it('rejects cyclic output', async () => {
    const err = await failure(runJavaScript({ code: 'const a = {}; a.self = a; return a', input: {} }));
    expect(err.type).toBe('sandbox_invalid_output');
    expect(err.message).toMatch(/circular/i);
  });

  it('rejects BigInt output', async () => {
    const err = await failure(runJavaScript({ code: 'return { n: 1n }', input: {} }));
    expect(err.type).toBe('sandbox_invalid_output');
  });

  it('is not fooled by user code replacing JSON.stringify', async () => {
    const out = await runJavaScript({ code: 'JSON.stringify = () => "{}"; return { ok: true }', input: {} });
    expect(out).toEqual({ ok: true });
  });

  it('gives each call a fresh global scope', async () => {
    await runJavaScript({ code: 'globalThis.leak = 42; return null', input: {} });
    await expect(runJavaScript({ code: 'return typeof globalThis.leak', input: {} })).resolves.toBe('undefined');
  });

  it('stops when the abort signal fires and rejects with its reason', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled by test');
    setTimeout(() => controller.abort(reason), 100);
    await expect(
      runJavaScript({ code: 'await new Promise(() => {})', input: {}, signal: controller.signal }),
    ).rejects.toBe(reason);
  });
});

describe('isolate reuse within one org (poolKey)', () => {
  it('gives every run a fresh context: globals set by one run are gone in the next', async () => {
    const key = `org-${Math.random()}`;
    const first = await runJavaScript({
      code: 'globalThis.leak = "secret"; Object.prototype.polluted = 1; Array.prototype.push = null; return typeof leak;',
      input: null,
      poolKey: key,
    });
    expect(first).toBe('string');
    const second = await runJavaScript({
      code: 'const a = []; a.push(1); return [typeof globalThis.leak, ({}).polluted === undefined, a.length];',
      input: null,
      poolKey: key,
    });
    expect(second).toEqual(['undefined', true, 1]);
  });

  it('keeps working after a run of the same org timed out or ran out of memory', async () => {
    const key = `org-${Math.random()}`;
    await expect(
      runJavaScript({ code: 'while (true) {}', input: null, timeoutMs: 100, poolKey: key }),
    ).rejects.toMatchObject({
      type: 'sandbox_timeout',
    });
    await expect(
      runJavaScript({
        code: 'const a = []; while (true) a.push(new Array(100000).fill(1));',
        input: null,
        memoryLimitMb: 16,
        poolKey: key,
      }),
    ).rejects.toMatchObject({ type: 'sandbox_memory_limit' });
    expect(await runJavaScript({ code: 'return input * 2', input: 21, memoryLimitMb: 16, poolKey: key })).toBe(42);
    expect(await runJavaScript({ code: 'return input * 3', input: 2, poolKey: key })).toBe(6);
  });

  it('still reports user errors and bad output from a pooled isolate', async () => {
    const key = `org-${Math.random()}`;
    await expect(runJavaScript({ code: 'throw new Error("boom")', input: null, poolKey: key })).rejects.toMatchObject({
      type: 'sandbox_error',
    });
    await expect(runJavaScript({ code: 'return () => 1', input: null, poolKey: key })).rejects.toMatchObject({
      type: 'sandbox_invalid_output',
    });
    expect(await runJavaScript({ code: 'return "ok"', input: null, poolKey: key })).toBe('ok');
  });
});
