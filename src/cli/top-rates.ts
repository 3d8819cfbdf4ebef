// `svcplane top`'s arithmetic: two reads of the traffic counters some seconds apart
// -> one row per Service port with its rates, busiest first. Pure.

import { sumSamples, type ServicePortId, type TrafficKind, type TrafficSample } from '../backends/traffic.js';

export interface TopRow extends ServicePortId {
  readonly packetsPerSecond: number;
  readonly bytesPerSecond: number;
  readonly newConnectionsPerSecond: number;
  readonly rejectedPerSecond: number;
  readonly droppedPerSecond: number;
  /** The counters at the second read (since the rules were loaded). */
  readonly packets: number;
  readonly bytes: number;
  readonly newConnections: number;
}

const portKey = (s: ServicePortId) => `${s.namespace}/${s.service}:${s.port}/${s.protocol}`;

/** Per Service port, the value of each kind (reasons and endpoints added up). */
function perPort(samples: readonly TrafficSample[]): Map<string, { id: ServicePortId; v: Partial<Record<TrafficKind, number>> }> {
  const out = new Map<string, { id: ServicePortId; v: Partial<Record<TrafficKind, number>> }>();
  for (const s of sumSamples(samples.map(({ reason: _r, endpoint: _e, ...rest }) => rest))) {
    const k = portKey(s);
    const row = out.get(k) ?? { id: { namespace: s.namespace, service: s.service, port: s.port, protocol: s.protocol }, v: {} };
    row.v[s.kind] = s.value;
    out.set(k, row);
  }
  return out;
}

/**
 * Rates between `before` and `after`, `seconds` apart, busiest first (packets, then
 * bytes, new connections, refusals, then name: a backend without packet counters
 * still ranks by connections). A counter that went down was recreated: its
 * rate counts from 0.
 */
export function topRows(before: readonly TrafficSample[], after: readonly TrafficSample[], seconds: number): TopRow[] {
  const a = perPort(before);
  const rows: TopRow[] = [];
  for (const [k, { id, v }] of perPort(after)) {
    const was = a.get(k)?.v ?? {};
    const rate = (kind: TrafficKind) => {
      const now = v[kind] ?? 0;
      const then = was[kind] ?? 0;
      return (now >= then ? now - then : now) / seconds;
    };
    rows.push({
      ...id,
      packetsPerSecond: rate('packets'),
      bytesPerSecond: rate('bytes'),
      newConnectionsPerSecond: rate('new_connections'),
      rejectedPerSecond: rate('rejected_packets'),
      droppedPerSecond: rate('dropped_packets'),
      packets: v.packets ?? 0,
      bytes: v.bytes ?? 0,
      newConnections: v.new_connections ?? 0,
    });
  }
  return rows.sort(
    (x, y) =>
      y.packetsPerSecond - x.packetsPerSecond ||
      y.bytesPerSecond - x.bytesPerSecond ||
      y.newConnectionsPerSecond - x.newConnectionsPerSecond ||
      y.rejectedPerSecond + y.droppedPerSecond - (x.rejectedPerSecond + x.droppedPerSecond) ||
      portKey(x).localeCompare(portKey(y)),
  );
}

/** The rows as a table for a terminal, like `kubectl top`. */
export function formatTop(rows: readonly TopRow[], limit: number): string {
  const head = ['NAMESPACE', 'SERVICE', 'PORT', 'PACKETS/S', 'BYTES/S', 'CONNS/S', 'REJECTED/S', 'DROPPED/S'];
  const n = (x: number) => (Number.isInteger(x) || x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const body = rows.slice(0, limit).map((r) => [r.namespace, r.service, `${r.port}/${r.protocol}`, n(r.packetsPerSecond), n(r.bytesPerSecond), n(r.newConnectionsPerSecond), n(r.rejectedPerSecond), n(r.droppedPerSecond)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  return [head, ...body].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('   ').trimEnd()).join('\n') + '\n';
}
