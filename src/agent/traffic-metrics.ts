// Per-Service traffic on the metrics port: the kernel's counters in our rules
// (src/backends/<backend>/counters.ts), read when Prometheus scrapes, at most once
// per `minReadIntervalMs` (several scrapers, or the seven metrics of one scrape,
// share one read). Exported as counters that only move forward: a rule or element
// recreated by a full sync starts again from 0, and an offset per series hides it.
// A Service port that no longer has any counter in the kernel loses its series.

import { Counter, type Registry } from 'prom-client';
import { sampleKey, type TrafficKind, type TrafficSample } from '../backends/traffic.js';

const SERVICE_LABELS = ['namespace', 'service', 'port', 'protocol'] as const;

/** The exported metric of each kind: names fixed (the Grafana dashboard is built on them). */
const METRICS: Record<TrafficKind, { name: string; help: string; labels: readonly string[] }> = {
  packets: { name: 'svcplane_service_packets_total', help: 'Packets of a Service port\'s connections, both directions, counted by our rules', labels: SERVICE_LABELS },
  bytes: { name: 'svcplane_service_bytes_total', help: 'Bytes of a Service port\'s connections, both directions, counted by our rules', labels: SERVICE_LABELS },
  new_connections: { name: 'svcplane_service_new_connections_total', help: 'New connections sent to a Service port\'s endpoints (DNATed)', labels: SERVICE_LABELS },
  rejected_packets: { name: 'svcplane_service_rejected_packets_total', help: 'Packets to a Service port refused with a reject, by reason', labels: [...SERVICE_LABELS, 'reason'] },
  dropped_packets: { name: 'svcplane_service_dropped_packets_total', help: 'Packets to a Service port dropped, by reason', labels: [...SERVICE_LABELS, 'reason'] },
  endpoint_packets: { name: 'svcplane_endpoint_packets_total', help: 'Packets of a Service port\'s connections per endpoint', labels: [...SERVICE_LABELS, 'endpoint'] },
  endpoint_bytes: { name: 'svcplane_endpoint_bytes_total', help: 'Bytes of a Service port\'s connections per endpoint', labels: [...SERVICE_LABELS, 'endpoint'] },
};

const portKey = (s: TrafficSample) => [s.namespace, s.service, s.port, s.protocol].join('\u0000');

/**
 * Raw kernel counters -> values that never go backwards. Pure state machine: give it
 * each read, in order. Per series it keeps the last raw value and an offset: a raw
 * value below the last one is a counter that restarted from 0 (its rule was
 * recreated), so the last value joins the offset. A series missing from a read while
 * its Service port still has others (a no-endpoint element gone once endpoints
 * came) keeps its last value; a Service port with no series at all is forgotten.
 */
export class MonotonicTraffic {
  private readonly series = new Map<string, { sample: TrafficSample; raw: number; offset: number }>();

  update(read: readonly TrafficSample[]): TrafficSample[] {
    const present = new Set(read.map(portKey));
    for (const [k, s] of this.series) if (!present.has(portKey(s.sample))) this.series.delete(k);
    for (const r of read) {
      const k = sampleKey(r);
      const have = this.series.get(k);
      if (!have) this.series.set(k, { sample: r, raw: r.value, offset: 0 });
      else this.series.set(k, { sample: r, raw: r.value, offset: r.value < have.raw ? have.offset + have.raw : have.offset });
    }
    return [...this.series.values()].map((s) => ({ ...s.sample, value: s.offset + s.raw }));
  }
}

export interface TrafficMetricsOptions {
  /** Reads the raw counters (the backend's reader, in the agent's namespace). */
  readonly read: () => Promise<TrafficSample[]>;
  /** A scrape within this long of the last read reuses it. Default 5 s. */
  readonly minReadIntervalMs?: number;
  /** Told when a read fails; the scrape then shows the last values. */
  readonly onError?: (e: unknown) => void;
  readonly now?: () => number;
}

/** Registers the seven traffic metrics in `registry`; they read the kernel when collected. */
export function registerTrafficMetrics(registry: Registry, opts: TrafficMetricsOptions): void {
  const now = opts.now ?? Date.now;
  const minInterval = opts.minReadIntervalMs ?? 5000;
  const monotonic = new MonotonicTraffic();
  let last: { at: number; values: Promise<TrafficSample[]> } | undefined;
  let lastGood: TrafficSample[] = [];
  const snapshot = (): Promise<TrafficSample[]> => {
    const t = now();
    if (!last || t - last.at >= minInterval) {
      const values = opts.read().then(
        (raw) => (lastGood = monotonic.update(raw)),
        (e: unknown) => {
          opts.onError?.(e);
          return lastGood;
        },
      );
      last = { at: t, values };
    }
    return last.values;
  };
  for (const [kind, m] of Object.entries(METRICS) as [TrafficKind, (typeof METRICS)[TrafficKind]][]) {
    new Counter({
      name: m.name,
      help: m.help,
      labelNames: m.labels,
      registers: [registry],
      async collect() {
        const values = await snapshot();
        this.reset();
        for (const s of values) {
          if (s.kind !== kind) continue;
          const labels: Record<string, string | number> = { namespace: s.namespace, service: s.service, port: s.port, protocol: s.protocol };
          if (s.reason) labels.reason = s.reason;
          if (s.endpoint) labels.endpoint = s.endpoint;
          this.inc(labels, s.value);
        }
      },
    });
  }
}
