// Small timing helpers shared by the benchmark's measurements and its report.

import { performance } from 'node:perf_hooks';

export async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, performance.now() - t0];
}

/** The q-quantile (0..1) by nearest rank: with n samples, p99 is the max whenever n < 100. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function max(xs: readonly number[]): number {
  return xs.length ? Math.max(...xs) : NaN;
}

/**
 * A distribution-free interval for the median of `xs` (order statistics, no resampling):
 * [x(k), x(n+1-k)] with the largest k whose tails each hold at most 2.5 % of
 * Binomial(n, ½), so at least 95 % coverage; with too few values for that (n < 6),
 * [min, max]. `coverage` is the interval's exact coverage: for n = 12, x(3)..x(10), 96.1 %.
 */
export function medianInterval(xs: readonly number[]): { lo: number; hi: number; coverage: number } {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { lo: NaN, hi: NaN, coverage: 0 };
  let k = 1;
  while (k < Math.ceil(n / 2) && binomialTail(n, k) <= 0.025) k++;
  return { lo: s[k - 1]!, hi: s[n - k]!, coverage: 1 - 2 * binomialTail(n, k - 1) };
}

/** P(Binomial(n, ½) <= m). */
function binomialTail(n: number, m: number): number {
  let p = 0;
  let choose = 1;
  for (let j = 0; j <= m; j++) {
    p += choose / 2 ** n;
    choose = (choose * (n - j)) / (j + 1);
  }
  return p;
}
