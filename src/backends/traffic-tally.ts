// The sums of one traffic read, as a reader adds up what the kernel counted: per Service
// port a fixed slot per Service-level kind (packets, bytes, new connections, and the three
// refusals by reason), found by a text that names the port (an element's or rule's comment),
// and the per-endpoint samples by their series. Why not a sample per counted element summed
// by sampleKey at the end: at 44k Services a read made ~130k samples and as many key strings
// to sum them, most for one element each; here a port is one entry and its sums six numbers.

import { sampleKey, trafficComment, trafficSample, type RefusalReason, type ServicePortId, type TrafficKind, type TrafficSample } from './traffic.js';

/** The Service-level series of a port, in slot order (the agent's exporter keeps its state in the same slots). */
export const SLOTS: readonly { readonly kind: TrafficKind; readonly reason?: RefusalReason }[] = [
  { kind: 'packets' },
  { kind: 'bytes' },
  { kind: 'new_connections' },
  { kind: 'rejected_packets', reason: 'no_endpoints' },
  { kind: 'dropped_packets', reason: 'no_local_endpoint' },
  { kind: 'dropped_packets', reason: 'source_range' },
];

/** The slot of a Service-level series; an error for a kind counted per endpoint. */
export function slotOf(kind: TrafficKind, reason?: RefusalReason): number {
  const i = SLOTS.findIndex((s) => s.kind === kind && s.reason === reason);
  if (i < 0) throw new Error(`not a Service-level series: ${kind} ${reason ?? ''}`);
  return i;
}

/** The six Service-level sums of a port (NaN: nothing counted that series in this read). */
export class PortSums {
  readonly sums = [NaN, NaN, NaN, NaN, NaN, NaN];

  /** Adds `value` to the series of `kind` (and `reason`, for refusals); a kind counted per endpoint is not one of these. */
  add(kind: TrafficKind, value: number, reason?: RefusalReason): void {
    const i = slotOf(kind, reason);
    this.sums[i] = Number.isNaN(this.sums[i]!) ? value : this.sums[i]! + value;
  }

  /** Adds every sum of `other` (a reader that learns a port's identity after counting under another name). */
  addAll(other: PortSums): void {
    for (let i = 0; i < SLOTS.length; i++) {
      const v = other.sums[i]!;
      if (!Number.isNaN(v)) this.sums[i] = Number.isNaN(this.sums[i]!) ? v : this.sums[i]! + v;
    }
  }
}

/** One Service port's sums, with its identity. */
export class PortTally extends PortSums {
  constructor(readonly id: ServicePortId) {
    super();
  }
}

export class TrafficTally {
  private readonly ports = new Map<string, PortTally>();
  private readonly endpoints = new Map<string, { -readonly [K in keyof TrafficSample]: TrafficSample[K] }>();

  /**
   * The sums of the port `key` names: any text that always names that one port and no other
   * (a comment label); `id` makes its identity the first time, and an undefined id (the text
   * names no port) gives undefined. Two different keys of one port would give it twice.
   */
  port(key: string, id: () => ServicePortId | undefined): PortTally | undefined {
    let port = this.ports.get(key);
    if (!port) {
      const made = id();
      if (!made) return undefined;
      this.ports.set(key, (port = new PortTally(made)));
    }
    return port;
  }

  /** Any sample: per endpoint by its series, Service-level into its port (keyed by trafficComment, as our elements name it). */
  add(s: TrafficSample): void {
    if (s.endpoint === undefined) {
      this.port(trafficComment({ namespace: s.namespace, name: s.service, port: s.port, protocol: s.protocol }), () => ({ namespace: s.namespace, service: s.service, port: s.port, protocol: s.protocol }))!.add(s.kind, s.value, s.reason);
      return;
    }
    const k = sampleKey(s);
    const have = this.endpoints.get(k);
    if (have) have.value += s.value;
    else this.endpoints.set(k, trafficSample(s, s.kind, s.value, undefined, s.endpoint));
  }

  /** Adds every sum of `other` (a part of a read kept apart until it is known to be whole). */
  addTally(other: TrafficTally): void {
    for (const [key, p] of other.ports) this.port(key, () => p.id)!.addAll(p);
    for (const s of other.endpoints.values()) this.add(s);
  }

  /** Every series counted, one sample each. */
  samples(): TrafficSample[] {
    const out: TrafficSample[] = [];
    for (const p of this.ports.values()) {
      for (let i = 0; i < SLOTS.length; i++) {
        const value = p.sums[i]!;
        if (Number.isNaN(value)) continue;
        const slot = SLOTS[i]!;
        out.push(trafficSample(p.id, slot.kind, value, slot.reason));
      }
    }
    for (const s of this.endpoints.values()) out.push(s);
    return out;
  }
}
