// Go durations (metav1.Duration in a KubeProxyConfiguration): "30s", "1m30s", "500ms".

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * Parses a Go duration ("30s", "1m30s", "1.5h", "500ms", "0") into seconds;
 * undefined when it is not one.
 */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const m = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(s);
  if (!m) return undefined;
  let total = 0;
  for (const part of m[2]!.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * UNIT_SECONDS[part[2]!]!;
  }
  // Round away float noise from fractional units (0.1s + 0.2s).
  total = Math.round(total * 1e9) / 1e9;
  return m[1] === '-' ? -total : total;
}
