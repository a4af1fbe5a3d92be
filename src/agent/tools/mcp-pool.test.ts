import { describe, expect, it } from '@jest/globals';
import type { McpConnection } from '../../mcp-client/client';
import { McpConnectionPool } from './mcp-tools';

/** A stand-in connection that counts what happens to it (the pool's logic only; the real client is tested elsewhere). */
function fakeConnection(log: string[], name: string): McpConnection {
  return {
    serverInfo: undefined,
    listTools: async () => [],
    callTool: async (tool) => {
      if (tool === 'explode') throw new Error('connection closed');
      log.push(`${name}:call:${tool}`);
      return { content: [], isError: false, text: tool };
    },
    close: async () => {
      log.push(`${name}:close`);
    },
  };
}

describe('McpConnectionPool', () => {
  it('reuses one connection per key and closes it after the idle time', async () => {
    const log: string[] = [];
    let opened = 0;
    const pool = new McpConnectionPool({ idleMs: 50 });
    const open = async () => fakeConnection(log, `c${++opened}`);
    await pool.use('run1:s1', open, (c) => c.callTool('a'));
    await pool.use('run1:s1', open, (c) => c.callTool('b'));
    expect(opened).toBe(1);
    await new Promise((r) => setTimeout(r, 120));
    expect(log).toEqual(['c1:call:a', 'c1:call:b', 'c1:close']);
    expect(pool.size).toBe(0);
  });

  it('drops a connection that throws and opens a fresh one next time', async () => {
    const log: string[] = [];
    let opened = 0;
    const pool = new McpConnectionPool({ idleMs: 10_000 });
    const open = async () => fakeConnection(log, `c${++opened}`);
    await expect(pool.use('k', open, (c) => c.callTool('explode'))).rejects.toThrow('connection closed');
    await pool.use('k', open, (c) => c.callTool('after'));
    expect(opened).toBe(2);
    expect(log).toEqual(['c1:close', 'c2:call:after']);
    await pool.closeAll();
  });

  it('does not keep a failed connect, and evicts the least recently used beyond maxOpen', async () => {
    const log: string[] = [];
    const pool = new McpConnectionPool({ idleMs: 10_000, maxOpen: 2 });
    await expect(
      pool.use(
        'bad',
        async () => Promise.reject(new Error('refused')),
        async () => 1,
      ),
    ).rejects.toThrow('refused');
    expect(pool.size).toBe(0);
    for (const k of ['a', 'b', 'c'])
      await pool.use(
        `run:${k}`,
        async () => fakeConnection(log, k),
        (c) => c.callTool('x'),
      );
    await new Promise((r) => setTimeout(r, 10));
    expect(pool.size).toBe(2);
    expect(log).toContain('a:close');
    await pool.closeRun('run');
    expect(pool.size).toBe(0);
    expect(log).toEqual(expect.arrayContaining(['b:close', 'c:close']));
  });
});
