import { afterAll, describe, expect, it } from '@jest/globals';
import { createDb } from '../src/db/client';
import { withSqlClient } from '../src/db/scoped';
import { resultSets, Sql } from '../src/db/sql-batch';
import { startTcpProxy } from './fixtures/tcp-proxy';
import { testEnv } from './test-env';

// One connection: the probe table below is a temporary table (the app role may not create tables), and
// every query of this file must see it.
const db = createDb(testEnv().databaseUrl, { poolSize: 1 });
afterAll(() => db.$disconnect());

const hostile = [
  'plain',
  "it's",
  "'); DROP TABLE runner_runs; --",
  "back\\slash \\' mixed",
  '$$ dollar $$ quoting $tag$',
  'unicode ✓ 𝔘 \u0001 control',
  '',
];

describe('Sql literals (values inlined into multi-statement batches)', () => {
  it('round-trips hostile strings exactly, as text and inside JSON', async () => {
    const out = await withSqlClient(db, async (c) => {
      const q = new Sql(c);
      const sql = hostile.map((v) => `SELECT ${q.lit(v)} AS t, ${q.json({ v })} AS j`).join(';\n');
      return resultSets<{ t: string; j: { v: string } }>(await c.query(sql)).map((r) => r.rows[0]);
    });
    expect(out.map((r) => r?.t)).toEqual(hostile);
    expect(out.map((r) => r?.j.v)).toEqual(hostile);
    const tables = await db.$queryRaw<
      { n: bigint }[]
    >`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'runner_runs'`;
    expect(Number(tables[0]?.n)).toBe(1);
  });

  it('renders numbers, booleans and nulls, and refuses non-finite numbers', async () => {
    await withSqlClient(db, async (c) => {
      const q = new Sql(c);
      expect(q.lit(42)).toBe('42');
      expect(q.lit(-1.5)).toBe('-1.5');
      expect(q.lit(true)).toBe('TRUE');
      expect(q.lit(null)).toBe('NULL');
      expect(q.jsonOrNull(undefined)).toBe('NULL');
      expect(() => q.lit(Number.NaN)).toThrow(/non-finite/);
      expect(() => q.lit(Infinity)).toThrow(/non-finite/);
      const r = resultSets<{ a: number; b: boolean; n: null }>(
        await c.query(`SELECT ${q.lit(42)}::int AS a, ${q.lit(false)} AS b, ${q.lit(null)}::text AS n`),
      );
      expect(r[0]?.rows[0]).toEqual({ a: 42, b: false, n: null });
    });
  });

  it('rolls back the whole batch when one statement fails', async () => {
    await db.$executeRawUnsafe('CREATE TEMP TABLE IF NOT EXISTS sql_batch_probe (v text)');
    await expect(
      withSqlClient(db, (c) => c.query(`BEGIN; INSERT INTO sql_batch_probe VALUES ('kept?'); SELECT 1/0; COMMIT`)),
    ).rejects.toThrow(/division by zero/);
    const rows = await db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM sql_batch_probe`;
    expect(Number(rows[0]?.n)).toBe(0);
    // The pooled connection is usable afterwards (not left inside an aborted transaction).
    await withSqlClient(db, async (c) => {
      for (let i = 0; i < 3; i++) expect((await c.query('SELECT 1 AS x')).rows[0]).toEqual({ x: 1 });
    });
  });
});

describe('withSqlClient when the database connection is cut', () => {
  it('rejects, and does not crash the process, when the connection is reset while checked out', async () => {
    const url = new URL(testEnv().databaseUrl);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.hostname = proxy.host;
    url.port = String(proxy.port);
    const cut = createDb(url.toString(), { poolSize: 1 });
    try {
      await expect(
        withSqlClient(cut, async (c) => {
          await c.query('BEGIN');
          // The reset arrives while no query is running: the client emits 'error' with nobody listening
          // but withSqlClient (before the fix this was an uncaught exception that killed the worker).
          proxy.pause();
          await new Promise((r) => setTimeout(r, 300));
          await c.query('SELECT 1');
        }),
      ).rejects.toThrow();
      proxy.resume();
      // The broken connection was discarded: the next checkout works.
      const out = await withSqlClient(cut, (c) => c.query('SELECT 2 AS x'));
      expect(out.rows[0]).toEqual({ x: 2 });
    } finally {
      await cut.$disconnect();
      await proxy.close();
    }
  });
});
