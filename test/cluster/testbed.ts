// The namespaces of the one-machine cluster (see README.md for the picture): an underlay
// bridge in a namespace of its own, N node namespaces on it, each with a pod bridge and
// pod namespaces running echo servers, an API-server namespace and an external client
// namespace on the same underlay. Addresses come from plan.ts. Namespaces are named
// `svp-<pid>-c<n>-...` through test/e2e/lib/netns.ts, so a crashed run's leftovers are
// reaped by the next one; nothing is created or changed in the root namespace.

import { createNetns, deleteNetns, ip, RUN_PREFIX, setSysctls } from '../e2e/lib/netns.js';
import { startEchoServer, type EchoServer, type ServerPorts } from '../e2e/lib/servers.js';
import { BEST_EFFORT_SYSCTLS, HOST_SYSCTLS, NODE_SYSCTLS } from '../e2e/lib/sysctls.js';
import { nodePlan, podPlan, UNDERLAY, type NodePlan, type PodPlan } from './plan.js';

export interface TestbedOptions {
  readonly nodes: number;
  /** Pods per node, each running an echo server that answers with its name (default 2). */
  readonly podsPerNode?: number;
  /** Zones, assigned to nodes round robin (default zone-a, zone-b). */
  readonly zones?: readonly string[];
  /** Ports of the pods' servers (default TCP and UDP 80). */
  readonly serverPorts?: ServerPorts;
}

export interface ClusterHost {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
}

export interface ClusterNode extends NodePlan {
  readonly ns: string;
}

export interface ClusterPod extends PodPlan {
  readonly ns: string;
  readonly server: EchoServer;
}

export interface ClusterTestbed {
  readonly prefix: string;
  /** The namespace holding the underlay bridge `ul0`. */
  readonly underlayNs: string;
  readonly api: ClusterHost;
  readonly external: ClusterHost;
  readonly nodes: readonly ClusterNode[];
  readonly pods: readonly ClusterPod[];
  node(name: string): ClusterNode;
  pod(name: string): ClusterPod;
  podsOn(node: string): ClusterPod[];
  destroy(): Promise<void>;
}

let seq = 0;
const DEFAULT_PORTS: ServerPorts = { tcp: [80], udp: [80] };

/** Builds the whole testbed; on any failure deletes what it had built and rethrows. */
export async function createClusterTestbed(opts: TestbedOptions): Promise<ClusterTestbed> {
  const prefix = `${RUN_PREFIX}c${++seq}-`;
  const created: string[] = [];
  const netns = async (name: string, sysctls: Readonly<Record<string, number>>) => {
    const ns = `${prefix}${name}`;
    created.push(ns);
    await createNetns(ns);
    await setSysctls(ns, sysctls);
    await setSysctls(ns, BEST_EFFORT_SYSCTLS, { ignoreUnknown: true });
    return ns;
  };
  const destroy = async () => {
    const names = created.splice(0).reverse();
    const results = await Promise.allSettled(names.map((n) => deleteNetns(n)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    if (failed.length) throw new Error(`cluster testbed teardown failed:\n${failed.join('\n')}`);
  };
  try {
    const zones = opts.zones ?? ['zone-a', 'zone-b'];
    const plans = Array.from({ length: opts.nodes }, (_, i) => nodePlan(i + 1, zones));
    const underlayNs = await netns('underlay', HOST_SYSCTLS);
    await ip(['-n', underlayNs, 'link', 'add', 'ul0', 'address', '02:00:ac:14:00:01', 'type', 'bridge', 'mcast_snooping', '0']);
    await ip(['-n', underlayNs, 'link', 'set', 'ul0', 'up']);

    const attach = async (ns: string, port: string, addr: string) => {
      await ip(['-n', underlayNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await batch(underlayNs, [`link set ${port} master ul0`, `link set ${port} up`]);
      await batch(ns, [`addr add ${addr}/${UNDERLAY.prefixLen} dev eth0`, 'link set eth0 up']);
    };
    const api: ClusterHost = { name: 'api', ns: await netns('api', HOST_SYSCTLS), ip: UNDERLAY.apiIP };
    const external: ClusterHost = { name: 'external', ns: await netns('external', HOST_SYSCTLS), ip: UNDERLAY.externalIP };
    await attach(api.ns, 'api', api.ip);
    await attach(external.ns, 'ext', external.ip);

    const nodes: ClusterNode[] = [];
    const pods: ClusterPod[] = [];
    // A few nodes at a time: each step is a handful of `ip` processes on 2 cores.
    await inChunks(plans, 4, async (plan) => {
      const ns = await netns(plan.name, NODE_SYSCTLS);
      await attach(ns, `n${plan.index}`, plan.ip);
      await ip(['-n', ns, 'link', 'add', 'br0', 'address', plan.bridgeMAC, 'type', 'bridge', 'mcast_snooping', '0']);
      await batch(ns, [
        `addr add ${plan.bridgeIP}/24 dev br0`,
        'link set br0 up',
        // Every other node's pods through that node (what a CNI's host routes do).
        ...plans.filter((p) => p !== plan).map((p) => `route add ${p.podCIDR} via ${p.ip}`),
        // A default route (to the external host, which does not forward), so a REJECT in
        // the forward path reaches the client as "refused" rather than ENETUNREACH.
        `route add default via ${UNDERLAY.externalIP}`,
      ]);
      nodes.push({ ...plan, ns });
      for (let i = 0; i < (opts.podsPerNode ?? 2); i++) pods.push(await buildPod(plan, ns, podPlan(plan, i), netns, opts.serverPorts ?? DEFAULT_PORTS));
    });
    nodes.sort((a, b) => a.index - b.index);
    pods.sort((a, b) => a.ip.localeCompare(b.ip, undefined, { numeric: true }));

    const find = <T extends { name: string }>(xs: readonly T[], name: string, what: string): T => {
      const x = xs.find((y) => y.name === name);
      if (!x) throw new Error(`no ${what} '${name}' in the cluster testbed`);
      return x;
    };
    return {
      prefix,
      underlayNs,
      api,
      external,
      nodes,
      pods,
      node: (name) => find(nodes, name, 'node'),
      pod: (name) => find(pods, name, 'pod'),
      podsOn: (node) => pods.filter((p) => p.node === node),
      destroy,
    };
  } catch (err) {
    await destroy().catch(() => {});
    throw err;
  }
}

async function buildPod(
  node: NodePlan,
  nodeNs: string,
  pod: PodPlan,
  netns: (name: string, sysctls: Readonly<Record<string, number>>) => Promise<string>,
  ports: ServerPorts,
): Promise<ClusterPod> {
  const ns = await netns(pod.name, HOST_SYSCTLS);
  const veth = `veth${pod.host}`;
  await ip(['-n', nodeNs, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await batch(nodeNs, [
    `link set ${veth} master br0`,
    // Hairpin: a pod reaching itself through a Service leaves and re-enters by this port.
    `link set ${veth} type bridge_slave hairpin on`,
    `link set ${veth} up`,
  ]);
  await batch(ns, [`addr add ${pod.ip}/24 dev eth0`, 'link set eth0 up', `route add default via ${node.bridgeIP}`]);
  const server = await startEchoServer({ ns }, { name: pod.name, families: [4], ...ports });
  return { ...pod, ns, server };
}

/** Several `ip` commands in one process (`ip -n NS -batch -`). */
async function batch(ns: string, lines: readonly string[]): Promise<void> {
  if (lines.length) await ip(['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

async function inChunks<T>(xs: readonly T[], size: number, fn: (x: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < xs.length; i += size) await Promise.all(xs.slice(i, i + size).map(fn));
}
