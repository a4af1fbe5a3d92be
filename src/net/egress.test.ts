import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isPrivateAddress, parseAllowlist } from './address-rules';
import { createEgressGuard } from './egress';
import { agentsFor, HttpError, postJson } from './http-client';

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '169.254.0.1',
    '0.0.0.0',
    '0.1.2.3',
    '100.64.0.1',
    '100.127.255.254',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '192.0.2.10',
    '198.18.0.1',
    '::1',
    '::',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '::ffff:10.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::1',
    '2001:db8::1',
    '[::1]',
    'not-an-ip',
    // Shorthand and hex IPv4 forms some parsers accept for 127.0.0.1 are not addresses here (fail closed).
    '127.1',
    '0x7f.0.0.1',
    '2130706433',
  ])('treats %s as private', (ip) => {
    expect(isPrivateAddress(ip)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '169.253.0.1',
    '192.169.0.1',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('treats %s as public', (ip) => {
    expect(isPrivateAddress(ip)).toBe(false);
  });
});

describe('parseAllowlist', () => {
  it('parses hosts, IPs and CIDRs (IPv4 and IPv6), trimming and skipping empty entries', () => {
    const list = parseAllowlist(' localhost , 127.0.0.1,,10.0.0.0/8, fd00::/8 ,::1, [fe80::1], *.internal.example , ');
    expect(list.map((e) => e.kind)).toEqual(['host', 'ip', 'cidr', 'cidr', 'ip', 'ip', 'host']);
    expect(list[0]).toMatchObject({ kind: 'host', host: 'localhost', includeSubdomains: false });
    expect(list[6]).toMatchObject({ kind: 'host', host: 'internal.example', includeSubdomains: true });
  });

  it('returns an empty list for an unset or blank value', () => {
    expect(parseAllowlist(undefined)).toEqual([]);
    expect(parseAllowlist('  , ')).toEqual([]);
  });

  it.each([
    'http://localhost',
    'localhost:8080',
    '10.0.0.0/33',
    'fd00::/129',
    '10.0.0.0/x',
    'bad host',
    '-x.com',
    '1.2.3.4/8/9',
  ])('rejects %s with an error naming the entry', (entry) => {
    expect(() => parseAllowlist(`example.com, ${entry}`)).toThrow(entry);
  });
});

describe('createEgressGuard().check', () => {
  it('allows public addresses and refuses private ones by default', () => {
    const guard = createEgressGuard([]);
    expect(guard.check('example.com', '93.184.216.34')).toBe(true);
    expect(guard.check('example.com', '10.0.0.5')).toBe(false);
    expect(guard.check('metadata.internal', '169.254.169.254')).toBe(false);
    expect(guard.check('x', '::ffff:127.0.0.1')).toBe(false);
  });

  it('allows a private address when the host name is allowlisted (case and trailing dot ignored)', () => {
    const guard = createEgressGuard(parseAllowlist('Hooks.Internal,*.svc.cluster.local'));
    expect(guard.check('hooks.internal.', '10.0.0.5')).toBe(true);
    expect(guard.check('api.ns.svc.cluster.local', '10.0.0.6')).toBe(true);
    expect(guard.check('other.internal', '10.0.0.5')).toBe(false);
  });

  it('allows a private address covered by an allowlisted IP or CIDR, including IPv4-mapped forms', () => {
    const guard = createEgressGuard(parseAllowlist('127.0.0.1,10.20.0.0/16,fd00::/8'));
    expect(guard.check('anything', '127.0.0.1')).toBe(true);
    expect(guard.check('anything', '::ffff:127.0.0.1')).toBe(true);
    expect(guard.check('anything', '127.0.0.2')).toBe(false);
    expect(guard.check('anything', '10.20.3.4')).toBe(true);
    expect(guard.check('anything', '10.21.3.4')).toBe(false);
    expect(guard.check('anything', 'fd12::1')).toBe(true);
    expect(guard.check('anything', 'fe80::1')).toBe(false);
  });
});

describe('allowlisted IPv4-mapped IPv6 CIDRs', () => {
  it('stand for the IPv4 CIDR they carry', () => {
    const guard = createEgressGuard(parseAllowlist('::ffff:192.168.0.0/112'));
    expect(guard.check('anything', '192.168.7.7')).toBe(true);
    expect(guard.check('anything', '::ffff:192.168.7.7')).toBe(true);
    expect(guard.check('anything', '192.169.7.7')).toBe(true); // public anyway
    expect(guard.check('anything', '10.0.0.1')).toBe(false);
  });
});

describe('createEgressGuard().lookup', () => {
  const lookupOnce = (guard: ReturnType<typeof createEgressGuard>, host: string, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) => {
      guard.lookup(host, { all }, (err, address) => resolve({ err, address }));
    });

  it('refuses a host name that resolves to loopback, naming the host and the address', async () => {
    const { err } = await lookupOnce(createEgressGuard([]), 'localhost', true);
    expect(err?.code).toBe('EGRESS_REFUSED');
    expect(err?.message).toContain('"localhost"');
    expect(err?.message).toMatch(/127\.0\.0\.1|::1/);
  });

  it('resolves an allowlisted host name, honouring the all option', async () => {
    const guard = createEgressGuard(parseAllowlist('localhost'));
    const all = await lookupOnce(guard, 'localhost', true);
    expect(all.err).toBeNull();
    expect(Array.isArray(all.address)).toBe(true);
    const one = await lookupOnce(guard, 'localhost', false);
    expect(one.err).toBeNull();
    expect(typeof one.address).toBe('string');
  });

  it('resolves a name whose addresses are all allowlisted by IP', async () => {
    const guard = createEgressGuard(parseAllowlist('127.0.0.1,::1'));
    const { err } = await lookupOnce(guard, 'localhost', true);
    expect(err).toBeNull();
  });
});

describe('postJson', () => {
  let server: http.Server;
  let base: string;
  const seen: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const guard = createEgressGuard(parseAllowlist('127.0.0.1'));

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        switch (req.url) {
          case '/echo':
            res.writeHead(200, { 'content-type': 'application/json', 'x-reply': 'yes' });
            res.end(JSON.stringify({ got: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }));
            return;
          case '/big':
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end('x'.repeat(10_000));
            return;
          case '/big-chunked':
            res.writeHead(200, { 'content-type': 'text/plain' });
            for (let i = 0; i < 10; i++) res.write('y'.repeat(1000));
            res.end();
            return;
          case '/slow':
            setTimeout(() => res.end('{}'), 5_000).unref();
            return;
          case '/redirect':
            res.writeHead(302, { location: 'http://169.254.169.254/' });
            res.end();
            return;
          default:
            res.writeHead(404);
            res.end('missing');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const expectHttpError = async (promise: Promise<unknown>, kind: HttpError['kind']): Promise<HttpError> => {
    const err: unknown = await promise.then(
      () => {
        throw new Error('expected postJson to fail');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).kind).toBe(kind);
    return err as HttpError;
  };

  it('posts JSON to an allowlisted local server and returns status, headers and body', async () => {
    const res = await postJson({
      url: `${base}/echo`,
      body: { a: 1 },
      headers: { 'X-Custom': 'v1', 'content-type': 'text/plain' },
      timeoutMs: 2_000,
      maxResponseBytes: 1024,
      guard,
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-reply']).toBe('yes');
    expect(JSON.parse(res.bodyText)).toEqual({ got: { a: 1 } });
    const last = seen.at(-1);
    expect(last?.headers['content-type']).toBe('application/json');
    expect(last?.headers['x-custom']).toBe('v1');
  });

  it('returns a redirect as is, without following it', async () => {
    const res = await postJson({ url: `${base}/redirect`, body: {}, timeoutMs: 2_000, maxResponseBytes: 1024, guard });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('http://169.254.169.254/');
  });

  it('fails with too_large when the declared body exceeds the cap', async () => {
    const err = await expectHttpError(
      postJson({ url: `${base}/big`, body: {}, timeoutMs: 2_000, maxResponseBytes: 1_000, guard }),
      'too_large',
    );
    expect(err.message).toContain('1000 bytes');
  });

  it('fails with too_large when a chunked body grows past the cap', async () => {
    await expectHttpError(
      postJson({ url: `${base}/big-chunked`, body: {}, timeoutMs: 2_000, maxResponseBytes: 2_500, guard }),
      'too_large',
    );
  });

  it('fails with timeout when the server does not answer in time', async () => {
    const started = Date.now();
    const err = await expectHttpError(
      postJson({ url: `${base}/slow`, body: {}, timeoutMs: 200, maxResponseBytes: 1024, guard }),
      'timeout',
    );
    expect(err.message).toContain('200 ms');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('fails with aborted when the signal fires mid-request', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expectHttpError(
      postJson({
        url: `${base}/slow`,
        body: {},
        timeoutMs: 5_000,
        maxResponseBytes: 1024,
        guard,
        signal: controller.signal,
      }),
      'aborted',
    );
  });

  it('fails with aborted at once for an already aborted signal', async () => {
    await expectHttpError(
      postJson({
        url: `${base}/echo`,
        body: {},
        timeoutMs: 1_000,
        maxResponseBytes: 1024,
        guard,
        signal: AbortSignal.abort(),
      }),
      'aborted',
    );
  });

  it('refuses the literal metadata address 169.254.169.254 without connecting', async () => {
    const err = await expectHttpError(
      postJson({
        url: 'http://169.254.169.254/latest/meta-data/',
        body: {},
        timeoutMs: 1_000,
        maxResponseBytes: 1024,
        guard: createEgressGuard([]),
      }),
      'egress_refused',
    );
    expect(err.message).toContain('169.254.169.254');
  });

  it('refuses literal loopback in its other spellings', async () => {
    for (const url of ['http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://2130706433/', 'http://0x7f.1/']) {
      await expectHttpError(
        postJson({ url, body: {}, timeoutMs: 1_000, maxResponseBytes: 1024, guard: createEgressGuard([]) }),
        'egress_refused',
      );
    }
  });

  it('refuses a host name that resolves to loopback unless it is allowlisted', async () => {
    const port = (server.address() as AddressInfo).port;
    const err = await expectHttpError(
      postJson({
        url: `http://localhost:${port}/echo`,
        body: {},
        timeoutMs: 2_000,
        maxResponseBytes: 1024,
        guard: createEgressGuard([]),
      }),
      'egress_refused',
    );
    expect(err.message).toContain('localhost');
    const res = await postJson({
      url: `http://localhost:${port}/echo`,
      body: { b: 2 },
      timeoutMs: 2_000,
      maxResponseBytes: 1024,
      guard: createEgressGuard(parseAllowlist('localhost')),
    });
    expect(res.status).toBe(200);
  });

  it('rejects schemes other than http and https', async () => {
    await expectHttpError(
      postJson({ url: 'file:///etc/passwd', body: {}, timeoutMs: 1_000, maxResponseBytes: 1024, guard }),
      'invalid_url',
    );
    await expectHttpError(
      postJson({ url: 'not a url', body: {}, timeoutMs: 1_000, maxResponseBytes: 1024, guard }),
      'invalid_url',
    );
  });

  it('fails with network when nothing listens', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expectHttpError(
      postJson({ url: `http://127.0.0.1:${port}/`, body: {}, timeoutMs: 2_000, maxResponseBytes: 1024, guard }),
      'network',
    );
  });

  it('does not put header values in the error for an invalid header', async () => {
    const err = await expectHttpError(
      postJson({
        url: `${base}/echo`,
        body: {},
        headers: { Authorization: 'Bearer secret-token\r\nX-Injected: 1' },
        timeoutMs: 1_000,
        maxResponseBytes: 1024,
        guard,
      }),
      'invalid_request',
    );
    expect(err.message).not.toContain('secret-token');
  });
});

describe('postJson keep-alive pools', () => {
  let server: http.Server;
  let port: number;
  /** The client port of the connection each request arrived on. */
  const arrivals: number[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        arrivals.push(req.socket.remotePort ?? -1);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const post = (guard: ReturnType<typeof createEgressGuard>, host = '127.0.0.1') =>
    postJson({ url: `http://${host}:${port}/`, body: {}, timeoutMs: 2_000, maxResponseBytes: 1024, guard });

  it('reuses a connection for the next request through the same guard', async () => {
    const guard = createEgressGuard(parseAllowlist('127.0.0.1'));
    arrivals.length = 0;
    await post(guard);
    await post(guard);
    await post(guard);
    expect(arrivals).toHaveLength(3);
    expect(new Set(arrivals).size).toBe(1);
  });

  it('never hands a socket pooled under one guard to a request made through another', async () => {
    const a = createEgressGuard(parseAllowlist('127.0.0.1'));
    const b = createEgressGuard(parseAllowlist('127.0.0.1'));
    arrivals.length = 0;
    await post(a);
    await post(b);
    await post(a);
    await post(b);
    const [a1, b1, a2, b2] = arrivals;
    expect(a1).not.toBe(b1);
    expect(a2).toBe(a1);
    expect(b2).toBe(b1);
    expect(agentsFor(a)).not.toBe(agentsFor(b));
  });

  it('refuses a host that a guard does not allow even while another guard holds a pooled socket to it', async () => {
    const allowing = createEgressGuard(parseAllowlist('localhost'));
    await post(allowing, 'localhost');
    const pooled = Object.values(agentsFor(allowing).http.freeSockets).flat();
    expect(pooled.length).toBeGreaterThan(0);
    const err: unknown = await post(createEgressGuard([]), 'localhost').then(
      () => new Error('expected a refusal'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).kind).toBe('egress_refused');
  });

  it('sends a request again on a new connection when the server resets the reused one', async () => {
    // A server that answers the first request of a connection with keep-alive and resets the connection
    // when a second request arrives on it: a server closing an idle connection just as it is reused.
    let connections = 0;
    const raw = net.createServer((socket) => {
      connections++;
      let requests = 0;
      let buffered = '';
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('latin1');
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length:\s*(\d+)/i.exec(buffered)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = '';
        requests++;
        if (requests > 1) {
          socket.resetAndDestroy();
          return;
        }
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const rawPort = (raw.address() as AddressInfo).port;
    try {
      const guard = createEgressGuard(parseAllowlist('127.0.0.1'));
      const once = () =>
        postJson({ url: `http://127.0.0.1:${rawPort}/`, body: {}, timeoutMs: 2_000, maxResponseBytes: 64, guard });
      expect((await once()).status).toBe(200);
      expect((await once()).status).toBe(200);
      // The second request was written to the first connection, reset there, and sent on a second one.
      expect(connections).toBe(2);
    } finally {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });
});
