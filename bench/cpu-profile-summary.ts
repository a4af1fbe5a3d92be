/**
 * Summarizes `--cpu-prof` profiles (as written with BENCH_CPU_PROF): self time per package
 * (`node_modules/<pkg>`), per repository folder, or per V8/Node category, largest first,
 * and per function (`--functions=N`, default 30; 0 hides them), summed over the files given (one
 * per thread: the main thread, tsx's loader, the SDK's workflow threads).
 * `--skip-ms=N` leaves out each file's first N ms (start-up: tsx compiling, webpack bundling), so what is
 * left is the per-run work; `--inclusive=N` adds the top N functions by inclusive time (self time of
 * everything they called; recursion counted once), to see what a whole code path costs.
 * Usage: npx tsx bench/cpu-profile-summary.ts [--functions=N] [--skip-ms=N] [--inclusive=N] <file.cpuprofile>...
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber?: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function category(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0] ?? ''}`;
  const file = url.replace(/^file:\/\//, '');
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel.split(path.sep).slice(0, 2).join('/');
}

/** `fn (file:line)`, the file relative to the repository or node_modules. */
function functionLabel(n: ProfileNode & { callFrame: { lineNumber?: number } }): string {
  const { functionName, url } = n.callFrame;
  if (!url) return functionName || '(anonymous)';
  const nm = url.lastIndexOf('node_modules/');
  const file =
    nm >= 0 ? url.slice(nm + 'node_modules/'.length) : path.relative(process.cwd(), url.replace(/^file:\/\//, ''));
  return `${functionName || '(anonymous)'} (${file}:${(n.callFrame.lineNumber ?? 0) + 1})`;
}

const printTop = (title: string, totals: Map<string, number>, all: number, top: number) => {
  process.stdout.write(`  ${title}\n`);
  for (const [c, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(
      `  ${((100 * us) / all).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${c}\n`,
    );
  }
};

// Several files (one per thread of a process) are summed: `--cpu-prof` writes one profile per thread.
const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const functionsTop = Number(process.argv.find((a) => a.startsWith('--functions='))?.split('=')[1] ?? 30);
const skipUs = Number(process.argv.find((a) => a.startsWith('--skip-ms='))?.split('=')[1] ?? 0) * 1000;
const inclusiveTop = Number(process.argv.find((a) => a.startsWith('--inclusive='))?.split('=')[1] ?? 0);
const byCategory = new Map<string, number>();
const byFunction = new Map<string, number>();
const inclusive = new Map<string, number>();
let all = 0;
for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  let inFile = 0;
  let t = 0;
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (!n || t < skipUs) return;
    const c = category(n.callFrame.url, n.callFrame.functionName);
    if (c === '(idle)') return;
    byCategory.set(c, (byCategory.get(c) ?? 0) + dt);
    const f = functionLabel(n);
    byFunction.set(f, (byFunction.get(f) ?? 0) + dt);
    inFile += dt;
    if (inclusiveTop > 0) {
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const node = byId.get(at);
        if (!node) break;
        const label = functionLabel(node);
        if (seen.has(label)) continue;
        seen.add(label);
        inclusive.set(label, (inclusive.get(label) ?? 0) + dt);
      }
    }
  });
  all += inFile;
  process.stdout.write(`${path.basename(file)}: ${(inFile / 1000).toFixed(0)} ms of CPU sampled (idle excluded)\n`);
}
process.stdout.write(`all files: ${(all / 1000).toFixed(0)} ms of CPU sampled\n`);
printTop('self time by package / folder / category', byCategory, all, 25);
if (functionsTop > 0) printTop('self time by function', byFunction, all, functionsTop);
if (inclusiveTop > 0) printTop('inclusive time by function', inclusive, all, inclusiveTop);
