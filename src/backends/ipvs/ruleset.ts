// The IPVS-mode ruleset of one node, as data: what kube-proxy's IPVS mode keeps in
// the kernel, under names of our own. Four parts, applied in this order:
//   1. addresses on our dummy interface (the kernel must see every VIP as local),
//   2. ipsets (service addresses and ports, hairpin pairs, source ranges...),
//   3. the iptables rules that use the sets (static: they never mention a Service),
//   4. IPVS virtual servers and their real servers.

import type { IPFamily } from '../../model/ip.js';
import type { Ipset } from '../ipset.js';

export const DUMMY_INTERFACE = 'svcplane-ipvs0';

export type IpvsProtocol = 'tcp' | 'udp' | 'sctp';

export interface RealServer {
  readonly address: string;
  readonly port: number;
  /** 1 for usable endpoints; 0 for terminating ones kept so open connections drain. */
  readonly weight: number;
}

export interface VirtualServer {
  readonly protocol: IpvsProtocol;
  readonly address: string;
  readonly port: number;
  readonly scheduler: string;
  /** ClientIP affinity: persistence timeout in seconds. */
  readonly persistentSeconds?: number;
  /** Which Service port this is, for comments and review: `ns/name:port`. */
  readonly service: string;
  readonly realServers: readonly RealServer[];
}

export type { Ipset, IpsetType } from '../ipset.js';

export interface IpvsFamilyRuleset {
  readonly family: IPFamily;
  readonly ipsets: readonly Ipset[];
  /** iptables-restore (ip6tables-restore) input for the helper rules. */
  readonly iptables: string;
  readonly virtualServers: readonly VirtualServer[];
}

export interface IpvsRuleset {
  /** CIDRs (/32, /128) bound to DUMMY_INTERFACE. */
  readonly interfaceAddresses: readonly string[];
  readonly families: readonly IpvsFamilyRuleset[];
}
