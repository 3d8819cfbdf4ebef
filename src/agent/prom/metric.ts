// Counters and gauges, each a family of series keyed by their label values. The API is
// the part of prom-client's the agent used (inc, set, reset, get, collect), so its
// call sites stayed as they were; the behaviour follows prom-client's where a scrape
// shows it: an unlabelled counter or gauge prints 0 before any value, a series keeps
// the label order it was first given (a gauge's `set` takes the latest), a label not
// declared is an error.

import type { Registry } from './registry.js';
import type { LabelValue, MetricFamily, Sample } from './text.js';

export type LabelsOf<T extends string> = Partial<Record<T, LabelValue>>;

export interface MetricConfig<T extends string, M = unknown> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly T[];
  /** Registries to add it to; none by default (there is no global registry). */
  readonly registers?: readonly Registry[];
  /** Called with the metric as `this` before each collection (a scrape), to set its values. */
  collect?(this: M): void | Promise<void>;
}

/** The series key: the declared labels' values in name order; a label not declared throws. */
export function seriesKey(declared: readonly string[], sorted: readonly string[], labels: Readonly<Record<string, LabelValue | undefined>>): string {
  for (const k in labels) {
    if (!declared.includes(k)) throw new Error(`Added label "${k}" is not included in initial labelset: ${JSON.stringify(declared)}`);
  }
  let key = '';
  for (const k of sorted) {
    const v = labels[k];
    if (v !== undefined) key += `${k}\u0000${String(v)}\u0001`;
  }
  return key;
}

interface Series {
  labels: Record<string, LabelValue>;
  value: number;
}

/** Base of Counter and Gauge: the series, the label check, collection. */
export abstract class Metric<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  protected series = new Map<string, Series>();
  private readonly sortedNames: readonly string[];
  private readonly collector: (() => void | Promise<void>) | undefined;
  abstract readonly type: 'counter' | 'gauge';

  constructor(config: MetricConfig<T, never>) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames ?? [];
    this.sortedNames = [...this.labelNames].sort();
    this.collector = config.collect as (() => void | Promise<void>) | undefined;
    this.reset();
    for (const r of config.registers ?? []) r.registerMetric(this);
  }

  /** Every series dropped; an unlabelled metric is back at 0. */
  reset(): void {
    this.series = new Map();
    if (this.labelNames.length === 0) this.series.set('', { labels: {}, value: 0 });
  }

  async get(): Promise<MetricFamily> {
    if (this.collector) await this.collector.call(this);
    const values: Sample[] = [...this.series.values()].map((s) => ({ value: s.value, labels: s.labels }));
    return { name: this.name, help: this.help, type: this.type, values };
  }

  protected key(labels: LabelsOf<T>): string {
    return seriesKey(this.labelNames, this.sortedNames, labels);
  }

  protected add(labels: LabelsOf<T>, delta: number): void {
    const k = this.key(labels);
    const s = this.series.get(k);
    if (s) s.value += delta;
    else this.series.set(k, { labels: { ...labels } as Record<string, LabelValue>, value: delta });
  }
}

/** Splits prom-client's `(labels?, value?)` arguments. */
function args<T extends string>(a: LabelsOf<T> | number | undefined, b: number | undefined): [LabelsOf<T>, number | undefined] {
  return typeof a === 'object' && a !== null ? [a, b] : [{}, a];
}

export class Counter<T extends string = string> extends Metric<T> {
  readonly type = 'counter';

  constructor(config: MetricConfig<T, Counter<T>>) {
    super(config as MetricConfig<T, never>);
  }

  inc(labels?: LabelsOf<T> | number, value?: number): void {
    const [l, v = 1] = args(labels, value);
    if (!Number.isFinite(v)) throw new TypeError(`Value is not a valid number: ${String(v)}`);
    if (v < 0) throw new Error('It is not possible to decrease a counter');
    this.add(l, v);
  }
}

export class Gauge<T extends string = string> extends Metric<T> {
  readonly type = 'gauge';

  constructor(config: MetricConfig<T, Gauge<T>>) {
    super(config as MetricConfig<T, never>);
  }

  set(labels: LabelsOf<T> | number, value?: number): void {
    const [l, v] = args(labels, value);
    if (typeof v !== 'number') throw new TypeError(`Value is not a valid number: ${String(v)}`);
    this.series.set(this.key(l), { labels: { ...l } as Record<string, LabelValue>, value: v });
  }

  inc(labels?: LabelsOf<T> | number, value?: number): void {
    const [l, v = 1] = args(labels, value);
    this.add(l, v);
  }

  dec(labels?: LabelsOf<T> | number, value?: number): void {
    const [l, v = 1] = args(labels, value);
    this.add(l, -v);
  }
}
