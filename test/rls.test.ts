import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { createDb } from '../src/db/client';
import { APP_ROLE, SYSTEM_ROLE, systemBatch, withOrg, withSqlClient, withSystem } from '../src/db/scoped';
import { resultSets, Sql } from '../src/db/sql-batch';
import { useTestContext, type TestContext } from './harness';

/**
 * Row-level security on the real database, as the app connects to it: org scoping is enforced by
 * PostgreSQL itself, a query that names no org sees no org rows, and the only way across orgs is
 * `withSystem` (docs/tenancy.md).
 */
describe('row-level security (real database)', () => {
  const ctx = useTestContext();
  let db: TestContext['db'];
  let orgA: string;
  let orgB: string;

  const runners: Record<'a' | 'b', string[]> = { a: [], b: [] };

  async function seed(org: string, key: 'a' | 'b', count: number, runs: number) {
    await withOrg(db, org, async (tx) => {
      for (let i = 0; i < count; i++) {
        const r = await tx.runner.create({ data: { orgId: org, name: `rls-${key}-${i}` } });
        runners[key].push(r.id);
      }
      for (let i = 0; i < runs; i++) {
        await tx.runnerRun.create({ data: { orgId: org, runnerId: runners[key][0] as string, snapshot: {} } });
      }
    });
  }

  /** Every table with an org_id column, and orgs itself (its id is the org). */
  async function orgTables(): Promise<string[]> {
    const rows = await ctx.systemDb.$queryRaw<{ table: string }[]>`
      SELECT c.relname AS table FROM pg_class c
       WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
         AND (c.relname = 'orgs' OR EXISTS (SELECT 1 FROM pg_attribute a
               WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND a.attnum > 0 AND NOT a.attisdropped))
       ORDER BY 1`;
    return rows.map((r) => r.table);
  }

  beforeAll(async () => {
    ({ db, orgA, orgB } = ctx);
    await seed(orgA, 'a', 2, 3);
    await seed(orgB, 'b', 3, 2);
  });

  describe('default deny: the app client with no org set', () => {
    it('acts as flapjack_app on every pooled connection, before and after any scope', async () => {
      const [before] = await db.$queryRaw<{ current_user: string }[]>`SELECT current_user`;
      expect(before?.current_user).toBe(APP_ROLE);
      await withSystem(db, 'api-key lookup', (tx) => tx.$queryRaw`SELECT 1`);
      await withOrg(db, orgA, (tx) => tx.$queryRaw`SELECT 1`);
      const after = await Promise.all(
        Array.from(
          { length: 12 },
          () => db.$queryRaw<{ u: string; org: string | null }[]>`
        SELECT current_user AS u, nullif(current_setting('app.org_id', true), '') AS org`,
        ),
      );
      expect(new Set(after.map((r) => `${r[0]?.u}/${r[0]?.org}`))).toEqual(new Set([`${APP_ROLE}/null`]));
    });

    it('keeps the default role when DATABASE_URL carries its own options', async () => {
      const url = new URL(ctx.env.databaseUrl);
      url.searchParams.set('options', '-c statement_timeout=4321 -c role=flapjack_system');
      const other = createDb(url.toString(), { poolSize: 1 });
      try {
        const [r] = await other.$queryRaw<
          { u: string; t: string }[]
        >`SELECT current_user AS u, current_setting('statement_timeout') AS t`;
        expect(r).toEqual({ u: APP_ROLE, t: '4321ms' });
      } finally {
        await other.$disconnect();
      }
    });

    it('reads zero rows from every org table, although the rows exist', async () => {
      const tables = await orgTables();
      expect(tables).toEqual(expect.arrayContaining(['orgs', 'api_keys', 'runners', 'runner_runs', 'model_calls']));
      const seen: Record<string, { app: number; system: number }> = {};
      for (const t of tables) {
        const count = `SELECT count(*)::int AS n FROM "${t}"`;
        const [app] = await db.$queryRawUnsafe<{ n: number }[]>(count);
        const [system] = await ctx.systemDb.$queryRawUnsafe<{ n: number }[]>(count);
        seen[t] = { app: app?.n ?? -1, system: system?.n ?? -1 };
      }
      // The proof needs rows to hide: the orgs, their keys, runners and runs were seeded above.
      for (const t of ['orgs', 'api_keys', 'runners', 'runner_runs']) expect(seen[t]?.system).toBeGreaterThan(0);
      const visible = Object.entries(seen).filter(([, n]) => n.app !== 0);
      expect(visible).toEqual([]);
    });

    it('reads nothing through the hot path’s plain pg connection unless the batch opens an org scope', async () => {
      const counts = await withSqlClient(db, async (c) => {
        const q = new Sql(c);
        const bare = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM runner_runs');
        const scoped = resultSets<{ n: number }>(
          await c.query(
            [
              q.beginOrg(orgA),
              `SELECT count(*)::int AS n FROM runner_runs WHERE runner_id = ANY(${q.uuids(runners.a)})`,
              'COMMIT',
            ].join(';\n'),
          ),
        );
        const afterwards = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM runner_runs');
        return { bare: bare.rows[0]?.n, scoped: scoped[2]?.rows[0]?.n, afterwards: afterwards.rows[0]?.n };
      });
      expect(counts).toEqual({ bare: 0, scoped: 3, afterwards: 0 });
    });

    it('cannot write an org row without an org', async () => {
      await expect(db.runner.create({ data: { orgId: orgA, name: 'orphan' } })).rejects.toThrow(/row-level security/i);
      const updated = await db.runner.updateMany({ where: { id: { in: runners.a } }, data: { name: 'renamed' } });
      expect(updated.count).toBe(0);
      const deleted = await db.runnerRun.deleteMany({});
      expect(deleted.count).toBe(0);
      expect(
        await ctx.systemDb.runner.count({ where: { id: { in: runners.a }, name: { startsWith: 'rls-a-' } } }),
      ).toBe(2);
      expect(await ctx.systemDb.runnerRun.count({ where: { orgId: { in: [orgA, orgB] } } })).toBe(5);
    });
  });

  describe('org scoping', () => {
    it('shows only the scoped org’s runners to a findMany without WHERE', async () => {
      const everyone = await ctx.systemDb.runner.findMany({ where: { id: { in: [...runners.a, ...runners.b] } } });
      expect(everyone).toHaveLength(5);

      const seenByA = await withOrg(db, orgA, (tx) => tx.runner.findMany());
      expect(seenByA.length).toBeGreaterThan(0);
      expect(new Set(seenByA.map((r) => r.orgId))).toEqual(new Set([orgA]));
      expect(seenByA.map((r) => r.id).sort()).toEqual([...runners.a].sort());

      const seenByB = await withOrg(db, orgB, (tx) => tx.runner.findMany());
      expect(seenByB.map((r) => r.id).sort()).toEqual([...runners.b].sort());
    });

    it('counts only the scoped org’s rows in raw SQL', async () => {
      const [all] = await ctx.systemDb.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM runner_runs`;
      expect(Number(all?.n)).toBeGreaterThanOrEqual(5);
      const [a] = await withOrg(db, orgA, (tx) => tx.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM runner_runs`);
      expect(Number(a?.n)).toBe(3);
      const [b] = await withOrg(db, orgB, (tx) => tx.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM runner_runs`);
      expect(Number(b?.n)).toBe(2);
      const [orgs] = await withOrg(db, orgA, (tx) => tx.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM orgs`);
      expect(Number(orgs?.n)).toBe(1);
    });

    it('refuses to insert a row for another org inside a scope', async () => {
      const attempt = withOrg(db, orgA, (tx) => tx.runner.create({ data: { orgId: orgB, name: 'smuggled' } }));
      await expect(attempt).rejects.toThrow(/row-level security/i);
      const raw = withOrg(
        db,
        orgA,
        (tx) =>
          tx.$executeRaw`INSERT INTO runners (id, org_id, name) VALUES (gen_random_uuid(), ${orgB}::uuid, 'smuggled-raw')`,
      );
      await expect(raw).rejects.toThrow(/row-level security/i);
      expect(await ctx.systemDb.runner.count({ where: { name: { startsWith: 'smuggled' } } })).toBe(0);
    });

    it('cannot move a row to another org, nor touch another org’s rows', async () => {
      const move = withOrg(
        db,
        orgA,
        (tx) => tx.$executeRaw`UPDATE runners SET org_id = ${orgB}::uuid WHERE id = ${runners.a[0]}::uuid`,
      );
      await expect(move).rejects.toThrow(/row-level security/i);
      const updated = await withOrg(db, orgA, (tx) =>
        tx.runner.updateMany({ where: { id: { in: runners.b } }, data: { name: 'hijacked' } }),
      );
      expect(updated.count).toBe(0);
      const deleted = await withOrg(db, orgA, (tx) => tx.runner.deleteMany({ where: { id: { in: runners.b } } }));
      expect(deleted.count).toBe(0);
      expect(
        await ctx.systemDb.runner.count({ where: { id: { in: runners.b }, orgId: orgB, name: { not: 'hijacked' } } }),
      ).toBe(3);
    });

    it('runs the scope as flapjack_app with the org set, both transaction-local', async () => {
      const [who] = await withOrg(
        db,
        orgA,
        (tx) =>
          tx.$queryRaw<
            { current_user: string; org: string }[]
          >`SELECT current_user, current_setting('app.org_id') AS org`,
      );
      expect(who).toEqual({ current_user: APP_ROLE, org: orgA });
    });
  });

  describe('withSystem: the one way across orgs', () => {
    it('sees every org’s rows, as flapjack_system, with its reason recorded', async () => {
      const seen = await withSystem(db, 'pending-run reconciler', async (tx) => ({
        runners: await tx.runner.count({ where: { id: { in: [...runners.a, ...runners.b] } } }),
        who: await tx.$queryRaw<{ u: string; reason: string }[]>`
          SELECT current_user AS u, current_setting('app.system_reason') AS reason`,
      }));
      expect(seen.runners).toBe(5);
      expect(seen.who[0]).toEqual({ u: SYSTEM_ROLE, reason: 'pending-run reconciler' });
      const [batch] = await systemBatch<{ n: number }>(db, 'schedule reconciler', (q) => [
        `SELECT count(*)::int AS n FROM runner_runs WHERE org_id IN (${q.lit(orgA)}, ${q.lit(orgB)})`,
      ]);
      expect(batch?.rows[0]?.n).toBe(5);
    });

    it('is called only from the listed places in the app’s code', async () => {
      const root = path.resolve(__dirname, '..');
      const files: string[] = [];
      const walk = async (dir: string): Promise<void> => {
        for (const e of await readdir(dir, { withFileTypes: true })) {
          const p = path.join(dir, e.name);
          if (e.isDirectory() && e.name !== 'generated' && e.name !== 'node_modules') await walk(p);
          else if (e.isFile() && p.endsWith('.ts') && !p.endsWith('.test.ts')) files.push(p);
        }
      };
      for (const d of ['src', 'api', 'activities', 'workflows']) await walk(path.join(root, d));
      const users: string[] = [];
      const roleUsers: string[] = [];
      for (const f of files) {
        const text = await readFile(f, 'utf8');
        const rel = path.relative(root, f);
        if (/\b(withSystem|systemBatch)\s*[<(]/.test(text) && !rel.startsWith('src/db/')) users.push(rel);
        if (/\b(SYSTEM_ROLE|sessionRole|beginSystem)\b|flapjack_system/.test(text) && !rel.startsWith('src/db/')) {
          roleUsers.push(rel);
        }
      }
      // A new cross-org path is a reviewed change: add it to SystemReason, docs/tenancy.md and here.
      expect(users.sort()).toEqual([
        'src/services/api-keys.ts',
        'src/services/button.ts',
        'src/services/runs.ts',
        'src/services/triggers-schedules.ts',
        'src/services/triggers-webhook.ts',
      ]);
      // Nobody outside src/db picks the system role by hand (start-up only checks that it exists).
      expect(roleUsers).toEqual(['src/bin/startup.ts']);
    });
  });

  describe('the catalogue', () => {
    it('has both roles unable to log in or bypass RLS', async () => {
      const roles = await ctx.systemDb.$queryRaw<
        { rolname: string; rolbypassrls: boolean; rolsuper: boolean; rolcanlogin: boolean }[]
      >`SELECT rolname, rolbypassrls, rolsuper, rolcanlogin FROM pg_roles
         WHERE rolname IN ('flapjack_app', 'flapjack_system') ORDER BY rolname`;
      expect(roles).toEqual([
        { rolname: 'flapjack_app', rolbypassrls: false, rolsuper: false, rolcanlogin: false },
        { rolname: 'flapjack_system', rolbypassrls: false, rolsuper: false, rolcanlogin: false },
      ]);
    });

    // A policy is the org-membership check either by calling is_org_member(org_id) or by spelling out its
    // definition (`org_id = app_current_org() OR app_user_in_org(org_id)`, which the analytics tables use
    // so the org is read once per query, docs/budgets.md); org_members has its own non-recursive form.
    // Any other policy must be system_access for flapjack_system alone: a permissive policy for everyone
    // would open the table.
    it('enables and forces RLS, with an org policy and the system policy, on every org table', async () => {
      const tables = await orgTables();
      expect(tables.length).toBeGreaterThanOrEqual(25);
      const rows = await ctx.systemDb.$queryRaw<
        {
          table: string;
          rls: boolean;
          forced: boolean;
          name: string | null;
          roles: string[] | null;
          qual: string | null;
          with_check: string | null;
        }[]
      >`SELECT c.relname AS table, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
               p.policyname AS name, p.roles::text[] AS roles, p.qual, p.with_check
          FROM pg_class c
          LEFT JOIN pg_policies p ON p.schemaname = current_schema() AND p.tablename = c.relname
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(${tables})
         ORDER BY 1, 4`;
      const orgCheck = (q: string | null) =>
        q !== null &&
        (/is_org_member\((org_id|id)\)/.test(q) ||
          (/org_id = \( SELECT app_current_org\(\)/.test(q) && q.includes('app_user_in_org(org_id)')) ||
          /^\(+org_id = app_current_org\(\)\)/.test(q));
      const problems: string[] = [];
      for (const t of tables) {
        const mine = rows.filter((r) => r.table === t);
        if (!mine[0]?.rls) problems.push(`${t}: RLS not enabled`);
        if (!mine[0]?.forced) problems.push(`${t}: RLS not forced`);
        const org = mine.filter((p) => p.name === 'org_isolation');
        const system = mine.filter((p) => p.name === 'system_access');
        if (
          org.length !== 1 ||
          !org.every((p) => orgCheck(p.qual) && orgCheck(p.with_check) && p.roles?.join() === 'public')
        ) {
          problems.push(`${t}: no org_isolation policy checking the org for everyone`);
        }
        if (system.length !== 1 || system[0]?.roles?.join() !== 'flapjack_system') {
          problems.push(`${t}: no system_access policy for flapjack_system alone`);
        }
        const others = mine.filter((p) => p.name !== null && p.name !== 'org_isolation' && p.name !== 'system_access');
        for (const p of others) problems.push(`${t}: unexpected policy ${p.name}`);
      }
      expect(problems).toEqual([]);
    });
  });
});
