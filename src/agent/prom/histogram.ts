// A histogram: per series, counts per upper bound, a sum and a count, printed as
// prom-client printed them (the agent used it before): cumulative `_bucket` lines with
// `le` first, then `+Inf`, `_sum` and `_count` with the series' labels. An unlabelled
// histogram prints its zeros before any observation.

import { seriesKey, type LabelsOf, type MetricConfig } from './metric.js';
import type { LabelValue, MetricFamily, Sample } from './text.js';

/** prom-client's default buckets, for a histogram given none. */
const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  readonly labels: Record<string, LabelValue>;
  /** Per bound, not cumulative; observations over the last bound only in `count`. */
  readonly counts: number[];
  sum: number;
  count: number;
}

export class Histogram<T extends string = string> {
  readonly type = 'histogram';
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  readonly buckets: readonly number[];
  private readonly sortedNames: readonly string[];
  private series = new Map<string, Series>();

  constructor(config: MetricConfig<T> & { readonly buckets?: readonly number[] }) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames ?? [];
    if (this.labelNames.includes('le' as T)) throw new Error('le is a reserved label keyword');
    this.sortedNames = [...this.labelNames].sort();
    this.buckets = [...(config.buckets ?? DEFAULT_BUCKETS)];
    if (this.labelNames.length === 0) this.series.set('', this.fresh({}));
    for (const r of config.registers ?? []) r.registerMetric(this);
  }

  observe(labels: LabelsOf<T> | number, value?: number): void {
    const [l, v] = typeof labels === 'object' ? [labels, value] : [{}, labels];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`Value is not a valid number: ${String(v)}`);
    const k = this.key(l);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = this.fresh(l)));
    const i = this.buckets.findIndex((b) => v <= b);
    if (i >= 0) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }

  /** Every series dropped (an unlabelled one too, as prom-client did). */
  reset(): void {
    this.series = new Map();
  }

  async get(): Promise<MetricFamily> {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        acc += s.counts[i]!;
        values.push({ labels: { le: this.buckets[i]!, ...s.labels }, value: acc, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucket });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values };
  }

  private fresh(labels: LabelsOf<T>): Series {
    return { labels: { ...labels } as Record<string, LabelValue>, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  private key(labels: LabelsOf<T>): string {
    return seriesKey(this.labelNames, this.sortedNames, labels);
  }
}
