/* eslint-disable @typescript-eslint/no-restricted-imports -- on purpose: workflows/bundle.test.ts proves the bundler rejects this */
// A workflow that breaks the sandbox rule by importing a Node built-in. It is a test fixture: nothing
// imports it from workflows/index.ts, so the worker never loads it.
import { readFileSync } from 'node:fs';

export async function badWorkflow(): Promise<string> {
  return readFileSync('/etc/hostname', 'utf8');
}
