// Small SVG charts for BENCHMARKS.md, drawn from the benchmark's own results: a line
// chart (one line per series over a numeric x axis) and a grouped bar chart (one group
// per category, one bar per series). Pure and deterministic: same data, same bytes;
// no dependencies, no fonts to load, numbers printed with fixed decimals.

export interface Point {
  x: number;
  y: number;
}

export interface LineSeries {
  name: string;
  points: readonly Point[];
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
}

export interface BarSeries {
  name: string;
  /** One value per category; null where there is none (drawn as a gap). */
  values: readonly (number | null)[];
}

export interface BarChart {
  title: string;
  yLabel: string;
  categories: readonly string[];
  series: readonly BarSeries[];
  logY?: boolean;
  width?: number;
  height?: number;
}

/** Colour-blind-safe palette (Okabe–Ito), in series order. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
const M = { left: 70, right: 20, top: 40, bottom: 80 };

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const f = (n: number) => n.toFixed(1);

/** A compact tick label: 1500 → "1.5k", 0.25 → "0.25", 30000 → "30k". */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  const trim = (x: number, d: number) => String(Number(x.toFixed(d)));
  if (a >= 1e6) return `${trim(v / 1e6, 1)}M`;
  if (a >= 1e3) return `${trim(v / 1e3, 1)}k`;
  if (a >= 1 || a === 0) return trim(v, 1);
  return trim(v, 3);
}

interface Axis {
  min: number;
  max: number;
  log: boolean;
  ticks: number[];
}

/** Ticks 1/2/5 × 10^k over [lo, hi] (linear axes start at 0), or powers of ten (log axes). */
export function axis(values: readonly number[], log: boolean): Axis {
  const vs = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (log) {
    const lo = vs.length ? Math.min(...vs) : 1;
    const hi = vs.length ? Math.max(...vs) : 10;
    const a = Math.floor(Math.log10(lo));
    let b = Math.ceil(Math.log10(hi));
    if (b === a) b = a + 1;
    const ticks = [];
    for (let e = a; e <= b; e++) ticks.push(10 ** e);
    return { min: 10 ** a, max: 10 ** b, log, ticks };
  }
  const hi = vs.length ? Math.max(0, ...vs) : 1;
  const raw = (hi || 1) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const top = Math.ceil((hi || 1) / step) * step;
  const ticks = [];
  for (let i = 0; i * step <= top + step / 2; i++) ticks.push(Number((i * step).toPrecision(12)));
  return { min: 0, max: top, log, ticks };
}

/** Where value v lands on an axis of length `len` (0 at min, len at max). */
export function scale(ax: Axis, v: number, len: number): number {
  if (ax.log) return ((Math.log10(v) - Math.log10(ax.min)) / (Math.log10(ax.max) - Math.log10(ax.min))) * len;
  return ((v - ax.min) / (ax.max - ax.min)) * len;
}

function frame(w: number, h: number, title: string, yLabel: string, yAx: Axis, body: string[], legend: readonly string[]): string {
  const pw = w - M.left - M.right;
  const ph = h - M.top - M.bottom;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${w}" height="${h}" fill="#ffffff"/>`);
  out.push(`<text x="${f(w / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  for (const t of yAx.ticks) {
    const y = M.top + ph - scale(yAx, t, ph);
    out.push(`<line x1="${M.left}" y1="${f(y)}" x2="${M.left + pw}" y2="${f(y)}" stroke="#dddddd"/>`);
    out.push(`<text x="${M.left - 6}" y="${f(y + 4)}" text-anchor="end">${escapeXml(tickLabel(t))}</text>`);
  }
  out.push(`<text x="16" y="${f(M.top + ph / 2)}" text-anchor="middle" transform="rotate(-90 16 ${f(M.top + ph / 2)})">${escapeXml(yLabel)}</text>`);
  out.push(`<line x1="${M.left}" y1="${M.top + ph}" x2="${M.left + pw}" y2="${M.top + ph}" stroke="#333333"/>`);
  out.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + ph}" stroke="#333333"/>`);
  out.push(...body);
  // Legend entries share the width below the plot (at most 170 px each).
  const step = Math.min(170, (w - M.left - 10) / Math.max(1, legend.length));
  legend.forEach((name, i) => {
    const x = M.left + i * step;
    const y = h - 14;
    out.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`);
    out.push(`<text x="${x + 18}" y="${y}">${escapeXml(name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function lineChartSvg(c: LineChart): string {
  const w = c.width ?? 760;
  const h = c.height ?? 360;
  const pw = w - M.left - M.right;
  const ph = h - M.top - M.bottom;
  const usable = (p: Point) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!c.logX || p.x > 0) && (!c.logY || p.y > 0);
  const pts = c.series.flatMap((s) => s.points.filter(usable));
  const xAx = axis(pts.map((p) => p.x), c.logX ?? false);
  const yAx = axis(pts.map((p) => p.y), c.logY ?? false);
  const body: string[] = [];
  for (const t of xAx.ticks) {
    const x = M.left + scale(xAx, t, pw);
    body.push(`<line x1="${f(x)}" y1="${M.top + ph}" x2="${f(x)}" y2="${M.top + ph + 4}" stroke="#333333"/>`);
    body.push(`<text x="${f(x)}" y="${M.top + ph + 18}" text-anchor="middle">${escapeXml(tickLabel(t))}</text>`);
  }
  body.push(`<text x="${f(M.left + pw / 2)}" y="${M.top + ph + 38}" text-anchor="middle">${escapeXml(c.xLabel)}</text>`);
  c.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const xy = s.points.filter(usable).map((p) => [M.left + scale(xAx, p.x, pw), M.top + ph - scale(yAx, p.y, ph)] as const);
    if (xy.length > 1) body.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${xy.map(([x, y]) => `${f(x)},${f(y)}`).join(' ')}"/>`);
    for (const [x, y] of xy) body.push(`<circle cx="${f(x)}" cy="${f(y)}" r="3.5" fill="${color}"/>`);
  });
  return frame(w, h, c.title, c.yLabel, yAx, body, c.series.map((s) => s.name));
}

export function barChartSvg(c: BarChart): string {
  const w = c.width ?? 760;
  const h = c.height ?? 360;
  const pw = w - M.left - M.right;
  const ph = h - M.top - M.bottom;
  const usable = (v: number | null): v is number => v !== null && Number.isFinite(v) && (!c.logY || v > 0);
  const yAx = axis(c.series.flatMap((s) => s.values.filter(usable)), c.logY ?? false);
  const body: string[] = [];
  const group = pw / Math.max(1, c.categories.length);
  const bar = (group * 0.8) / Math.max(1, c.series.length);
  c.categories.forEach((cat, ci) => {
    const gx = M.left + ci * group;
    body.push(`<text x="${f(gx + group / 2)}" y="${M.top + ph + 18}" text-anchor="middle">${escapeXml(cat)}</text>`);
    c.series.forEach((s, si) => {
      const v = s.values[ci] ?? null;
      const x = gx + group * 0.1 + si * bar;
      if (!usable(v)) {
        body.push(`<text x="${f(x + bar / 2)}" y="${M.top + ph - 4}" text-anchor="middle" font-size="9" fill="#888888">–</text>`);
        return;
      }
      // On a log axis, bars grow from the axis minimum.
      const top = scale(yAx, v, ph);
      body.push(`<rect x="${f(x)}" y="${f(M.top + ph - top)}" width="${f(bar * 0.9)}" height="${f(top)}" fill="${PALETTE[si % PALETTE.length]}"/>`);
    });
  });
  return frame(w, h, c.title, c.yLabel, yAx, body, c.series.map((s) => s.name));
}
