/**
 * PostgreSQL CPU per statement batch of a run's path (`npx tsx bench/pg-cpu.ts <database url> <runner id>`):
 * one pooled connection, its backend's CPU read from /proc before and after N repetitions of each batch
 * (the API's snapshot read, the run insert, the worker's write batches). Needs the server on this machine.
 */
import { randomUUID } from 'node:crypto';
import { createDb, sqlPool } from '../src/db/client';
import { withSqlClient } from '../src/db/scoped';
import { resultSets, Sql } from '../src/db/sql-batch';
import { beginAndReadSnapshot, recordRunsSql } from '../src/services/runs';
import { createPersistenceActivities } from '../activities/persistence';
import { processCpuMs } from './load';
import type { PersistOp } from '../src/shared/run-types';

const [url, runnerId] = process.argv.slice(2);
const N = Number(process.env.N ?? 300);

async function main(): Promise<void> {
  if (!url || !runnerId) throw new Error('usage: pg-cpu.ts <database url> <runner id>');
  const db = createDb(url, { poolSize: 1, sessionRole: 'flapjack_system' });
  const pool = sqlPool(db);
  const pid = Number((await pool.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
  const org = (await pool.query('SELECT org_id FROM runners WHERE id = $1', [runnerId])).rows[0].org_id as string;
  const time = async (label: string, fn: (i: number) => Promise<unknown>) => {
    for (let i = 0; i < 20; i++) await fn(i);
    const before = processCpuMs(pid);
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await fn(i);
    const cpu = (processCpuMs(pid) - before) / N;
    process.stdout.write(
      `${label.padEnd(44)} postgres CPU ${cpu.toFixed(3)} ms, wall ${((performance.now() - t0) / N).toFixed(3)} ms\n`,
    );
  };
  const ids: string[] = [];
  await time('snapshot read (BEGIN … ROLLBACK)', () =>
    withSqlClient(db, async (c) => {
      await beginAndReadSnapshot(c, new Sql(c), org, runnerId);
      await c.query('ROLLBACK');
    }),
  );
  const { stored } = await withSqlClient(db, async (c) => {
    const r = await beginAndReadSnapshot(c, new Sql(c), org, runnerId);
    await c.query('ROLLBACK');
    return r;
  });
  await time('run insert + COMMIT', () =>
    withSqlClient(db, async (c) => {
      const q = new Sql(c);
      const id = randomUUID();
      ids.push(id);
      await c.query(
        [
          q.beginOrg(org),
          recordRunsSql(q, org, runnerId, stored, { kind: 'api' }, [{ id, input: { n: 1 }, key: null }]),
          'COMMIT',
        ].join(';\n'),
      );
    }),
  );
  const persist = createPersistenceActivities({ db });
  const context = { input: { n: 1 }, steps: { fetch: { output: { items: [1, 2, 3] }, status: 'completed' as const } } };
  /** One of the worker's write batches of a run, on the runs recorded above in turn. */
  const workerBatch = (label: string, ops: PersistOp[], currentStep: number) =>
    time(label, (i) =>
      persist.persistRun({
        runId: ids[i % ids.length] as string,
        orgId: org,
        ops,
        context,
        currentStep,
        onlyIfActive: true,
      }),
    );
  await workerBatch(
    'worker batch: runStarted + stepStarted',
    [{ op: 'runStarted' }, { op: 'stepStarted', index: 0, input: { n: 1 } }],
    0,
  );
  await workerBatch(
    'worker batch: 2 finished + started',
    [
      { op: 'stepFinished', index: 0, status: 'completed', input: { n: 1 }, output: { items: [1, 2, 3] } },
      {
        op: 'stepFinished',
        index: 1,
        status: 'completed',
        input: { conditionExpr: '$.x' },
        output: { value: 3, passed: true },
      },
      { op: 'stepStarted', index: 2, input: { items: [1, 2, 3] } },
    ],
    2,
  );
  await workerBatch(
    'worker batch: finished + runFinished (pending)',
    [{ op: 'stepFinished', index: 2, status: 'completed', input: { items: [1, 2, 3] }, output: { total: 6 } }],
    2,
  );
  await time('empty transaction (BEGIN; set_config; COMMIT)', () =>
    withSqlClient(db, async (c) => {
      const q = new Sql(c);
      await c.query([q.beginOrg(org), 'COMMIT'].join(';\n'));
    }),
  );
  await time('SELECT 1', () => pool.query('SELECT 1'));
  await withSqlClient(db, (c) => c.query(`DELETE FROM runner_runs WHERE id = ANY(${new Sql(c).uuids(ids)})`));
  await db.$disconnect();
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
