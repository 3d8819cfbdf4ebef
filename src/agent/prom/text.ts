// The Prometheus text exposition format 0.0.4, the few rules the agent's metrics need:
// HELP text escaped (backslash, newline), label values escaped (also the double quote),
// values as JavaScript prints numbers with NaN and the infinities spelled out. Written
// to give the bytes prom-client gave (the agent used it before), so that a scrape
// reads the same: `le` before the series' own labels, "Nan" as prom-client spelled it.

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type LabelValue = string | number;
export type Labels = Readonly<Record<string, LabelValue>>;

/** One sample of a family: its line name (a histogram's `_bucket`, `_sum`, `_count`) when not the family's. */
export interface Sample {
  readonly labels: Labels;
  readonly value: number;
  readonly metricName?: string;
}

/** What a metric reports when collected (prom-client's `get()` shape, which tests read). */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly values: readonly Sample[];
}

export function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function escapeLabelValue(v: LabelValue): string {
  return typeof v === 'string' ? escapeHelp(v).replace(/"/g, '\\"') : String(v);
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** `name{a="x",b="y"} value`, labels in the object's own order; no braces without labels. */
export function sampleLine(name: string, labels: Labels, value: number): string {
  const parts: string[] = [];
  for (const k in labels) parts.push(`${k}="${escapeLabelValue(labels[k]!)}"`);
  return `${name}${parts.length ? `{${parts.join(',')}}` : ''} ${formatValue(value)}`;
}

/** A family's HELP and TYPE lines (no trailing newline). */
export function familyHead(name: string, help: string, type: MetricFamily['type']): string {
  return `# HELP ${escapeHelp(name)} ${escapeHelp(help)}\n# TYPE ${escapeHelp(name)} ${type}`;
}

/** A family's lines: HELP, TYPE, then one per sample (no trailing newline). */
export function familyText(f: MetricFamily): string {
  const lines = [familyHead(f.name, f.help, f.type)];
  for (const s of f.values) lines.push(sampleLine(s.metricName ?? f.name, s.labels, s.value));
  return lines.join('\n');
}

/** About how many characters a piece of familyChunks holds: a scrape is sent in pieces this size, never whole. */
export const CHUNK_CHARS = 64 * 1024;

/**
 * familyText in pieces of about `size` characters, each ending with a newline (the last
 * without, like familyText), made as they are asked for: a family of 44k series is ~5 MB
 * of text, and whole it was held with its lines beside it.
 */
export function* familyChunks(f: MetricFamily, size = CHUNK_CHARS): Generator<string, void, undefined> {
  let piece = familyHead(f.name, f.help, f.type);
  for (const s of f.values) {
    if (piece.length >= size) {
      yield `${piece}\n`;
      piece = sampleLine(s.metricName ?? f.name, s.labels, s.value);
    } else piece += `\n${sampleLine(s.metricName ?? f.name, s.labels, s.value)}`;
  }
  yield piece;
}

