// RenderInput -> the IPVS-mode ruleset (kube-proxy v1.33 IPVS mode semantics).
// Pure: same input, same data. The endpoint and policy decisions come from the
// shared service-port views; this file only decides where IPVS puts them:
//
// - one virtual server per ClusterIP, external IP, load balancer IP, and node
//   address + NodePort, with the config's scheduler (rr by default) and ClientIP
//   affinity as persistence;
// - real servers: the endpoints the policy allows for that address (internal
//   traffic policy for the ClusterIP, external traffic policy for the rest),
//   weight 1, plus terminating-but-serving endpoints at weight 0 so that open
//   connections drain while no new one goes there;
// - IPVS mode has no per-source short-circuit: a pod reaching a Local-policy
//   address gets that address's local endpoints, as with kube-proxy.

import { compareIPs, type IPFamily } from '../../model/ip.js';
import type { RenderInput } from '../../model/render-input.js';
import { localTrafficMatch, nodePortAddresses, servicePortLabel, servicePortViews, type EndpointTarget, type ServicePortView } from '../../model/service-ports.js';
import { allowsLoadBalancerIPSources, primaryNodeIP } from '../lb-firewall.js';
import { helperRules } from './iptables-rules.js';
import type { Ipset, IpsetType, IpvsFamilyRuleset, IpvsProtocol, IpvsRuleset, RealServer, VirtualServer } from './ruleset.js';
import { SETS, setName, type SetKey } from './sets.js';

const DEFAULT_MASQ_BIT = 14;

function realServers(usable: readonly EndpointTarget[], v: ServicePortView): RealServer[] {
  const out = new Map<string, RealServer>();
  for (const e of usable) out.set(`${e.ip}|${e.port}`, { address: e.ip, port: e.port, weight: 1 });
  for (const e of v.servingTerminatingEndpoints) {
    const k = `${e.ip}|${e.port}`;
    if (!out.has(k)) out.set(k, { address: e.ip, port: e.port, weight: 0 });
  }
  return [...out.values()].sort((a, b) => compareIPs(a.address, b.address) || a.port - b.port);
}

/**
 * A source range as hash:net entries. ipset refuses a /0 in those sets ("The value
 * of the CIDR parameter of the IP address is invalid"), so "everyone" is written as
 * its two halves, which match exactly the same sources.
 */
function ipsetNets(cidr: string): string[] {
  if (cidr === '0.0.0.0/0') return ['0.0.0.0/1', '128.0.0.0/1'];
  if (cidr === '::/0') return ['::/1', '8000::/1'];
  return [cidr];
}

function protoSuffix(p: IpvsProtocol): 'TCP' | 'UDP' | 'SCTP' {
  return p.toUpperCase() as 'TCP' | 'UDP' | 'SCTP';
}

export function renderFamily(input: RenderInput, family: IPFamily): IpvsFamilyRuleset {
  const entries = new Map<SetKey, Set<string>>();
  const add = (k: SetKey, e: string) => {
    let s = entries.get(k);
    if (!s) entries.set(k, (s = new Set()));
    s.add(e);
  };
  const vss: VirtualServer[] = [];
  const scheduler = input.config.ipvsScheduler || 'rr';
  const nodeIP = primaryNodeIP(input.node, { family });
  const nodePortIPs = nodePortAddresses(input.node, input.config, family, 'all');

  for (const v of servicePortViews(input, family)) {
    const proto = v.protocol.toLowerCase() as IpvsProtocol;
    const ipPort = (ip: string) => `${ip},${proto}:${v.port}`;
    const service = servicePortLabel(v);
    const persistence = v.affinitySeconds > 0 ? { persistentSeconds: v.affinitySeconds } : {};
    const internal = v.internalPolicyLocal ? v.localEndpoints : v.clusterEndpoints;
    const external = v.externalPolicyLocal ? v.localEndpoints : v.clusterEndpoints;
    const vs = (address: string, port: number, eps: readonly EndpointTarget[]) =>
      vss.push({ protocol: proto, address, port, scheduler, ...persistence, service, realServers: realServers(eps, v) });

    // The ClusterIP.
    vs(v.clusterIP, v.port, internal);
    add('clusterIP', ipPort(v.clusterIP));
    add('ipvsIPs', v.clusterIP);
    if (!v.hasEndpoints) add('noEndpoints', ipPort(v.clusterIP));
    else if (!v.hasInternalEndpoints) add('noLocalEndpoints', ipPort(v.clusterIP));

    // External IPs and load balancer IPs.
    const externalNoEndpoints = (ip: string) => {
      if (!v.hasEndpoints) add('noEndpoints', ipPort(ip));
      else if (!v.hasExternalEndpoints) add('noLocalEndpoints', ipPort(ip));
    };
    for (const ip of v.externalIPs) {
      vs(ip, v.port, external);
      add(v.externalPolicyLocal ? 'externalIPLocal' : 'externalIP', ipPort(ip));
      add('ipvsIPs', ip);
      externalNoEndpoints(ip);
    }
    for (const ip of v.loadBalancerIPs) {
      vs(ip, v.port, external);
      add('loadBalancer', ipPort(ip));
      if (v.externalPolicyLocal) add('loadBalancerLocal', ipPort(ip));
      add('ipvsIPs', ip);
      externalNoEndpoints(ip);
      if (v.sourceRanges.length) {
        add('loadBalancerFW', ipPort(ip));
        for (const c of v.sourceRanges) for (const n of ipsetNets(c)) add('loadBalancerSourceCIDR', `${ipPort(ip)},${n}`);
        // The LB IPs themselves as sources when a range holds the node (lb-firewall.ts).
        if (allowsLoadBalancerIPSources(v, nodeIP)) for (const src of v.loadBalancerIPs) add('loadBalancerSourceIP', `${ipPort(ip)},${src}`);
      }
    }

    // Node ports, on each address that serves them.
    if (v.nodePort) {
      const P = protoSuffix(proto);
      for (const ip of nodePortIPs.ips) vs(ip, v.nodePort, external);
      add(v.externalPolicyLocal ? `nodePortLocal${P}` : `nodePort${P}`, String(v.nodePort));
      if (!v.hasEndpoints) add(`noEndpointsNodePort${P}`, String(v.nodePort));
      else if (!v.hasExternalEndpoints) add(`noLocalEndpointsNodePort${P}`, String(v.nodePort));
    }
    if (v.healthCheckNodePort) add('healthCheckNodePort', String(v.healthCheckNodePort));

    // Hairpin: an endpoint reaching its own Service port.
    for (const e of [...v.clusterEndpoints, ...v.localEndpoints, ...v.servingTerminatingEndpoints]) {
      add('loopBack', `${e.ip},${proto}:${e.port},${e.ip}`);
    }
  }

  const ipsets: Ipset[] = (Object.keys(SETS) as SetKey[]).map((k) => ({
    name: setName(family, k),
    type: SETS[k].type as IpsetType,
    family,
    comment: SETS[k].comment,
    ...('counts' in SETS[k] ? { counters: true } : {}),
    entries: [...(entries.get(k) ?? [])].sort(),
  }));

  vss.sort((a, b) => compareIPs(a.address, b.address) || a.port - b.port || (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0));
  // Two Services cannot share an address:port (validation refuses it); keep the first anyway.
  const unique = vss.filter((x, i) => i === 0 || !(x.address === vss[i - 1]!.address && x.port === vss[i - 1]!.port && x.protocol === vss[i - 1]!.protocol));

  return {
    family,
    ipsets,
    iptables: helperRules({
      family,
      masqMark: 2 ** (input.config.masqueradeBit ?? DEFAULT_MASQ_BIT), // 2 ** 31 stays positive, unlike 1 << 31
      masqueradeAll: input.config.masqueradeAll,
      local: localTrafficMatch(input.config, input.node, family),
    }),
    virtualServers: unique,
  };
}

export function renderIpvs(input: RenderInput): IpvsRuleset {
  const families = [renderFamily(input, 'IPv4'), renderFamily(input, 'IPv6')];
  const addrs = new Set<string>();
  for (const f of families) {
    for (const s of f.ipsets) {
      if (s.name.endsWith('IPVS-IPS')) for (const ip of s.entries) addrs.add(ip);
    }
  }
  const interfaceAddresses = [...addrs].sort(compareIPs).map((ip) => `${ip}/${ip.includes(':') ? 128 : 32}`);
  return { interfaceAddresses, families };
}
