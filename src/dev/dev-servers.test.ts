import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { Client } from 'pg';
import { describe, expect, it } from '@jest/globals';
import { startEmbeddedPostgres } from './embedded-postgres';
import { resolveTemporalBinary } from './temporal-binary';
import { isPortFree } from './process';
import { buildStartDevArgs, loadTemporalDevConfig, startTemporalDevServer } from './temporal-server';

// Real processes, no mocks: the Temporal CLI (built once into ~/.cache/flapjack, or TEMPORAL_CLI_PATH)
// and the PostgreSQL binaries shipped by embedded-postgres.

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD */
const INDEXED_VALUE_TYPE_KEYWORD = 2;

async function query<T extends Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('temporal-dev.yaml', () => {
  it('becomes start-dev flags with JSON-encoded dynamic config values', () => {
    const config = loadTemporalDevConfig();
    const args = buildStartDevArgs(config, { port: 7233, uiPort: false, namespace: 'default', dbFile: '/tmp/t.db' });
    expect(args.slice(0, 2)).toEqual(['server', 'start-dev']);
    expect(args).toContain('--headless');
    expect(args.join(' ')).toContain('--search-attribute RunnerId=Keyword');
    expect(args.join(' ')).toContain('--sqlite-pragma journal_mode=WAL');
    expect(args.join(' ')).toContain('--dynamic-config-value system.forceSearchAttributesCacheRefreshOnRead=false');
    expect(args.join(' ')).toContain('--dynamic-config-value matching.numTaskqueueReadPartitions=1');
    expect(args).not.toContain('--namespace'); // `default` always exists
  });
});

describe('local dev servers', () => {
  it('starts an in-memory Temporal dev server on a free port with the search attributes registered', async () => {
    const binary = await resolveTemporalBinary();
    const server = await startTemporalDevServer({ binary, uiPort: false });
    const port = Number(server.address.split(':').pop());
    try {
      expect(server.uiUrl).toBeUndefined();
      const connection = await Connection.connect({ address: server.address });
      try {
        const res = await connection.operatorService.listSearchAttributes({ namespace: server.namespace });
        const custom = res.customAttributes ?? {};
        for (const name of ['RunnerId', 'OrgId', 'RunStatus', 'TriggerKind']) {
          expect(custom[name]).toBe(INDEXED_VALUE_TYPE_KEYWORD);
        }
      } finally {
        await connection.close();
      }
    } finally {
      await server.stop();
    }
    expect(await isPortFree('127.0.0.1', port)).toBe(true);
  }, 120_000);

  it('runs embedded PostgreSQL and keeps its data across a restart on the same directory', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flapjack-pg-'));
    // As root the server runs as the `postgres` OS user, which must be able to enter the directory.
    await chmod(root, 0o755);
    const dataDir = path.join(root, 'data');
    try {
      const first = await startEmbeddedPostgres({ dataDir });
      try {
        expect(first.url).toMatch(/^postgresql:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/postgres$/);
        expect(await query(first.url, 'select 1 as one')).toEqual([{ one: 1 }]);
        await query(first.url, "create table kept (v text); insert into kept values ('survives')");
      } finally {
        await first.stop();
      }

      const second = await startEmbeddedPostgres({ dataDir });
      try {
        expect(await query(second.url, 'select v from kept')).toEqual([{ v: 'survives' }]);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }, 120_000);
});
