// A registry of metrics, one per agent (no process-global state: tests build several).
// The agent's metrics went through prom-client before; this keeps the part of its API
// the agent and its tests use (metrics(), getMetricsAsJSON(), contentType) and its text.

import { CONTENT_TYPE, familyChunks, familyText, type MetricFamily } from './text.js';

/** What the registry asks of a metric: its name and its family when collected. */
export interface Collectable {
  readonly name: string;
  get(): Promise<MetricFamily>;
  /**
   * The family's text as familyChunks would write get()'s family, made without it: no Sample
   * and labels object per series for a metric of ~44k series (the traffic metrics at 44k
   * Services), whose text is written straight from what it keeps.
   */
  chunks?(): AsyncGenerator<string, void, undefined>;
}

export class Registry {
  private readonly byName = new Map<string, Collectable>();

  get contentType(): string {
    return CONTENT_TYPE;
  }

  registerMetric(metric: Collectable): void {
    const had = this.byName.get(metric.name);
    if (had && had !== metric) throw new Error(`A metric with the name ${metric.name} has already been registered.`);
    this.byName.set(metric.name, metric);
  }

  /** Every metric collected (concurrently: a metric's collect may read the kernel), in registration order. */
  getMetricsAsJSON(): Promise<MetricFamily[]> {
    return Promise.all([...this.byName.values()].map((m) => m.get()));
  }

  /** The text exposition: families apart by a blank line, a newline at the end. */
  async metrics(): Promise<string> {
    return `${(await this.getMetricsAsJSON()).map(familyText).join('\n\n')}\n`;
  }

  /**
   * The same text in pieces (what /metrics sends): the metrics collected one after the
   * other, each written and let go before the next is collected. At 44k Services the
   * traffic metrics are ~130k series: collected at once and joined, a scrape held every
   * family's samples, their lines and 14 MB of text twice (string, then the response's
   * buffer). One after the other, a collector that reads the kernel (traffic, rule
   * counters) no longer overlaps another's read; they take turns.
   */
  async *chunks(): AsyncGenerator<string, void, undefined> {
    let first = true;
    for (const m of this.byName.values()) {
      if (m.chunks) {
        const pieces = m.chunks();
        // Collected before the separator is written, as get() is: a failure answers 500 if nothing was sent yet.
        const head = await pieces.next();
        if (!first) yield '\n\n';
        first = false;
        if (!head.done) yield head.value;
        yield* pieces;
        continue;
      }
      const family = await m.get();
      if (!first) yield '\n\n';
      first = false;
      yield* familyChunks(family);
    }
    yield '\n';
  }
}
