// The address plan of the one-machine cluster: pure numbers, no I/O. IPv4 only (the
// single-node e2e suite covers dual stack; what this testbed adds is many nodes).
//
//   underlay   172.20.0.0/16   API server 172.20.0.2, external client 172.20.0.3,
//                              node i (1-based) 172.20.1.i
//   pods       10.244.i.0/24   on node i; its bridge 10.244.i.1, pods 10.244.i.10, .11, ...
//   Services   10.96.0.0/16

export const UNDERLAY = { prefixLen: 16, apiIP: '172.20.0.2', externalIP: '172.20.0.3', cidr: '172.20.0.0/16' } as const;
export const CLUSTER_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/16';
/** Where the API server listens (on the underlay, reachable from every node namespace). */
export const API_PORT = 6443;
/** Host part of a node's first pod. */
export const FIRST_POD_HOST = 10;
/** Node indexes are 1..MAX_NODES: the third octet of the node's pod CIDR and underlay address. */
export const MAX_NODES = 240;

export interface NodePlan {
  readonly name: string;
  readonly index: number;
  /** InternalIP, on the underlay. */
  readonly ip: string;
  readonly podCIDR: string;
  readonly bridgeIP: string;
  readonly bridgeMAC: string;
  readonly zone: string;
}

export interface PodPlan {
  readonly name: string;
  readonly node: string;
  readonly ip: string;
  /** Host part of its address; also names its veth on the node (veth<host>). */
  readonly host: number;
}

export function nodePlan(index: number, zones: readonly string[]): NodePlan {
  if (!Number.isInteger(index) || index < 1 || index > MAX_NODES) throw new Error(`node index ${index} outside 1..${MAX_NODES}`);
  if (zones.length === 0) throw new Error('at least one zone');
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return {
    name: `node${index}`,
    index,
    ip: `172.20.1.${index}`,
    podCIDR: `10.244.${index}.0/24`,
    bridgeIP: `10.244.${index}.1`,
    // Fixed, so adding a pod never changes the gateway's MAC under the other pods.
    bridgeMAC: `02:00:0a:f4:${hex(index)}:01`,
    // Round robin: node1 -> zones[0], node2 -> zones[1], ...
    zone: zones[(index - 1) % zones.length]!,
  };
}

export function podPlan(node: NodePlan, ordinal: number): PodPlan {
  const host = FIRST_POD_HOST + ordinal;
  if (host > 250) throw new Error(`pod ${ordinal} on ${node.name}: no room in ${node.podCIDR}`);
  return { name: `n${node.index}p${ordinal + 1}`, node: node.name, ip: `10.244.${node.index}.${host}`, host };
}

/** The k-th Service address (k from 0), skipping .0 and .1 of the range. */
export function serviceIP(k: number): string {
  const n = k + 2;
  if (n > 65_533) throw new Error(`service ${k}: outside ${SERVICE_CIDR}`);
  return `10.96.${n >> 8}.${n & 255}`;
}
