// The e2e world: two "node" namespaces with a bridge of pods each, linked to each other,
// and an "external host" behind node1. Dual-stack. See test/e2e/README.md for the picture.
//
// createTopology builds it and returns handles (namespace names, addresses) for every host;
// withTopology always tears it down. Pods can be added and removed on a live topology.

import type { NodeContext } from '../../../src/model/node.js';
import {
  EXTERNAL_LINK,
  FIRST_POD_INDEX,
  LAST_POD_INDEX,
  NODE_LINK,
  NODE_PLAN,
  podAddresses,
  type NodeAddressPlan,
  type NodeName,
} from './addresses.js';
import { createNetns, deleteNetns, ip, RUN_PREFIX, setSysctls, waitLinksReady } from './netns.js';
import { assertTestbedPrerequisites } from './preflight.js';
import { DEFAULT_SERVER_PORTS, startEchoServer, type EchoServer, type ServerPorts } from './servers.js';
import { BEST_EFFORT_SYSCTLS, HOST_SYSCTLS, NODE_SYSCTLS } from './sysctls.js';

export type { NodeName } from './addresses.js';

export interface Host {
  /** 'node1', 'node2', 'external', or the pod's name. */
  readonly name: string;
  /** Network namespace (use with `ip netns exec`, `ip -n`). */
  readonly ns: string;
  readonly role: 'node' | 'pod' | 'external';
  /** Node the host runs on (a node is on itself); null for the external host. */
  readonly node: NodeName | null;
  /** Main addresses: a pod's pod IPs, a node's InternalIPs, the external host's link addresses. */
  readonly ipv4: string;
  readonly ipv6: string;
}

export interface NodeHost extends Host {
  readonly role: 'node';
  readonly node: NodeName;
  readonly plan: NodeAddressPlan;
  /** node1 only: its addresses on the external host's link (192.168.50.1, fd00:50::1). */
  readonly externalIPv4: string | null;
  readonly externalIPv6: string | null;
  /** The node as a renderer sees it: name, addresses (InternalIPs, then ExternalIPs), pod CIDRs. */
  readonly context: NodeContext;
}

export interface Pod extends Host {
  readonly role: 'pod';
  readonly node: NodeName;
  /** Host part of its addresses (10 => 10.244.N.10, fd00:244:N::10). */
  readonly index: number;
  /** Its veth's name in the node namespace (a br0 port). */
  readonly hostIfname: string;
  /** Its echo server, answering with the pod's name; null if started without one. */
  readonly server: EchoServer | null;
}

export interface PodSpec {
  /** Default n1p1, n1p2, ... on node1, n2p1, ... on node2. [A-Za-z0-9-], at most 40 characters. */
  readonly name?: string;
  /** Host index for the addresses (10..250); default: one above the highest used so far on that node. */
  readonly index?: number;
  /** Start an echo server (named like the pod): true (default ports), false, or the ports. */
  readonly server?: boolean | ServerPorts;
}

export interface TopologyOptions {
  /** Pods per node: a count or specs. Default: 2 on node1, 1 on node2. */
  readonly pods?: { readonly node1?: number | readonly PodSpec[]; readonly node2?: number | readonly PodSpec[] };
  /** Ports of pods' echo servers when `server` is true/unset (default TCP and UDP 80, 8080). */
  readonly serverPorts?: ServerPorts;
}

export interface Topology {
  /** Prefix of every namespace of this topology. */
  readonly prefix: string;
  readonly node1: NodeHost;
  readonly node2: NodeHost;
  readonly external: Host;
  /** Live pods: node1's first, each node's in address order. */
  readonly pods: readonly Pod[];
  /** The pod with that name; throws if none. */
  pod(name: string): Pod;
  /** Live pods on one node. */
  podsOn(node: NodeName): Pod[];
  /** A node by name. */
  nodeHost(node: NodeName): NodeHost;
  /** Adds a pod (namespace, veth into br0, addresses, routes, server) to a live topology. */
  addPod(node: NodeName, spec?: PodSpec): Promise<Pod>;
  /** Removes a pod: stops its processes, deletes its veth and namespace, forgets its neighbour entries. */
  removePod(pod: string | Pod): Promise<void>;
  /** Every namespace of this topology still alive. */
  namespaces(): string[];
  /** Tears everything down. Idempotent. */
  destroy(): Promise<void>;
}

let topologySeq = 0;
const POD_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,39}$/;

/** Builds the world. On failure, tears down whatever it had built and rethrows. */
export async function createTopology(opts: TopologyOptions = {}): Promise<Topology> {
  await assertTestbedPrerequisites();
  const prefix = `${RUN_PREFIX}t${topologySeq++}-`;
  const world = new World(prefix, opts.serverPorts ?? DEFAULT_SERVER_PORTS);
  try {
    await world.buildInfrastructure();
    const specs = (node: NodeName, v: number | readonly PodSpec[] | undefined, dflt: number): readonly PodSpec[] =>
      typeof v === 'number' ? Array.from({ length: v }, () => ({})) : (v ?? Array.from({ length: dflt }, () => ({})));
    const wanted: [NodeName, PodSpec][] = [
      ...specs('node1', opts.pods?.node1, 2).map((s): [NodeName, PodSpec] => ['node1', s]),
      ...specs('node2', opts.pods?.node2, 1).map((s): [NodeName, PodSpec] => ['node2', s]),
    ];
    // Reserve names and indexes in order (so defaults are deterministic), then build in parallel.
    const reserved = wanted.map(([node, spec]) => world.reserve(node, spec));
    await Promise.all(reserved.map((r) => world.buildPod(r)));
    return world.handle();
  } catch (err) {
    await world.destroy().catch(() => {});
    throw err;
  }
}

/** Runs `fn` with a fresh topology and always tears it down, whether `fn` succeeds or throws. */
export async function withTopology<T>(opts: TopologyOptions, fn: (t: Topology) => Promise<T>): Promise<T> {
  const topology = await createTopology(opts);
  try {
    return await fn(topology);
  } finally {
    await topology.destroy();
  }
}

interface Reservation {
  readonly node: NodeName;
  readonly name: string;
  readonly index: number;
  readonly server: ServerPorts | null;
}

class World {
  readonly nodes: Record<NodeName, NodeHost>;
  readonly external: Host;
  private readonly pods = new Map<string, Pod>();
  /** Names and indexes taken by live pods and by pods being built. */
  private readonly takenNames = new Set<string>();
  private readonly takenIndexes: Record<NodeName, Set<number>> = { node1: new Set(), node2: new Set() };
  private readonly nameSeq: Record<NodeName, number> = { node1: 0, node2: 0 };
  private readonly highestIndex: Record<NodeName, number> = { node1: FIRST_POD_INDEX - 1, node2: FIRST_POD_INDEX - 1 };
  private readonly created = new Set<string>();
  private destroyed = false;

  constructor(
    readonly prefix: string,
    private readonly defaultPorts: ServerPorts,
  ) {
    this.nodes = { node1: this.nodeHost('node1'), node2: this.nodeHost('node2') };
    this.external = {
      name: 'external',
      ns: `${prefix}external`,
      role: 'external',
      node: null,
      ipv4: EXTERNAL_LINK.externalIPv4,
      ipv6: EXTERNAL_LINK.externalIPv6,
    };
  }

  private nodeHost(node: NodeName): NodeHost {
    const plan = NODE_PLAN[node];
    const ext = node === 'node1';
    return {
      name: node,
      ns: `${this.prefix}${node}`,
      role: 'node',
      node,
      ipv4: plan.nodeIPv4,
      ipv6: plan.nodeIPv6,
      plan,
      externalIPv4: ext ? EXTERNAL_LINK.node1IPv4 : null,
      externalIPv6: ext ? EXTERNAL_LINK.node1IPv6 : null,
      context: {
        name: node,
        addresses: [plan.nodeIPv4, plan.nodeIPv6, ...(ext ? [EXTERNAL_LINK.node1IPv4, EXTERNAL_LINK.node1IPv6] : [])],
        podCIDRs: [plan.podCIDRv4, plan.podCIDRv6],
      },
    };
  }

  private async netns(name: string, sysctls: Readonly<Record<string, number>>): Promise<void> {
    if (this.destroyed) throw new Error('topology already destroyed');
    this.created.add(name);
    await createNetns(name);
    await setSysctls(name, sysctls);
    await setSysctls(name, BEST_EFFORT_SYSCTLS, { ignoreUnknown: true });
  }

  /** Nodes, bridges, the node link, the external host, and their routes. */
  async buildInfrastructure(): Promise<void> {
    const { node1, node2 } = this.nodes;
    const ext = this.external;
    await Promise.all([
      this.netns(node1.ns, NODE_SYSCTLS),
      this.netns(node2.ns, NODE_SYSCTLS),
      this.netns(ext.ns, HOST_SYSCTLS),
    ]);
    await Promise.all([this.buildBridge(node1), this.buildBridge(node2)]);

    // node1 <-> node2: veth created directly across the two namespaces (never in the root one).
    // The explicit index keeps the two ends' ifindexes different (both nodes would otherwise
    // give it the same one): the kernel handles carrier changes of a veth whose peer has its
    // own ifindex at once, and defers the others by up to a second (see waitLinksReady).
    await ip(['-n', node1.ns, 'link', 'add', 'name', 'to-node2', 'type', 'veth', 'peer', 'name', 'to-node1', 'index', '100', 'netns', node2.ns]);
    await Promise.all([
      this.address(node1.ns, 'to-node2', node1.ipv4, NODE_LINK.prefixV4, node1.ipv6, NODE_LINK.prefixV6),
      this.address(node2.ns, 'to-node1', node2.ipv4, NODE_LINK.prefixV4, node2.ipv6, NODE_LINK.prefixV6),
    ]);

    // node1 <-> external host.
    await ip(['-n', node1.ns, 'link', 'add', 'to-external', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ext.ns]);
    await Promise.all([
      this.address(node1.ns, 'to-external', EXTERNAL_LINK.node1IPv4, EXTERNAL_LINK.prefixV4, EXTERNAL_LINK.node1IPv6, EXTERNAL_LINK.prefixV6),
      this.address(ext.ns, 'eth0', ext.ipv4, EXTERNAL_LINK.prefixV4, ext.ipv6, EXTERNAL_LINK.prefixV6),
    ]);

    await Promise.all([
      // node1: the other node's pods via node2; default route via the external host, so that
      // an unknown destination gets a real route and a REJECT is seen as "refused" (with no
      // default route the kernel reports ENETUNREACH instead).
      this.routes(node1.ns, [
        [NODE_PLAN.node2.podCIDRv4, node2.ipv4],
        [NODE_PLAN.node2.podCIDRv6, node2.ipv6],
        ['default', EXTERNAL_LINK.externalIPv4],
        ['default', EXTERNAL_LINK.externalIPv6],
      ]),
      // node2: node1's pods via node1, and everything else (the external host) via node1 too.
      this.routes(node2.ns, [
        [NODE_PLAN.node1.podCIDRv4, node1.ipv4],
        [NODE_PLAN.node1.podCIDRv6, node1.ipv6],
        ['default', node1.ipv4],
        ['default', node1.ipv6],
      ]),
      // The external host sends everything to node1 (it does not forward: forwarding is off,
      // so node1's default route pointing back at it cannot loop).
      this.routes(ext.ns, [
        ['default', EXTERNAL_LINK.node1IPv4],
        ['default', EXTERNAL_LINK.node1IPv6],
      ]),
    ]);
    // IPv6 works on a link only once the kernel has processed its carrier (see waitLinksReady).
    await Promise.all([
      waitLinksReady(node1.ns, ['to-node2', 'to-external']),
      waitLinksReady(node2.ns, ['to-node1']),
      waitLinksReady(ext.ns, ['eth0']),
    ]);
  }

  private async buildBridge(node: NodeHost): Promise<void> {
    const { ns, plan } = node;
    // A fixed MAC: otherwise a bridge takes the lowest MAC of its ports, and adding a pod
    // could change the gateway's MAC under the other pods (stale ARP => lost packets).
    await ip(['-n', ns, 'link', 'add', 'br0', 'address', plan.bridgeMAC, 'type', 'bridge', 'mcast_snooping', '0']);
    await this.address(ns, 'br0', plan.bridgeIPv4, 24, plan.bridgeIPv6, 64);
  }

  /** Adds one IPv4 and one IPv6 address (no DAD) to a link and sets it up. */
  private async address(ns: string, dev: string, v4: string, len4: number, v6: string, len6: number): Promise<void> {
    await ip(['-n', ns, 'addr', 'add', `${v4}/${len4}`, 'dev', dev]);
    await ip(['-n', ns, '-6', 'addr', 'add', `${v6}/${len6}`, 'dev', dev, 'nodad']);
    await ip(['-n', ns, 'link', 'set', dev, 'up']);
  }

  private async routes(ns: string, routes: readonly [string, string][]): Promise<void> {
    for (const [dst, via] of routes) {
      const family = via.includes(':') ? '-6' : '-4';
      await ip(['-n', ns, family, 'route', 'add', dst, 'via', via]);
    }
  }

  /** Picks a pod's name and index (synchronously, so parallel adds never collide). */
  reserve(node: NodeName, spec: PodSpec): Reservation {
    const nodeNum = node === 'node1' ? 1 : 2;
    let name = spec.name;
    if (name === undefined) {
      do name = `n${nodeNum}p${++this.nameSeq[node]}`;
      while (this.takenNames.has(name));
    }
    if (!POD_NAME.test(name)) throw new Error(`pod name '${name}' must match ${POD_NAME}`);
    if (['node1', 'node2', 'external'].includes(name)) throw new Error(`pod name '${name}' is reserved`);
    if (this.takenNames.has(name)) throw new Error(`pod '${name}' already exists`);

    let index = spec.index;
    if (index === undefined) {
      index = this.highestIndex[node] + 1;
      while (this.takenIndexes[node].has(index)) index++;
    }
    if (index < FIRST_POD_INDEX || index > LAST_POD_INDEX) {
      throw new Error(`pod index ${index} outside ${FIRST_POD_INDEX}..${LAST_POD_INDEX} (no room left on ${node}?)`);
    }
    if (this.takenIndexes[node].has(index)) throw new Error(`index ${index} already used on ${node}`);

    const server = spec.server === false ? null : spec.server === true || spec.server === undefined ? this.defaultPorts : spec.server;
    this.takenNames.add(name);
    this.takenIndexes[node].add(index);
    this.highestIndex[node] = Math.max(this.highestIndex[node], index);
    return { node, name, index, server };
  }

  private release(r: Reservation): void {
    this.takenNames.delete(r.name);
    this.takenIndexes[r.node].delete(r.index);
  }

  async buildPod(r: Reservation): Promise<Pod> {
    const nodeHost = this.nodes[r.node];
    const { ipv4, ipv6 } = podAddresses(r.node, r.index);
    const ns = `${this.prefix}${r.name}`;
    const hostIfname = `veth${r.index}`;
    try {
      await this.netns(ns, HOST_SYSCTLS);
      // Created from the node's side straight into the pod's namespace.
      await ip(['-n', nodeHost.ns, 'link', 'add', hostIfname, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await ip(['-n', nodeHost.ns, 'link', 'set', hostIfname, 'master', 'br0']);
      // Hairpin: a pod reaching itself through a Service leaves and re-enters by the same
      // bridge port; without hairpin the bridge never sends a frame back out its ingress port.
      await ip(['-n', nodeHost.ns, 'link', 'set', hostIfname, 'type', 'bridge_slave', 'hairpin', 'on']);
      await ip(['-n', nodeHost.ns, 'link', 'set', hostIfname, 'up']);
      await this.address(ns, 'eth0', ipv4, 24, ipv6, 64);
      await this.routes(ns, [
        ['default', nodeHost.plan.bridgeIPv4],
        ['default', nodeHost.plan.bridgeIPv6],
      ]);
      // br0 gets carrier with its first port: wait for IPv6 on both ends (see waitLinksReady).
      await Promise.all([waitLinksReady(ns, ['eth0']), waitLinksReady(nodeHost.ns, ['br0'])]);
      const host = { ns };
      const server = r.server ? await startEchoServer(host, { name: r.name, ...r.server }) : null;
      const pod: Pod = { name: r.name, ns, role: 'pod', node: r.node, ipv4, ipv6, index: r.index, hostIfname, server };
      this.pods.set(r.name, pod);
      return pod;
    } catch (err) {
      // Leave no half-built pod behind on a live topology.
      if (this.created.delete(ns)) await deleteNetns(ns).catch(() => {});
      this.release(r);
      throw err;
    }
  }

  async removePod(ref: string | Pod): Promise<void> {
    const name = typeof ref === 'string' ? ref : ref.name;
    const pod = this.pods.get(name);
    if (!pod) throw new Error(`no pod '${name}' in this topology`);
    this.pods.delete(name);
    const nodeNs = this.nodes[pod.node].ns;
    await pod.server?.stop();
    await ip(['-n', nodeNs, 'link', 'del', pod.hostIfname], { reject: false });
    await deleteNetns(pod.ns);
    this.created.delete(pod.ns);
    // A later pod may get the same addresses: forget the old MAC now rather than let the
    // node send to it until neighbour reachability times out.
    await ip(['-n', nodeNs, 'neigh', 'del', pod.ipv4, 'dev', 'br0'], { reject: false });
    await ip(['-n', nodeNs, '-6', 'neigh', 'del', pod.ipv6, 'dev', 'br0'], { reject: false });
    this.takenNames.delete(name);
    this.takenIndexes[pod.node].delete(pod.index);
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    const names = [...this.created];
    this.created.clear();
    this.pods.clear();
    const results = await Promise.allSettled(names.map((n) => deleteNetns(n)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    if (failed.length > 0) throw new Error(`topology teardown failed:\n${failed.join('\n')}`);
  }

  handle(): Topology {
    const world = this;
    return {
      prefix: this.prefix,
      node1: this.nodes.node1,
      node2: this.nodes.node2,
      external: this.external,
      get pods() {
        return world.livePods();
      },
      pod: (name) => {
        const pod = this.pods.get(name);
        if (!pod) throw new Error(`no pod '${name}' (pods: ${[...this.pods.keys()].join(', ') || 'none'})`);
        return pod;
      },
      podsOn: (node) => this.livePods().filter((p) => p.node === node),
      nodeHost: (node) => this.nodes[node],
      addPod: async (node, spec = {}) => this.buildPod(this.reserve(node, spec)),
      removePod: (pod) => this.removePod(pod),
      namespaces: () => [...this.created],
      destroy: () => this.destroy(),
    };
  }

  /** Live pods, node1's first, each node's by index. */
  livePods(): Pod[] {
    return [...this.pods.values()].sort((a, b) => a.node.localeCompare(b.node) || a.index - b.index);
  }
}
