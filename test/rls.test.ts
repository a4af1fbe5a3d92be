import { beforeAll, describe, expect, it } from '@jest/globals';
import { APP_ROLE, withOrg } from '../src/db/scoped';
import { useTestContext, type TestContext } from './harness';

/**
 * Row-level security on the real database: org scoping is enforced by PostgreSQL itself, so a query
 * that forgets its WHERE clause still sees only the org it acts for.
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

  beforeAll(async () => {
    ({ db, orgA, orgB } = ctx);
    await seed(orgA, 'a', 2, 3);
    await seed(orgB, 'b', 3, 2);
  });

  describe('org scoping', () => {
    it('shows only the scoped org’s runners to a findMany without WHERE', async () => {
      const everyone = await db.runner.findMany({ where: { id: { in: [...runners.a, ...runners.b] } } });
      expect(everyone).toHaveLength(5); // the rows exist; the unscoped owner connection sees them all

      const seenByA = await withOrg(db, orgA, (tx) => tx.runner.findMany());
      expect(seenByA.length).toBeGreaterThan(0);
      expect(new Set(seenByA.map((r) => r.orgId))).toEqual(new Set([orgA]));
      expect(seenByA.map((r) => r.id).sort()).toEqual([...runners.a].sort());

      const seenByB = await withOrg(db, orgB, (tx) => tx.runner.findMany());
      expect(seenByB.map((r) => r.id).sort()).toEqual([...runners.b].sort());
    });

    it('counts only the scoped org’s rows in raw SQL', async () => {
      const [all] = await db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM runner_runs`;
      expect(Number(all?.n)).toBeGreaterThanOrEqual(5);
      const [a] = await withOrg(db, orgA, (tx) => tx.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM runner_runs`);
      expect(Number(a?.n)).toBe(3);
      const [b] = await withOrg(db, orgB, (tx) => tx.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM runner_runs`);
      expect(Number(b?.n)).toBe(2);
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
      expect(await db.runner.count({ where: { name: { startsWith: 'smuggled' } } })).toBe(0);
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
      expect(await db.runner.count({ where: { id: { in: runners.b }, orgId: orgB, name: { not: 'hijacked' } } })).toBe(
        3,
      );
    });

    it('fails closed: the app role with no org set sees nothing', async () => {
      const n = await db.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`SET LOCAL ROLE ${APP_ROLE}`);
        return tx.runner.count();
      });
      expect(n).toBe(0);
    });

    it('runs the scope as flapjack_app, a role that cannot bypass RLS', async () => {
      const [role] = await db.$queryRaw<{ rolbypassrls: boolean; rolsuper: boolean }[]>`
        SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = 'flapjack_app'`;
      expect(role).toEqual({ rolbypassrls: false, rolsuper: false });
      const [who] = await withOrg(
        db,
        orgA,
        (tx) =>
          tx.$queryRaw<
            { current_user: string; org: string }[]
          >`SELECT current_user, current_setting('app.org_id') AS org`,
      );
      expect(who).toEqual({ current_user: 'flapjack_app', org: orgA });
      // The settings are transaction-local: nothing leaks into the pooled connection afterwards.
      const after = await db.$queryRaw<{ current_user: string }[]>`SELECT current_user`;
      expect(after[0]?.current_user).not.toBe('flapjack_app');
    });

    // A policy is the org-membership check either by calling is_org_member(org_id) or by spelling out
    // its definition (`org_id = app_current_org() OR app_user_in_org(org_id)`), which the analytics tables
    // use so the org is read once per query instead of once per row (docs/budgets.md).
    it('enables RLS with an is_org_member policy on every table that has an org_id column', async () => {
      const rows = await db.$queryRaw<{ table: string; rls: boolean; policies: bigint }[]>`
        SELECT c.relname AS table, c.relrowsecurity AS rls,
               (SELECT count(*) FROM pg_policies p
                 WHERE p.schemaname = n.nspname AND p.tablename = c.relname
                   AND (p.qual LIKE '%is_org_member%'
                        OR (p.qual LIKE '%org_id = ( SELECT app_current_org()%' AND p.qual LIKE '%app_user_in_org(org_id)%'))
                   AND (p.with_check IS NULL OR p.with_check = p.qual)) AS policies
          FROM information_schema.columns col
          JOIN pg_namespace n ON n.nspname = col.table_schema
          JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = col.table_name AND c.relkind = 'r'
         WHERE col.column_name = 'org_id' AND col.table_schema = current_schema()
         ORDER BY c.relname`;
      expect(rows.length).toBeGreaterThanOrEqual(20);
      expect(rows.map((r) => r.table)).toEqual(
        expect.arrayContaining(['runners', 'runner_runs', 'runner_steps', 'api_keys']),
      );
      const unprotected = rows.filter((r) => !r.rls || Number(r.policies) < 1).map((r) => r.table);
      expect(unprotected).toEqual([]);

      const [orgs] = await db.$queryRaw<{ rls: boolean; policies: bigint }[]>`
        SELECT c.relrowsecurity AS rls,
               (SELECT count(*) FROM pg_policies p WHERE p.tablename = 'orgs' AND p.qual LIKE '%is_org_member%') AS policies
          FROM pg_class c WHERE c.relname = 'orgs' AND c.relnamespace = current_schema()::regnamespace`;
      expect(orgs?.rls).toBe(true);
      expect(Number(orgs?.policies)).toBeGreaterThanOrEqual(1);
    });
  });
});
