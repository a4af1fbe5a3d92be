import { afterAll, describe, expect, it } from '@jest/globals';
import { createDb } from '../src/db/client';
import { withSqlClient } from '../src/db/scoped';
import { randomUUID } from 'node:crypto';
import { ensurePrepared, preparedStatement, resultSets, Sql } from '../src/db/sql-batch';
import { appendEvent, createPersistenceActivities, persistStatements } from '../activities/persistence';
import { beginAndReadSnapshot } from '../src/services/runs';
import type { PersistOp } from '../src/shared/run-types';
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

describe('prepared statements in batches', () => {
  const probe = preparedStatement(
    'fj_test_probe',
    ['int', 'text', 'jsonb'],
    `SELECT $1 + 1 AS n, upper($2) AS t, $3 -> 'k' AS j`,
  );
  const preparedHere = (c: { query: (sql: string) => Promise<{ rows: { name: string }[] }> }) =>
    c.query(`SELECT name FROM pg_prepared_statements WHERE name LIKE 'fj\\_%'`).then((r) => r.rows.map((x) => x.name));

  it('prepares a statement once per connection and runs it with EXECUTE inside a batch', async () => {
    await withSqlClient(db, async (c) => {
      const q = new Sql(c);
      await ensurePrepared(c, [probe]);
      await ensurePrepared(c, [probe]); // nothing left to prepare: no error for a second PREPARE
      const text = q.exec(probe, q.lit(41), q.lit("it's"), q.json({ k: [1] }));
      expect(text).toMatch(/^EXECUTE fj_test_probe\(/);
      const sets = resultSets<{ n: number; t: string; j: unknown }>(await c.query(`BEGIN; ${text}; COMMIT`));
      expect(sets[1]?.rows[0]).toEqual({ n: 42, t: "IT'S", j: [1] });
      expect(await preparedHere(c)).toContain('fj_test_probe');
    });
  });

  it("sends a batch's writes in full when a guard is added to them (an EXECUTE takes no condition)", async () => {
    await withSqlClient(db, async (c) => {
      const q = new Sql(c);
      const batch = {
        runId: randomUUID(),
        orgId: randomUUID(),
        ops: [
          { op: 'stepStarted', index: 0, input: { a: 1 } },
          { op: 'runFinished', status: 'completed', output: { b: 2 }, error: null },
        ] satisfies PersistOp[],
        context: { input: null, steps: {} },
        currentStep: 0,
        onlyIfActive: true,
      };
      const guarded = persistStatements(q, batch, 'TRUE');
      expect(guarded).toHaveLength(3);
      for (const sql of guarded) {
        expect(sql).not.toMatch(/EXECUTE/);
        expect(sql).toMatch(/ AND \(TRUE\)$/);
      }
      expect(persistStatements(q, batch).every((sql) => sql.startsWith('EXECUTE fj_'))).toBe(true);
      await c.query([q.beginOrg(batch.orgId), ...guarded, 'ROLLBACK'].join(';\n'));
    });
  });

  it('sends the statements in full, preparing nothing, for a pool made with preparedStatements: false', async () => {
    const full = createDb(testEnv().databaseUrl, { poolSize: 1, preparedStatements: false });
    try {
      await withSqlClient(full, async (c) => {
        const q = new Sql(c);
        await ensurePrepared(c, [probe]);
        const text = q.exec(probe, q.lit(41), q.lit("it's"), q.json({ k: [1] }));
        expect(text).not.toMatch(/EXECUTE/);
        expect(resultSets<{ n: number; t: string; j: unknown }>(await c.query(text))[0]?.rows[0]).toEqual({
          n: 42,
          t: "IT'S",
          j: [1],
        });
      });
      // Every write of a run and the snapshot reads, in full: valid SQL (no such run or runner: nothing changes).
      const runId = randomUUID();
      const orgId = randomUUID();
      const ops: PersistOp[] = [
        { op: 'runStarted' },
        { op: 'stepStarted', index: 0, input: { a: 1 } },
        { op: 'stepFinished', index: 0, status: 'completed', input: { a: 1 }, output: { b: 2 } },
        { op: 'stepFinished', index: 1, status: 'failed', input: null, error: { code: 'step_failed', message: 'x' } },
        { op: 'stepsSkipped', fromIndex: 2 },
        { op: 'runFinished', status: 'failed', output: null, error: { code: 'step_failed', message: 'x' } },
      ];
      const persist = createPersistenceActivities({ db: full });
      for (const onlyIfActive of [false, true]) {
        await persist.persistRun({
          runId,
          orgId,
          ops,
          context: { input: null, steps: {} },
          currentStep: 1,
          onlyIfActive,
          startedAt: new Date().toISOString(),
        });
      }
      await expect(
        withSqlClient(full, (c) => beginAndReadSnapshot(c, new Sql(c), orgId, randomUUID())),
      ).rejects.toMatchObject({ code: 'not_found' });
      await withSqlClient(full, async (c) => expect(await preparedHere(c)).toEqual([]));
    } finally {
      await full.$disconnect();
    }
  });
});

describe('appendEvent (a run event added to runner_runs.events)', () => {
  it('keeps events in order of time, warnings of one instant by threshold, whatever order they arrive in', async () => {
    const at = '2026-11-29T10:00:00.000Z';
    const warning = (threshold: number) => ({
      id: `budget_warning:${threshold}`,
      type: 'budget_warning',
      at,
      threshold,
    });
    const events = await withSqlClient(db, async (c) => {
      const q = new Sql(c);
      await c.query('CREATE TEMP TABLE IF NOT EXISTS append_probe (id int PRIMARY KEY, events jsonb NOT NULL)');
      await c.query(`INSERT INTO append_probe VALUES (1, '[]') ON CONFLICT (id) DO UPDATE SET events = '[]'`);
      const append = (e: Record<string, unknown>) =>
        c.query(`UPDATE append_probe SET ${appendEvent(q, e as never)} WHERE id = 1`);
      // The 95 % warning's activity ran first; an earlier pause, then a later resume, around them.
      await append(warning(0.95));
      await append({ id: 'paused:1', type: 'paused', at: '2026-11-29T09:59:59.000Z' });
      await append(warning(0.8));
      await append(warning(0.95)); // a retried batch: not added twice
      await append({ id: 'resumed:1', type: 'resumed', at: '2026-11-29T10:00:01.000Z' });
      const r = await c.query<{ events: { id: string }[] }>('SELECT events FROM append_probe WHERE id = 1');
      return r.rows[0]?.events.map((e) => e.id);
    });
    expect(events).toEqual(['paused:1', 'budget_warning:0.8', 'budget_warning:0.95', 'resumed:1']);
  });
});
