// Per-Service traffic on the metrics port: the kernel's counters in our rules
// (src/backends/<backend>/counters.ts), read when Prometheus scrapes, at most once
// per `minReadIntervalMs` (several scrapers, or the seven metrics of one scrape,
// share one read). Exported as counters that only move forward: a rule or element
// recreated by a full sync starts again from 0, and an offset per series hides it.
// A Service port that no longer has any counter in the kernel loses its series.
// Per-endpoint series are bounded (MAX_ENDPOINT_SERIES endpoints, the rest counted
// in svcplane_endpoint_series_omitted): a node of a big cluster would otherwise
// export one series per endpoint of every Service, which no Prometheus wants. Which
// pairs comes from the input the node enforces (endpoint-series.ts), and the reader is
// told them, so it makes no sample of any other endpoint.

import { Gauge, type Registry } from './prom/index.js';
import type { Collectable } from './prom/registry.js';
import { CHUNK_CHARS, escapeLabelValue, familyHead, formatValue, type MetricFamily, type Sample } from './prom/text.js';
import { ENDPOINT_KINDS, sampleKey, type EndpointFilter, type TrafficKind, type TrafficSample } from '../backends/traffic.js';
import type { RenderInput } from '../model/render-input.js';
import { exportedEndpointPairs, type ExportedEndpointPairs } from './endpoint-series.js';

/** At most this many (Service port, endpoint) pairs get per-endpoint series (README, "Observing the agent"). */
export const MAX_ENDPOINT_SERIES = 2000;

/** The exported metric of each kind: names fixed (the Grafana dashboard is built on them). Labels: namespace, service, port, protocol, then reason (refusals) or endpoint (endpoint_*). */
const METRICS: Record<TrafficKind, { name: string; help: string }> = {
  packets: { name: 'svcplane_service_packets_total', help: 'Packets of a Service port\'s connections, both directions, counted by our rules' },
  bytes: { name: 'svcplane_service_bytes_total', help: 'Bytes of a Service port\'s connections, both directions, counted by our rules' },
  new_connections: { name: 'svcplane_service_new_connections_total', help: 'New connections sent to a Service port\'s endpoints (DNATed)' },
  rejected_packets: { name: 'svcplane_service_rejected_packets_total', help: 'Packets to a Service port refused with a reject, by reason' },
  dropped_packets: { name: 'svcplane_service_dropped_packets_total', help: 'Packets to a Service port dropped, by reason' },
  endpoint_packets: { name: 'svcplane_endpoint_packets_total', help: 'Packets of a Service port\'s connections per endpoint' },
  endpoint_bytes: { name: 'svcplane_endpoint_bytes_total', help: 'Bytes of a Service port\'s connections per endpoint' },
  endpoint_new_connections: { name: 'svcplane_endpoint_new_connections_total', help: 'New connections a Service port sent to each endpoint' },
};

const portKey = (s: TrafficSample) => [s.namespace, s.service, s.port, s.protocol].join('\u0000');
const endpointKey = (s: TrafficSample) => `${portKey(s)}\u0000${s.endpoint ?? ''}`;

/**
 * Keeps the per-endpoint samples of the first `max` (Service port, endpoint) pairs in
 * label order (stable across reads: a pair does not come and go as traffic moves),
 * every Service-level sample, and says how many pairs were left out. Pure.
 */
export function boundEndpointSeries(samples: readonly TrafficSample[], max = MAX_ENDPOINT_SERIES): { samples: TrafficSample[]; omitted: number } {
  const pairs = [...new Set(samples.filter((s) => ENDPOINT_KINDS.has(s.kind)).map(endpointKey))].sort();
  if (pairs.length <= max) return { samples: [...samples], omitted: 0 };
  const kept = new Set(pairs.slice(0, max));
  return { samples: samples.filter((s) => !ENDPOINT_KINDS.has(s.kind) || kept.has(endpointKey(s))), omitted: pairs.length - max };
}

/** One series of the state: its labels and value as exported, and its last raw value and offset. One object for the series' life. */
interface Series {
  readonly namespace: string;
  readonly service: string;
  readonly port: number;
  readonly protocol: string;
  readonly kind: TrafficKind;
  readonly reason?: TrafficSample['reason'];
  readonly endpoint?: string;
  value: number;
  raw: number;
  offset: number;
}

/**
 * Raw kernel counters -> values that never go backwards. Pure state machine: give it
 * each read, in order. Per series it keeps the last raw value and an offset: a raw
 * value below the last one is a counter that restarted from 0 (its rule was
 * recreated), so the last value joins the offset. A series missing from a read while
 * its Service port still has others (a no-endpoint element gone once endpoints
 * came) keeps its last value; a Service port with no series at all is forgotten.
 *
 * Kept per Service port, each series one object that is also what update returns (its value
 * moved in place): at 44k Services there are ~130k series, and a key string per series, a
 * record per series made again at each read and a copy of each for the result held ~20 MB
 * between scrapes. A port's few Service-level series are found by a walk of its list; its
 * per-endpoint ones (up to the exported bound in one port) through a map of their own.
 */
export class MonotonicTraffic {
  private readonly ports = new Map<string, { read: number; series: Series[] }>();
  private readonly endpointSeries = new Map<string, Series>();
  private reads = 0;

  update(read: readonly TrafficSample[]): TrafficSample[] {
    const n = ++this.reads;
    for (const r of read) {
      const k = portKey(r);
      let port = this.ports.get(k);
      if (!port) this.ports.set(k, (port = { read: n, series: [] }));
      port.read = n;
      const have = r.endpoint === undefined ? port.series.find((x) => x.kind === r.kind && x.reason === r.reason && x.endpoint === undefined) : this.endpointSeries.get(sampleKey(r));
      if (have) {
        if (r.value < have.raw) have.offset += have.raw;
        have.raw = r.value;
        have.value = have.offset + have.raw;
        continue;
      }
      // Every field in one literal (reason, endpoint undefined when absent): one shape, a fast object; spread in, each was a
      // dictionary of ~350 bytes.
      const created: Series = { namespace: r.namespace, service: r.service, port: r.port, protocol: r.protocol, kind: r.kind, reason: r.reason, endpoint: r.endpoint, value: r.value, raw: r.value, offset: 0 };
      port.series.push(created);
      if (r.endpoint !== undefined) this.endpointSeries.set(sampleKey(r), created);
    }
    const out: TrafficSample[] = [];
    for (const [k, port] of this.ports) {
      if (port.read !== n) this.forget(k, port.series);
      else for (const x of port.series) out.push(x);
    }
    return out;
  }

  /** Forgets every series that fails `keep` (endpoint pairs no longer exported: else each replaced endpoint stayed while its port lived). */
  retain(keep: (s: TrafficSample) => boolean): void {
    for (const [k, port] of this.ports) {
      const gone = port.series.filter((x) => !keep(x));
      if (gone.length === 0) continue;
      port.series = port.series.filter(keep);
      if (port.series.length === 0) this.ports.delete(k);
      for (const x of gone) if (x.endpoint !== undefined) this.endpointSeries.delete(sampleKey(x));
    }
  }

  private forget(key: string, series: readonly Series[]): void {
    this.ports.delete(key);
    for (const x of series) if (x.endpoint !== undefined) this.endpointSeries.delete(sampleKey(x));
  }
}

export interface TrafficMetricsOptions {
  /** Reads the raw counters (the backend's reader, in the agent's namespace), endpoint samples only of `endpoints` when given. */
  readonly read: (endpoints?: EndpointFilter) => Promise<TrafficSample[]>;
  /**
   * The input the node enforces (the last applied): the exported endpoint pairs are taken from
   * it, and the read is told them. Without one (nothing applied yet, or a caller that has no
   * input), the first pairs of the read are kept.
   */
  readonly input?: () => RenderInput | undefined;
  /** A scrape within this long of the last read reuses it. Default 5 s. */
  readonly minReadIntervalMs?: number;
  /** Told when a read fails; the scrape then shows the last values. */
  readonly onError?: (e: unknown) => void;
  readonly now?: () => number;
}

/** Registers the traffic metrics in `registry`; they read the kernel when collected. */
export function registerTrafficMetrics(registry: Registry, opts: TrafficMetricsOptions): void {
  const now = opts.now ?? Date.now;
  const minInterval = opts.minReadIntervalMs ?? 5000;
  const monotonic = new MonotonicTraffic();
  // The last read: shared while it runs, and reused for `minInterval` after it ended (from its end: a read at
  // 44k Services takes seconds, and the metrics of one scrape are collected one after the other).
  let last: { ended?: number; values: Promise<TrafficSample[]> } | undefined;
  let lastGood: TrafficSample[] = [];
  let omitted = 0;
  // The pairs of the last input, redone when the agent applied another (a read every few seconds, an input per sync).
  let pairs: { input: RenderInput; pairs: ExportedEndpointPairs } | undefined;
  const pairsOf = (input: RenderInput | undefined): ExportedEndpointPairs | undefined => {
    if (!input) return undefined;
    if (pairs?.input !== input) pairs = { input, pairs: exportedEndpointPairs(input, MAX_ENDPOINT_SERIES) };
    return pairs.pairs;
  };
  const snapshot = (): Promise<TrafficSample[]> => {
    const t = now();
    if (!last || (last.ended !== undefined && t - last.ended >= minInterval)) {
      const read: { ended?: number; values: Promise<TrafficSample[]> } = { values: Promise.resolve([]) };
      read.values = (async () => {
        const exported = pairsOf(opts.input?.());
        const raw = await opts.read(exported);
        if (exported) {
          // The reader's filter is loose (Service and endpoint): the exact pairs here, before the
          // monotonic state takes them; and the state forgets pairs no longer exported (it keeps a
          // series gone from a read while its Service port stays: an endpoint replaced, or pushed
          // out of the bound by a new pair that sorts before it).
          const keep = (s: TrafficSample) => !ENDPOINT_KINDS.has(s.kind) || exported.keeps(s);
          omitted = exported.omitted;
          const values = monotonic.update(raw.filter(keep));
          monotonic.retain(keep);
          return (lastGood = values.filter(keep));
        }
        // Bounded before the monotonic state takes them: it keeps a record per series, and a
        // node of 10k Services x 10 endpoints reads 300k per-endpoint samples (three kinds).
        // And after, for the same reason as above.
        const bounded = boundEndpointSeries(raw);
        omitted = bounded.omitted;
        return (lastGood = boundEndpointSeries(monotonic.update(bounded.samples)).samples);
      })()
        .catch((e: unknown) => {
          opts.onError?.(e);
          return lastGood;
        })
        .finally(() => (read.ended = now()));
      last = read;
    }
    return last.values;
  };
  new Gauge({
    name: 'svcplane_endpoint_series_omitted',
    help: `(Service port, endpoint) pairs with no svcplane_endpoint_* series because the node has more than ${MAX_ENDPOINT_SERIES}`,
    registers: [registry],
    async collect() {
      await snapshot();
      this.set(omitted);
    },
  });
  for (const [kind, m] of Object.entries(METRICS) as [TrafficKind, (typeof METRICS)[TrafficKind]][]) {
    registry.registerMetric(trafficFamily(m.name, m.help, kind, snapshot));
  }
}

/**
 * One traffic metric as a scrape collects it: the samples of its kind from the shared read,
 * as series made for this scrape alone. Not a Counter: a Counter keeps a series per label set
 * (a key string, a labels object) from one scrape to the next, ~130k of them at 44k Services.
 * Its text is written straight from the samples (chunks), without a Sample and a labels
 * object per series (get(), for the JSON form and tests, makes them).
 */
function trafficFamily(name: string, help: string, kind: TrafficKind, snapshot: () => Promise<TrafficSample[]>): Collectable {
  return {
    name,
    async get(): Promise<MetricFamily> {
      const values: Sample[] = [];
      for (const s of await snapshot()) if (s.kind === kind) values.push({ labels: labelsOf(s), value: s.value });
      return { name, help, type: 'counter', values };
    },
    async *chunks() {
      const values = await snapshot();
      let piece = familyHead(name, help, 'counter');
      for (const s of values) {
        if (s.kind !== kind) continue;
        if (piece.length >= CHUNK_CHARS) {
          yield `${piece}\n`;
          piece = seriesLine(name, s);
        } else piece += `\n${seriesLine(name, s)}`;
      }
      yield piece;
    },
  };
}

/** The labels of a sample's series, in the order the series always had: the Service port's, then reason or endpoint. */
function labelsOf(s: TrafficSample): Record<string, string | number> {
  const labels: Record<string, string | number> = { namespace: s.namespace, service: s.service, port: s.port, protocol: s.protocol };
  if (s.reason) labels.reason = s.reason;
  if (s.endpoint) labels.endpoint = s.endpoint;
  return labels;
}

/** sampleLine(name, labelsOf(s), s.value), without the labels object. */
function seriesLine(name: string, s: TrafficSample): string {
  const tail = s.reason ? `,reason="${escapeLabelValue(s.reason)}"` : s.endpoint ? `,endpoint="${escapeLabelValue(s.endpoint)}"` : '';
  return `${name}{namespace="${escapeLabelValue(s.namespace)}",service="${escapeLabelValue(s.service)}",port="${s.port}",protocol="${escapeLabelValue(s.protocol)}"${tail}} ${formatValue(s.value)}`;
}
