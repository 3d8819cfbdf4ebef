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
import { ENDPOINT_KINDS, NO_ENDPOINT, sampleKey, trafficSample, type EndpointFilter, type RefusalReason, type ServicePortId, type TrafficKind, type TrafficSample } from '../backends/traffic.js';
import { SLOTS, slotOf } from '../backends/traffic-tally.js';
import type { RenderInput } from '../model/render-input.js';
import { endpointPairKey, exportedEndpointPairs, type ExportedEndpointPairs } from './endpoint-series.js';

/** At most this many (Service port, endpoint) pairs get per-endpoint series (README, "Observing the agent"). */
export const MAX_ENDPOINT_SERIES = 2000;

/**
 * What the agent exports of its rules' counters (`svcplane agent --traffic-metrics`): per
 * Service port and per endpoint (bounded), per Service port only, or nothing (no read at a
 * scrape). A node counts its own traffic to every Service, so a cluster's series are nodes x
 * Service ports x 3: at 44k Services a node alone has ~130k, and its scrape costs the agent
 * ~60 MiB over its peak (src/agent/README.md, "Session 21"). kube-proxy exports none of these.
 */
export const TRAFFIC_METRICS_LEVELS = ['endpoints', 'services', 'off'] as const;
export type TrafficMetricsLevel = (typeof TRAFFIC_METRICS_LEVELS)[number];

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

/** Every kind, in the order the metrics are registered. */
const TRAFFIC_KINDS = Object.keys(METRICS) as TrafficKind[];

const portKey = (s: TrafficSample) => [s.namespace, s.service, s.port, s.protocol].join('\u0000');

/**
 * Keeps the per-endpoint samples of the first `max` (Service port, endpoint) pairs in
 * label order (stable across reads: a pair does not come and go as traffic moves),
 * every Service-level sample, and says how many pairs were left out. Pure.
 */
export function boundEndpointSeries(samples: readonly TrafficSample[], max = MAX_ENDPOINT_SERIES): { samples: TrafficSample[]; omitted: number } {
  const pairs = [...new Set(samples.filter((s) => ENDPOINT_KINDS.has(s.kind)).map(endpointPairKey))].sort();
  if (pairs.length <= max) return { samples: [...samples], omitted: 0 };
  const kept = new Set(pairs.slice(0, max));
  return { samples: samples.filter((s) => !ENDPOINT_KINDS.has(s.kind) || kept.has(endpointPairKey(s))), omitted: pairs.length - max };
}

/** One per-endpoint series of the state: its labels, its value as exported, its last raw value and offset. */
interface EndpointSeries {
  readonly namespace: string;
  readonly service: string;
  readonly port: number;
  readonly protocol: string;
  readonly kind: TrafficKind;
  readonly reason: undefined;
  readonly endpoint: string;
  value: number;
  raw: number;
  offset: number;
}

/** One Service port of the state: its identity, the read that last had it, per slot (SLOTS) the last raw value (NaN: no such series yet) and offset, its endpoints' series. */
interface PortState {
  readonly namespace: string;
  readonly service: string;
  readonly port: number;
  readonly protocol: string;
  read: number;
  /** Slot i's raw value at 2i, its offset at 2i + 1. */
  readonly values: number[];
  endpoints: EndpointSeries[] | undefined;
}

/** One series as a scrape writes it. */
export interface SeriesView {
  port: ServicePortId;
  value: number;
  reason: RefusalReason | undefined;
  endpoint: string | undefined;
}

/** What a scrape writes: each series of a kind. */
export interface TrafficValues {
  /** The series of `kind`, one view after the other: one object, moved to the next series at each step (use it before asking for the next). */
  each(kind: TrafficKind): Generator<SeriesView, void, undefined>;
}

/**
 * Raw kernel counters -> values that never go backwards. Pure state machine: give it
 * each read, in order. Per series it keeps the last raw value and an offset: a raw
 * value below the last one is a counter that restarted from 0 (its rule was
 * recreated), so the last value joins the offset. A series missing from a read while
 * its Service port still has others (a no-endpoint element gone once endpoints
 * came) keeps its last value; a Service port with no series at all is forgotten.
 *
 * Kept per Service port, its Service-level series as two numbers each in six slots (no object
 * per series), its per-endpoint series (up to the exported bound) as objects also found through
 * a map of their own; the scrape's text is written from it (each). At 44k Services there are
 * ~130k series: a key string, a record and a copy per series held 78 MB between scrapes, an
 * object per series 28 MB (bench/traffic-exporter-memory.ts; src/agent/README.md, "Session 21").
 */
export class MonotonicTraffic implements TrafficValues {
  private readonly ports = new Map<string, PortState>();
  private readonly endpointSeries = new Map<string, EndpointSeries>();
  private reads = 0;

  /** Takes a read; endpoint samples that fail `keepEndpoint` are passed over (not exported). */
  apply(read: readonly TrafficSample[], keepEndpoint: (s: TrafficSample) => boolean = () => true): void {
    const n = ++this.reads;
    for (const r of read) {
      if (r.endpoint !== undefined && !keepEndpoint(r)) continue;
      const k = portKey(r);
      let port = this.ports.get(k);
      if (!port) {
        port = { namespace: r.namespace, service: r.service, port: r.port, protocol: r.protocol, read: n, values: [NaN, 0, NaN, 0, NaN, 0, NaN, 0, NaN, 0, NaN, 0], endpoints: undefined };
        this.ports.set(k, port);
      }
      port.read = n;
      if (r.endpoint === undefined) {
        const i = 2 * slotOf(r.kind, r.reason);
        const raw = port.values[i]!;
        if (r.value < raw) port.values[i + 1]! += raw;
        port.values[i] = r.value;
        continue;
      }
      const key = sampleKey(r);
      const have = this.endpointSeries.get(key);
      if (have) {
        if (r.value < have.raw) have.offset += have.raw;
        have.raw = r.value;
        have.value = have.offset + have.raw;
        continue;
      }
      const created: EndpointSeries = { namespace: r.namespace, service: r.service, port: r.port, protocol: r.protocol, kind: r.kind, reason: undefined, endpoint: r.endpoint, value: r.value, raw: r.value, offset: 0 };
      (port.endpoints ??= []).push(created);
      this.endpointSeries.set(key, created);
    }
    for (const [k, port] of this.ports) if (port.read !== n) this.forget(k, port);
  }

  *each(kind: TrafficKind): Generator<SeriesView, void, undefined> {
    const view: SeriesView = { port: { namespace: '', service: '', port: 0, protocol: '' }, value: 0, reason: undefined, endpoint: undefined };
    if (ENDPOINT_KINDS.has(kind)) {
      for (const port of this.ports.values()) {
        for (const e of port.endpoints ?? []) {
          if (e.kind !== kind) continue;
          view.port = port;
          view.value = e.value;
          view.endpoint = e.endpoint;
          yield view;
        }
      }
      return;
    }
    const slots = SLOTS.flatMap((x, i) => (x.kind === kind ? [i] : []));
    for (const port of this.ports.values()) {
      for (const i of slots) {
        const raw = port.values[2 * i]!;
        if (Number.isNaN(raw)) continue;
        view.port = port;
        view.value = raw + port.values[2 * i + 1]!;
        view.reason = SLOTS[i]!.reason;
        yield view;
      }
    }
  }

  /** Every series as a sample (tests, the JSON form). */
  samples(): TrafficSample[] {
    const out: TrafficSample[] = [];
    for (const kind of TRAFFIC_KINDS) for (const v of this.each(kind)) out.push(trafficSample(v.port, kind, v.value, v.reason, v.endpoint));
    return out;
  }

  /** apply, then samples. */
  update(read: readonly TrafficSample[]): TrafficSample[] {
    this.apply(read);
    return this.samples();
  }

  /** Forgets every per-endpoint series that fails `keep` (pairs no longer exported: else each replaced endpoint stayed while its port lived), and a port left with no series. */
  retainEndpoints(keep: (s: TrafficSample) => boolean): void {
    for (const [k, port] of this.ports) {
      if (!port.endpoints) continue;
      const gone = port.endpoints.filter((x) => !keep(x));
      if (gone.length === 0) continue;
      port.endpoints = port.endpoints.filter(keep);
      for (const x of gone) this.endpointSeries.delete(sampleKey(x));
      if (port.endpoints.length === 0 && port.values.every((v, i) => i % 2 === 1 || Number.isNaN(v))) this.ports.delete(k);
    }
  }

  private forget(key: string, port: PortState): void {
    this.ports.delete(key);
    for (const x of port.endpoints ?? []) this.endpointSeries.delete(sampleKey(x));
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
  /** false: no per-endpoint series (nor svcplane_endpoint_series_omitted), and the reader makes no endpoint sample. Default true. */
  readonly endpoints?: boolean;
  readonly now?: () => number;
}

/** Registers the traffic metrics in `registry`; they read the kernel when collected. */
export function registerTrafficMetrics(registry: Registry, opts: TrafficMetricsOptions): void {
  const now = opts.now ?? Date.now;
  const minInterval = opts.minReadIntervalMs ?? 5000;
  const monotonic = new MonotonicTraffic();
  // The last read: shared while it runs, and reused for `minInterval` after it ended (from its end: a read at
  // 44k Services takes seconds, and the metrics of one scrape are collected one after the other).
  let last: { ended?: number; done: Promise<TrafficValues> } | undefined;
  let omitted = 0;
  // The pairs of the last input, redone when the agent applied another (a read every few seconds, an input per sync).
  let pairs: { input: RenderInput; pairs: ExportedEndpointPairs } | undefined;
  const pairsOf = (input: RenderInput | undefined): ExportedEndpointPairs | undefined => {
    if (!input) return undefined;
    if (pairs?.input !== input) pairs = { input, pairs: exportedEndpointPairs(input, MAX_ENDPOINT_SERIES) };
    return pairs.pairs;
  };
  // The state is what a scrape writes; a failed read leaves it as the last good one left it.
  const snapshot = (): Promise<TrafficValues> => {
    const t = now();
    if (!last || (last.ended !== undefined && t - last.ended >= minInterval)) {
      const read: { ended?: number; done: Promise<TrafficValues> } = { done: Promise.resolve(monotonic) };
      read.done = (async () => {
        if (!perEndpoint) {
          monotonic.apply(await opts.read(NO_ENDPOINT), () => false);
          return monotonic;
        }
        const exported = pairsOf(opts.input?.());
        const raw = await opts.read(exported);
        if (exported) {
          // The reader's filter is loose (Service and endpoint): the exact pairs here, as the state takes
          // the read; and the state forgets pairs no longer exported (it keeps a series gone from a read
          // while its Service port stays: an endpoint replaced, or pushed out of the bound by a new pair
          // that sorts before it).
          omitted = exported.omitted;
          monotonic.apply(raw, exported.keeps);
          monotonic.retainEndpoints(exported.keeps);
          return monotonic;
        }
        // Bounded before the state takes them: a node of 10k Services x 10 endpoints reads 300k
        // per-endpoint samples (three kinds). And after, for the same reason as above.
        const bounded = boundEndpointSeries(raw);
        omitted = bounded.omitted;
        const kept = new Set(bounded.samples.flatMap((x) => (x.endpoint === undefined ? [] : [endpointPairKey(x)])));
        monotonic.apply(bounded.samples);
        monotonic.retainEndpoints((x) => kept.has(endpointPairKey(x)));
        return monotonic;
      })()
        .catch((e: unknown): TrafficValues => {
          opts.onError?.(e);
          return monotonic;
        })
        .finally(() => (read.ended = now()));
      last = read;
    }
    return last.done;
  };
  const perEndpoint = opts.endpoints ?? true;
  if (perEndpoint) new Gauge({
    name: 'svcplane_endpoint_series_omitted',
    help: `(Service port, endpoint) pairs with no svcplane_endpoint_* series because the node has more than ${MAX_ENDPOINT_SERIES}`,
    registers: [registry],
    async collect() {
      await snapshot();
      this.set(omitted);
    },
  });
  for (const [kind, m] of Object.entries(METRICS) as [TrafficKind, (typeof METRICS)[TrafficKind]][]) {
    if (perEndpoint || !ENDPOINT_KINDS.has(kind)) registry.registerMetric(trafficFamily(m.name, m.help, kind, snapshot));
  }
}

/**
 * One traffic metric as a scrape collects it: the samples of its kind from the shared read,
 * as series made for this scrape alone. Not a Counter: a Counter keeps a series per label set
 * (a key string, a labels object) from one scrape to the next, ~130k of them at 44k Services.
 * Its text is written straight from the samples (chunks), without a Sample and a labels
 * object per series (get(), for the JSON form and tests, makes them).
 */
function trafficFamily(name: string, help: string, kind: TrafficKind, snapshot: () => Promise<TrafficValues>): Collectable {
  return {
    name,
    async get(): Promise<MetricFamily> {
      const values: Sample[] = [];
      for (const v of (await snapshot()).each(kind)) values.push({ labels: labelsOf(v), value: v.value });
      return { name, help, type: 'counter', values };
    },
    async *chunks() {
      const values = await snapshot();
      let piece = familyHead(name, help, 'counter');
      for (const v of values.each(kind)) {
        if (piece.length >= CHUNK_CHARS) {
          yield `${piece}\n`;
          piece = seriesLine(name, v);
        } else piece += `\n${seriesLine(name, v)}`;
      }
      yield piece;
    },
  };
}

/** The labels of a series, in the order the series always had: the Service port's, then reason or endpoint. */
function labelsOf(v: SeriesView): Record<string, string | number> {
  const labels: Record<string, string | number> = { namespace: v.port.namespace, service: v.port.service, port: v.port.port, protocol: v.port.protocol };
  if (v.reason) labels.reason = v.reason;
  if (v.endpoint) labels.endpoint = v.endpoint;
  return labels;
}

/** sampleLine(name, labelsOf(v), v.value), without the labels object. */
function seriesLine(name: string, v: SeriesView): string {
  const p = v.port;
  const tail = v.reason ? `,reason="${escapeLabelValue(v.reason)}"` : v.endpoint ? `,endpoint="${escapeLabelValue(v.endpoint)}"` : '';
  return `${name}{namespace="${escapeLabelValue(p.namespace)}",service="${escapeLabelValue(p.service)}",port="${p.port}",protocol="${escapeLabelValue(p.protocol)}"${tail}} ${formatValue(v.value)}`;
}
