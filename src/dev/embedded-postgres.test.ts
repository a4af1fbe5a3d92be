import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Client } from 'pg';
import { REACHABLE_ROOT, reachableLocation, startEmbeddedPostgres } from './embedded-postgres';

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

async function query(url: string, sql: string): Promise<unknown[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

describe('embedded PostgreSQL in a private (0700) checkout', () => {
  it('starts with no action from the user, keeps its data across restarts, and keeps the cluster where the server can reach it', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'flapjack-private-'));
    await chmod(home, 0o700); // like /root: only its owner may enter
    const dataDir = path.join(home, 'repo', '.data', 'postgres');
    await mkdir(path.dirname(dataDir), { recursive: true });
    const logs: string[] = [];
    try {
      const first = await startEmbeddedPostgres({
        dataDir,
        port: 0,
        log: (m) => logs.push(m),
        readyTimeoutMs: 120_000,
      });
      try {
        // As root the server runs as the postgres OS user, who cannot enter `home`: the cluster moved out.
        expect(first.dataDir).toBe(asRoot ? reachableLocation(dataDir) : dataDir);
        if (asRoot) {
          expect(first.dataDir.startsWith(`${REACHABLE_ROOT}/`)).toBe(true);
          expect(logs.join('\n')).toContain('cannot enter');
        }
        await query(first.url, 'CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');
      } finally {
        await first.stop();
      }
      const second = await startEmbeddedPostgres({ dataDir, port: 0, readyTimeoutMs: 120_000 });
      try {
        expect(second.dataDir).toBe(first.dataDir);
        expect(await query(second.url, 'SELECT v FROM kept')).toEqual([{ v: 42 }]);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(home, { recursive: true, force: true });
      await rm(reachableLocation(dataDir), { recursive: true, force: true });
    }
  }, 240_000);
});
