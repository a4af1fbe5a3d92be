/**
 * `.data/dev-stack.json`: what a running `npm start` leaves for the other local tools (the CLI) so they
 * work with no environment set. Written when the stack is up (mode 0600: it holds the database URL with
 * the embedded server's password), removed when it stops; a file whose launcher died is ignored.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isPidAlive } from './process';
import { REPO_ROOT } from './temporal-server';

export const STACK_FILE = path.join(REPO_ROOT, '.data', 'dev-stack.json');

export interface StackInfo {
  pid: number;
  databaseUrl: string;
  apiUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  temporalUiUrl?: string;
}

export async function writeStackInfo(info: StackInfo, file = STACK_FILE): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}

export async function removeStackInfo(file = STACK_FILE): Promise<void> {
  await rm(file, { force: true });
}

/** The running dev stack's info, or undefined when none runs (no file, unreadable, or its launcher is gone). */
export function readStackInfo(file = STACK_FILE): StackInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as StackInfo;
    if (typeof info.databaseUrl !== 'string' || !isPidAlive(info.pid)) return undefined;
    return info;
  } catch {
    return undefined;
  }
}
