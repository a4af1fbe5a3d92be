import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startHttpTestServer, TEST_EVENTS, type HttpTestServer } from '../../test/fixtures/mcp-test-server';
import { parseAllowlist } from '../net/address-rules';
import { createEgressGuard } from '../net/egress';
import { connectMcp, McpClientError, type McpConnection } from './client';

const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'mcp-test-server.ts');
const loopbackGuard = createEgressGuard(parseAllowlist('127.0.0.1'));

async function expectClientError(p: Promise<unknown>, kind: McpClientError['kind']): Promise<McpClientError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(McpClientError);
    expect((e as McpClientError).kind).toBe(kind);
    return e as McpClientError;
  }
  throw new Error(`expected a McpClientError of kind ${kind}`);
}

/** The behaviour every transport must show against the test server. */
function sharedBehaviour(connect: () => Promise<McpConnection>) {
  let conn: McpConnection;
  beforeAll(async () => {
    conn = await connect();
  });
  afterAll(async () => {
    await conn?.close();
  });

  it('introduces the server', () => {
    expect(conn.serverInfo).toEqual({ name: 'flapjack-test-server', version: '1.0.0' });
  });

  it('lists tools with their input schemas', async () => {
    const tools = await conn.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'add',
      'echo',
      'fail',
      'get_env',
      'list_events',
      'slow',
      'whoami',
    ]);
    const add = tools.find((t) => t.name === 'add');
    expect(add?.description).toBe('Adds two numbers');
    expect(add?.inputSchema).toMatchObject({
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
    });
  });

  it('calls tools and returns text and structured content', async () => {
    const echo = await conn.callTool('echo', { text: 'hello pancakes' });
    expect(echo).toMatchObject({
      isError: false,
      text: 'hello pancakes',
      structuredContent: { text: 'hello pancakes' },
    });
    const sum = await conn.callTool('add', { a: 2, b: 40 });
    expect(sum.text).toBe('42');
    expect(sum.structuredContent).toEqual({ sum: 42 });
  });

  it('reports tool failures as isError results', async () => {
    const r = await conn.callTool('fail', { message: 'nope' });
    expect(r.isError).toBe(true);
    expect(r.text).toBe('nope');
  });

  it('reports bad arguments as a tool error', async () => {
    const r = await conn.callTool('add', { a: 'two' });
    expect(r.isError).toBe(true);
  });

  it('times out a slow call and stays usable', async () => {
    const started = Date.now();
    const err = await expectClientError(conn.callTool('slow', { ms: 5_000 }, { timeoutMs: 300 }), 'timeout');
    expect(err.message).toMatch(/timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await conn.callTool('slow', { ms: 10 }, { timeoutMs: 5_000 })).text).toBe('done after 10 ms');
  });

  it('pages through events with a cursor (poll triggers)', async () => {
    const first = await conn.callTool('list_events', { limit: 10 });
    const page1 = first.structuredContent as { items: { id: string }[]; nextCursor: string };
    expect(page1.items.map((e) => e.id)).toEqual(TEST_EVENTS.slice(0, 10).map((e) => e.id));
    const second = await conn.callTool('list_events', { after: page1.nextCursor, limit: 100 });
    const page2 = second.structuredContent as { items: { id: string }[]; nextCursor: string };
    expect(page2.items).toHaveLength(15);
    const empty = await conn.callTool('list_events', { after: page2.nextCursor });
    expect(empty.structuredContent).toEqual({ items: [], nextCursor: page2.nextCursor });
  });
}

describe('connectMcp over stdio', () => {
  sharedBehaviour(() =>
    connectMcp(
      { transport: 'stdio', command: TSX, args: [FIXTURE, '--stdio'], env: { FJ_TEST_SECRET: 'from-env-123' } },
      { timeoutMs: 20_000 },
    ),
  );

  it('passes env to the process', async () => {
    const conn = await connectMcp(
      { transport: 'stdio', command: TSX, args: [FIXTURE, '--stdio'], env: { FJ_TEST_SECRET: 'from-env-123' } },
      { timeoutMs: 20_000 },
    );
    try {
      expect((await conn.callTool('get_env', { name: 'FJ_TEST_SECRET' })).text).toBe('from-env-123');
    } finally {
      await conn.close();
    }
  });

  it('fails clearly when the command does not exist', async () => {
    const err = await expectClientError(
      connectMcp({ transport: 'stdio', command: '/nonexistent/mcp-server-binary' }, { timeoutMs: 5_000 }),
      'connect',
    );
    expect(err.message).toContain('/nonexistent/mcp-server-binary');
  });

  it('times out a server that never answers the handshake', async () => {
    await expectClientError(
      connectMcp(
        { transport: 'stdio', command: process.execPath, args: ['-e', 'setTimeout(() => {}, 30000)'] },
        { timeoutMs: 500 },
      ),
      'timeout',
    );
  });

  it('refuses an empty command', async () => {
    await expectClientError(connectMcp({ transport: 'stdio', command: '' }), 'invalid_config');
  });
});

describe('connectMcp over Streamable HTTP', () => {
  const token = 'test-token-abcdefghijklmnop';
  let server: HttpTestServer;
  beforeAll(async () => {
    server = await startHttpTestServer({ token });
  });
  afterAll(async () => {
    await server?.close();
  });

  sharedBehaviour(() =>
    connectMcp(
      { transport: 'http', url: server.url, headers: { Authorization: `Bearer ${token}` } },
      { timeoutMs: 10_000, guard: loopbackGuard },
    ),
  );

  it('sends the configured headers', async () => {
    const conn = await connectMcp(
      { transport: 'http', url: server.url, headers: { Authorization: `Bearer ${token}`, 'X-Test-Tenant': 'acme' } },
      { timeoutMs: 10_000, guard: loopbackGuard },
    );
    try {
      const r = await conn.callTool('whoami');
      expect(r.structuredContent).toEqual({ authorization: true, 'x-test-tenant': 'acme' });
    } finally {
      await conn.close();
    }
  });

  it('refuses loopback targets by default (no guard given) and when not allowlisted', async () => {
    const e1 = await expectClientError(
      connectMcp({ transport: 'http', url: server.url }, { timeoutMs: 2_000 }),
      'egress_refused',
    );
    expect(e1.message).toMatch(/FLAPJACK_EGRESS_ALLOWLIST/);
    await expectClientError(
      connectMcp(
        { transport: 'http', url: server.url },
        { timeoutMs: 2_000, guard: createEgressGuard(parseAllowlist('10.0.0.0/8')) },
      ),
      'egress_refused',
    );
    await expectClientError(
      connectMcp({ transport: 'http', url: 'http://169.254.169.254/mcp' }, { timeoutMs: 2_000 }),
      'egress_refused',
    );
  });

  it('refuses a host name that resolves to a private address', async () => {
    await expectClientError(
      connectMcp({ transport: 'http', url: `http://localhost:${server.port}/mcp` }, { timeoutMs: 2_000 }),
      'egress_refused',
    );
  });

  it('fails to connect with a wrong token, without echoing header values', async () => {
    const err = await expectClientError(
      connectMcp(
        { transport: 'http', url: server.url, headers: { Authorization: 'Bearer wrong-secret-value' } },
        { timeoutMs: 5_000, guard: loopbackGuard },
      ),
      'connect',
    );
    expect(err.message).not.toContain('wrong-secret-value');
  });

  it('refuses non-http URLs', async () => {
    await expectClientError(connectMcp({ transport: 'http', url: 'ftp://example.com/mcp' }), 'invalid_config');
    await expectClientError(connectMcp({ transport: 'http', url: 'not a url' }), 'invalid_config');
  });
});

describe('the test server as a separate process over HTTP', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('listens on the port it is given and serves MCP', async () => {
    child = spawn(TSX, [FIXTURE, '--http', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child?.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening (\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child?.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
      setTimeout(() => reject(new Error('server did not start')), 20_000).unref();
    });
    const conn = await connectMcp({ transport: 'http', url }, { timeoutMs: 10_000, guard: loopbackGuard });
    try {
      expect((await conn.callTool('add', { a: 1, b: 2 })).text).toBe('3');
    } finally {
      await conn.close();
    }
  });
});
