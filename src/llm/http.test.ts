import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { postJsonWithRetry } from './http';
import { LlmError } from './types';

const once = { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 };
const base = (url: string) => ({ provider: 'test', url, headers: {}, body: { q: 1 }, timeoutMs: 5_000, retry: once });

describe('provider HTTP (keep-alive, node:http)', () => {
  let server: http.Server;
  let url = '';
  let connections = 0;
  let aborted = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/slow') {
          res.on('close', () => {
            if (!res.writableEnded) aborted++;
          });
          return; // never answers
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(Buffer.concat(chunks));
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('reuses one connection for calls one after the other', async () => {
    const before = connections;
    for (let i = 0; i < 3; i++) {
      const r = await postJsonWithRetry({ ...base(`${url}/echo`), body: { i } });
      expect(r.json).toEqual({ i });
    }
    expect(connections - before).toBe(1);
  });

  it('aborts an in-flight request: the caller gets "aborted" and the server sees the connection close', async () => {
    const ac = new AbortController();
    const p = postJsonWithRetry({ ...base(`${url}/slow`), signal: ac.signal });
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await expect(p).rejects.toMatchObject({ kind: 'aborted' });
    await new Promise((r) => setTimeout(r, 100));
    expect(aborted).toBe(1);
  });

  it('times out, retryably', async () => {
    const err = await postJsonWithRetry({ ...base(`${url}/slow`), timeoutMs: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({ kind: 'timeout', retryable: true });
  });

  it('maps a refused connection to a retryable network error naming the code', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await postJsonWithRetry(base(`http://127.0.0.1:${port}/x`)).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'network', retryable: true });
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });
});

describe('a reused connection the server resets before answering', () => {
  it('is sent once more on a new connection, without a retry wait', async () => {
    // A minimal HTTP/1.1 server: the first request on a connection is answered (keep-alive); a second one on
    // the same connection is reset, as a server closing an idle connection at that moment would.
    let seen = 0;
    const raw = net.createServer((sock) => {
      let n = 0;
      sock.on('data', (d) => {
        if (!d.toString('latin1').includes('\r\n\r\n')) return;
        seen++;
        if (++n === 1) {
          const body = '{"ok":true}';
          sock.write(
            `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
          );
        } else sock.resetAndDestroy();
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    const u = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/`;
    try {
      await postJsonWithRetry(base(u));
      const started = Date.now();
      const r = await postJsonWithRetry({
        ...base(u),
        retry: { maxAttempts: 1, baseDelayMs: 10_000, maxDelayMs: 10_000 },
      });
      expect(r.json).toEqual({ ok: true });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(seen).toBe(3);
    } finally {
      await new Promise<void>((r) => raw.close(() => r()));
    }
  });
});
