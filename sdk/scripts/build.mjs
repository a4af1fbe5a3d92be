// Builds the SDK twice with plain tsc (ESM and CommonJS, each with declarations) and marks each
// output folder with its module type so Node loads `dist/esm` as ESM and `dist/cjs` as CommonJS.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
for (const [config, dir, type] of [
  ['tsconfig.esm.json', 'esm', 'module'],
  ['tsconfig.cjs.json', 'cjs', 'commonjs'],
]) {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, config)], { stdio: 'inherit' });
  mkdirSync(path.join(root, 'dist', dir), { recursive: true });
  writeFileSync(path.join(root, 'dist', dir, 'package.json'), JSON.stringify({ type }) + '\n');
}
