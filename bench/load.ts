/** Load generation, statistics, CPU accounting and the plot shared by the engine bench's processes. */
import { readdirSync, readFileSync } from 'node:fs';

export type BenchMessage = { kind: 'run'; total: number; concurrency: number } | { kind: 'stop' };
export type BenchReply =
  { kind: 'ready' } | { kind: 'done'; latencies: number[]; elapsedMs: number } | { kind: 'error'; message: string };

/**
 * `total` runs with `concurrency` in flight at all times (a closed loop: each slot starts its next run
 * when the previous one ends). Returns every run's latency (ms) and the wall time of the whole batch.
 */
export async function runClosedLoop(
  total: number,
  concurrency: number,
  one: () => Promise<void>,
): Promise<{ latencies: number[]; elapsedMs: number }> {
  let started = 0;
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (started < total) {
        started++;
        const t = performance.now();
        await one();
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, elapsedMs: performance.now() - t0 };
}

export function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

export function summarize(xs: number[]): LatencySummary {
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    n: xs.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length),
  };
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU time (user + system, all threads) a process has used so far, in ms; NaN when unreadable. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / USER_HZ;
  } catch {
    return NaN;
  }
}

/**
 * CPU ms (user + system) of every live `postgres` process on this machine: the server's backends, the
 * bench's pooled connections among them. Other users of the same server count too, so read it as a
 * difference between batches of the two sides (the baseline uses no database: its figure is the noise).
 */
export function postgresCpuMs(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      if (stat.slice(open + 1, close) !== 'postgres') continue;
      const fields = stat.slice(close + 2).split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
    } catch {
      // the process ended between the listing and the read
    }
  }
  return total;
}

export interface PlotSeries {
  name: string;
  color: string;
  /** x = runs in flight (1 = sequential). */
  points: { x: number; p50: number; p99: number; runsPerSec: number }[];
}

/**
 * Two panels as a standalone SVG: latency (p50 solid, p99 dashed) and runs/s against runs in flight
 * (log scale), one colour per series.
 */
export function plotSvg(title: string, series: PlotSeries[]): string {
  const W = 900;
  const H = 380;
  const panelW = 380;
  const panelH = 260;
  const top = 60;
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const lx = (x: number) => Math.log10(x);
  const xMin = lx(xs[0] ?? 1);
  const xMax = lx(xs[xs.length - 1] ?? 10);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
  ];
  const panel = (left: number, label: string, values: (p: PlotSeries['points'][number]) => number[]) => {
    const all = series.flatMap((s) => s.points.flatMap(values)).filter(Number.isFinite);
    const yMax = niceCeil(Math.max(1, ...all));
    const px = (x: number) => left + ((lx(x) - xMin) / Math.max(1e-9, xMax - xMin)) * panelW;
    const py = (y: number) => top + panelH - (y / yMax) * panelH;
    parts.push(`<rect x="${left}" y="${top}" width="${panelW}" height="${panelH}" fill="none" stroke="#999"/>`);
    parts.push(`<text x="${left + panelW / 2}" y="${top - 8}" text-anchor="middle">${esc(label)}</text>`);
    for (let i = 0; i <= 4; i++) {
      const v = (yMax * i) / 4;
      parts.push(`<line x1="${left}" x2="${left + panelW}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/>`);
      parts.push(`<text x="${left - 6}" y="${py(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
    }
    for (const x of xs) {
      parts.push(`<text x="${px(x)}" y="${top + panelH + 16}" text-anchor="middle">${x === 1 ? '1 (seq)' : x}</text>`);
    }
    parts.push(`<text x="${left + panelW / 2}" y="${top + panelH + 34}" text-anchor="middle">runs in flight</text>`);
    for (const s of series) {
      const pts = [...s.points].sort((a, b) => a.x - b.x);
      const lines = values(pts[0] ?? { x: 1, p50: 0, p99: 0, runsPerSec: 0 }).map((_, k) =>
        pts.map((p) => `${px(p.x).toFixed(1)},${py(values(p)[k] ?? 0).toFixed(1)}`).join(' '),
      );
      lines.forEach((line, k) =>
        parts.push(
          `<polyline points="${line}" fill="none" stroke="${s.color}" stroke-width="2"${k > 0 ? ' stroke-dasharray="6 4"' : ''}/>`,
        ),
      );
      for (const p of pts)
        for (const v of values(p)) parts.push(`<circle cx="${px(p.x)}" cy="${py(v)}" r="3" fill="${s.color}"/>`);
    }
  };
  panel(70, 'latency per run, ms (p50 solid, p99 dashed)', (p) => [p.p50, p.p99]);
  panel(70 + panelW + 70, 'runs per second', (p) => [p.runsPerSec]);
  series.forEach((s, i) => {
    const x = 70 + i * 260;
    parts.push(`<rect x="${x}" y="${H - 22}" width="14" height="4" fill="${s.color}"/>`);
    parts.push(`<text x="${x + 20}" y="${H - 16}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function niceCeil(v: number): number {
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= v) return m * mag;
  return 10 * mag;
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
