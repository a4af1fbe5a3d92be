/**
 * Summarizes `--cpu-prof` profiles (as written with BENCH_CPU_PROF): self time per package
 * (`node_modules/<pkg>`), per repository folder, or per V8/Node category, largest first.
 * Usage: npx tsx bench/cpu-profile-summary.ts <file.cpuprofile>...
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
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

for (const file of process.argv.slice(2)) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    const dt = p.timeDeltas[i] ?? 0;
    if (!n) return;
    const c = category(n.callFrame.url, n.callFrame.functionName);
    if (c === '(idle)') return;
    totals.set(c, (totals.get(c) ?? 0) + dt);
    all += dt;
  });
  process.stdout.write(`${path.basename(file)}: ${(all / 1000).toFixed(0)} ms of CPU sampled (idle excluded)\n`);
  for (const [c, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    process.stdout.write(`  ${((100 * us) / all).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${c}\n`);
  }
}
