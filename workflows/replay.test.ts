import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from '@jest/globals';
import { WORKFLOWS_PATH } from '../src/bin/worker-runtime';

const DIR = path.join(__dirname, 'histories');

/**
 * Determinism guard: histories of real runs (recorded from the integration tests with
 * RECORD_HISTORIES=1 and committed) must replay against the current workflow code. A change that
 * would break runs in flight fails here; gate such a change with `patched()`.
 */
describe('saved run histories replay against the current workflow code', () => {
  it('replays every saved history without a nondeterminism error', async () => {
    const files = (await readdir(DIR)).filter((f) => f.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThanOrEqual(5);
    const histories = await Promise.all(
      files.map(async (f) => ({
        workflowId: f.replace(/\.json$/, ''),
        history: historyFromJSON(JSON.parse(await readFile(path.join(DIR, f), 'utf8'))),
      })),
    );
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowsPath: WORKFLOWS_PATH }, histories)) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  }, 120_000);
});
