// Random valid inputs for the differential trace test, built with the model
// builders (test/helpers/model.ts), and packets aimed at what the input defines:
// each packet says what it targets and where it comes from, so that the places
// where kube-proxy's modes legitimately differ can be named precisely.

import fc from 'fast-check';
import type { Endpoint } from '../../src/model/endpoints.js';
import type { PlanService, Protocol } from '../../src/model/plan.js';
import type { RenderInput } from '../../src/model/render-input.js';
import type { TracePacket } from '../../src/backends/trace-result.js';
import { ep, input, port, slice, svc } from '../helpers/model.js';

export const NODE_IP = '192.168.50.1';
export const OUTSIDE = '192.168.60.5';
export const IN_RANGE = '198.51.100.7';
export const LOCAL_POD = '10.244.1.5';
export const REMOTE_POD = '10.244.2.5';

export type Target = 'clusterIP' | 'wrongPort' | 'externalIP' | 'lbIP' | 'nodePort' | 'healthCheck' | 'unallocated' | 'unrelated';
/** `vip`: the packet's source is the load-balancer IP it is sent to (only for lbIP targets). */
export type Source = 'localPod' | 'remotePod' | 'outside' | 'inRange' | 'node' | 'endpoint' | 'vip';

export interface Probe {
  readonly packet: TracePacket;
  readonly target: Target;
  readonly source: Source;
  /** The Service aimed at (not for unallocated/unrelated). */
  readonly service?: PlanService;
}

export interface Scenario {
  readonly input: RenderInput;
  readonly probes: readonly Probe[];
}

interface GenEndpoint {
  readonly local: boolean;
  readonly state: 'ready' | 'terminating-serving' | 'terminating' | 'not-ready';
}

interface GenService {
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  readonly protocols: readonly Protocol[];
  readonly externalIP: boolean;
  readonly sourceRanges: boolean;
  /** A second range that holds the node (NODE_IP): kube-proxy then also allows the LB IPs as sources. */
  readonly rangeHoldsNode: boolean;
  readonly etpLocal: boolean;
  readonly itpLocal: boolean;
  readonly affinity: boolean;
  readonly healthCheck: boolean;
  readonly endpoints: readonly GenEndpoint[];
}

const genEndpoint: fc.Arbitrary<GenEndpoint> = fc.record({
  local: fc.boolean(),
  state: fc.constantFrom('ready', 'ready', 'ready', 'terminating-serving', 'terminating', 'not-ready'),
});

const genService: fc.Arbitrary<GenService> = fc.record({
  type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'),
  protocols: fc.uniqueArray(fc.constantFrom<Protocol>('TCP', 'UDP', 'SCTP'), { minLength: 1, maxLength: 2 }),
  externalIP: fc.boolean(),
  sourceRanges: fc.boolean(),
  rangeHoldsNode: fc.boolean(),
  etpLocal: fc.boolean(),
  itpLocal: fc.boolean(),
  affinity: fc.boolean(),
  healthCheck: fc.boolean(),
  endpoints: fc.array(genEndpoint, { maxLength: 3 }),
});

function build(gs: readonly GenService[]): { input: RenderInput; services: PlanService[]; firstEndpoint: Map<string, string> } {
  const services: PlanService[] = [];
  const firstEndpoint = new Map<string, string>();
  const slices: ReturnType<typeof slice>[] = [];
  gs.forEach((g, i) => {
    const name = `s${i}`;
    const external = g.type !== 'ClusterIP' || g.externalIP;
    const lb = g.type === 'LoadBalancer';
    const s = svc({
      name,
      type: g.type,
      clusterIPs: [`10.96.0.${10 + i}`],
      ports: g.protocols.map((p, j) => port(80 + j, 8080 + j, { name: `p${j}`, protocol: p, ...(g.type !== 'ClusterIP' ? { nodePort: 30000 + i * 10 + j } : {}) })),
      externalIPs: g.externalIP ? [`192.0.2.${10 + i}`] : [],
      loadBalancerIngress: lb ? [{ ip: `203.0.113.${10 + i}`, ipMode: 'VIP' }] : [],
      loadBalancerSourceRanges: lb && g.sourceRanges ? ['198.51.100.0/24', ...(g.rangeHoldsNode ? ['192.168.50.0/24'] : [])] : [],
      externalTrafficPolicy: external && g.etpLocal ? 'Local' : 'Cluster',
      internalTrafficPolicy: g.itpLocal ? 'Local' : 'Cluster',
      sessionAffinity: g.affinity ? { type: 'ClientIP', timeoutSeconds: 600 } : { type: 'None' },
      ...(lb && g.etpLocal && g.healthCheck ? { healthCheckNodePort: 32000 + i } : {}),
    });
    services.push(s);
    const eps: Endpoint[] = g.endpoints.map((e, k) =>
      ep(`10.244.${e.local ? 1 : 2}.${10 * i + k + 10}`, e.local ? 'node1' : 'node2', {
        ready: e.state === 'ready',
        serving: e.state === 'ready' || e.state === 'terminating-serving',
        terminating: e.state.startsWith('terminating'),
      }),
    );
    if (eps[0]) firstEndpoint.set(name, eps[0].address);
    slices.push(slice(name, eps, g.protocols.map((p, j) => ({ name: `p${j}`, port: 8080 + j, protocol: p }))));
  });
  return { input: input(services, slices, { serviceCIDRs: ['10.96.0.0/16'] }), services, firstEndpoint };
}

/** Every target each Service offers, from every kind of source. */
function probesFor(services: readonly PlanService[], firstEndpoint: ReadonlyMap<string, string>): Probe[] {
  const out: Probe[] = [];
  const sourceIPs = (s?: PlanService): [Source, string][] => [
    ['localPod', LOCAL_POD], ['remotePod', REMOTE_POD], ['outside', OUTSIDE], ['inRange', IN_RANGE], ['node', NODE_IP],
    ...(s && firstEndpoint.has(s.name) ? [['endpoint', firstEndpoint.get(s.name)!] as [Source, string]] : []),
  ];
  const add = (target: Target, dst: string, dport: number, proto: Protocol, s?: PlanService) => {
    // From the LB IP itself: a load balancer that SNATs to its own address, or (IPVS, whose VIPs are node addresses) the node looping back.
    const vip: [Source, string][] = target === 'lbIP' ? [['vip', dst]] : [];
    for (const [source, src] of [...sourceIPs(s), ...vip]) {
      out.push({ packet: { src, dst, dport, proto: proto.toLowerCase() as TracePacket['proto'] }, target, source, ...(s ? { service: s } : {}) });
    }
  };
  for (const s of services) {
    for (const p of s.ports) {
      add('clusterIP', s.clusterIPs[0]!, p.port, p.protocol, s);
      for (const ip of s.externalIPs) add('externalIP', ip, p.port, p.protocol, s);
      for (const i of s.loadBalancerIngress) add('lbIP', i.ip, p.port, p.protocol, s);
      if (p.nodePort) add('nodePort', NODE_IP, p.nodePort, p.protocol, s);
    }
    add('wrongPort', s.clusterIPs[0]!, 79, 'TCP', s);
    if (s.healthCheckNodePort) add('healthCheck', NODE_IP, s.healthCheckNodePort, 'TCP', s);
  }
  add('unallocated', '10.96.5.5', 80, 'TCP');
  add('unrelated', '8.8.8.8', 80, 'TCP');
  return out;
}

export const scenario: fc.Arbitrary<Scenario> = fc.array(genService, { minLength: 1, maxLength: 3 }).map((gs) => {
  const { input: inp, services, firstEndpoint } = build(gs);
  return { input: inp, probes: probesFor(services, firstEndpoint) };
});
