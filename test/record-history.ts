import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveTemporalBinary } from '../src/dev/temporal-binary';
import { testEnv } from './test-env';

export const HISTORIES_DIR = path.join(__dirname, '..', 'workflows', 'histories');

/**
 * With RECORD_HISTORIES=1, saves the history of a finished run as workflows/histories/<name>.json (the
 * Temporal CLI's JSON form) so the replay test can check that later workflow code still replays it.
 * A no-op otherwise.
 */
export async function recordHistory(workflowId: string, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const env = testEnv();
  const binary = await resolveTemporalBinary();
  const { stdout } = await promisify(execFile)(
    binary,
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      '--address',
      env.temporalAddress,
      '--namespace',
      env.namespace,
      '--output',
      'json',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  await writeFile(path.join(HISTORIES_DIR, `${name}.json`), JSON.stringify(JSON.parse(stdout), null, 1) + '\n');
}
