// Chain names of the iptables backend. Every chain we own starts with `SVP-` (never
// KUBE-), so ours and kube-proxy's can live in the same tables. Per-Service and
// per-endpoint chains are named by a stable hash of what they stand for, within
// iptables' 28-character limit for chain names.

import { hash } from 'node:crypto';

/** Prefix of every chain we own: apply reads back, diffs and deletes only these. */
export const CHAIN_PREFIX = 'SVP-';

/** iptables refuses chain names longer than this. */
export const MAX_CHAIN_NAME = 28;

/** The chains of the skeleton (present whatever the Services). */
export const CHAINS = {
  // nat
  services: 'SVP-SERVICES',
  nodePorts: 'SVP-NODEPORTS',
  postrouting: 'SVP-POSTROUTING',
  markMasq: 'SVP-MARK-MASQ',
  // filter
  input: 'SVP-INPUT',
  forward: 'SVP-FORWARD',
  output: 'SVP-OUTPUT',
  externalServices: 'SVP-EXTERNAL-SERVICES',
  proxyFirewall: 'SVP-PROXY-FIREWALL',
  firewall: 'SVP-FIREWALL',
  // filter SVP-SERVICES and SVP-NODEPORTS share the nat chains' names (other table).
} as const;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE32_CODES = [...BASE32].map((c) => c.charCodeAt(0));

/**
 * `prefix` + RFC 4648 base32 (no padding) of the first 80 bits of a hex string (16
 * characters: 20 hex digits read 5 at a time, 20 bits, 4 base32 characters each), cut to
 * `length`, made in one piece: `+=` and `+` give a tree of concatenated strings (two 32-byte
 * nodes and two pieces per name), which the names cache and every chain object kept: ~9 MB
 * of the 110k names at 10k Services against ~4.4 MB flat.
 */
function prefixedBase32Of80Hex(prefix: string, hex: string, length: number): string {
  const codes: number[] = [];
  for (let i = 0; i < prefix.length; i++) codes.push(prefix.charCodeAt(i));
  for (let i = 0; i < 20; i += 5) {
    const n = parseInt(hex.slice(i, i + 5), 16);
    codes.push(BASE32_CODES[(n >>> 15) & 31]!, BASE32_CODES[(n >>> 10) & 31]!, BASE32_CODES[(n >>> 5) & 31]!, BASE32_CODES[n & 31]!);
  }
  codes.length = Math.min(codes.length, length);
  return String.fromCharCode.apply(null, codes);
}

/** `PREFIX` + the first characters of base32(sha256(identity)), at most 28 characters. */
export function hashedChainName(prefix: string, identity: string): string {
  // At most 16 hash characters are kept. crypto.hash (one call, text out) costs a fifth
  // of createHash().update().digest() per name: 10^5 names per render at 10k Services.
  return prefixedBase32Of80Hex(prefix, hash('sha256', identity, 'hex'), Math.min(MAX_CHAIN_NAME, prefix.length + 16));
}

// Renders at 10k Services name 10^5 chains, each several times, and the agent renders
// again on changes: each name is hashed once and kept. The caches are keyed by strings
// the render already holds (a port's key, an endpoint's address), never by a string
// made for the lookup: a fresh 80-character key per lookup (hashed by the Map, then
// dropped) was a tenth of a whole render.
const MAX_CACHED = 400_000;
let cached = 0;
const portNames = new Map<string, Map<string, string>>(); // prefix -> port key -> name
const endpointNames = new Map<string, Map<string, EndpointName>>(); // port key -> IP -> names by port

/**
 * The names of one port key's endpoint chains at one address, one per target port: almost
 * always one, so a list of small records rather than a Map per address (a Map's table costs
 * ~5x this record: 15 MB for the 100k endpoints of 10k Services).
 */
interface EndpointName {
  readonly port: number;
  readonly name: string;
  readonly next: EndpointName | undefined;
}

function remember(): void {
  if (++cached <= MAX_CACHED) return;
  forgetChainNames();
  cached = 1;
}

/**
 * Empties the names cache. The agent's syncer calls it after each Service it renders: its
 * fragments keep the names they use, and the cache itself (a Map per Service port and a
 * record per endpoint) was ~10 MB at 10k Services x 10 endpoints, between renders (to spare
 * hashing the ~12 names of each Service rendered again) and, until session 15, through the
 * whole first render (old-generation garbage after it).
 */
export function forgetChainNames(): void {
  portNames.clear();
  endpointNames.clear();
  cached = 0;
}

function portChainName(prefix: string, key: string): string {
  let byKey = portNames.get(prefix);
  if (byKey === undefined) portNames.set(prefix, (byKey = new Map()));
  let name = byKey.get(key);
  if (name === undefined) {
    name = hashedChainName(prefix, key);
    remember();
    byKey.set(key, name);
  }
  return name;
}

/** The identity of a Service port: namespace, name, port name, protocol (and port, for unnamed ones). */
export interface PortIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly portName: string;
  readonly port: number;
  readonly protocol: string;
}

// A port's key is needed for each of its chains and each endpoint's (twice per endpoint
// per render): made once per view object. Views are immutable (render makes new ones).
const portKeys = new WeakMap<PortIdentity, string>();

function portKey(v: PortIdentity): string {
  let key = portKeys.get(v);
  if (key === undefined) {
    // JSON keeps the parts apart whatever characters they hold.
    key = JSON.stringify([v.namespace, v.name, v.portName, v.portName ? 0 : v.port, v.protocol]);
    portKeys.set(v, key);
  }
  return key;
}

/** SVP-SVC-…: the Cluster-policy chain of a Service port. */
export const clusterChain = (v: PortIdentity) => portChainName('SVP-SVC-', portKey(v));
/** SVP-SVL-…: the Local-policy chain. */
export const localChain = (v: PortIdentity) => portChainName('SVP-SVL-', portKey(v));
/** SVP-EXT-…: traffic to external destinations (NodePort, external IPs, LB IPs). */
export const externalChain = (v: PortIdentity) => portChainName('SVP-EXT-', portKey(v));
/** SVP-FW-…: loadBalancerSourceRanges for LB IPs. */
export const firewallChain = (v: PortIdentity) => portChainName('SVP-FW-', portKey(v));

/** SVP-SEP-…: one endpoint of one Service port. */
export function endpointChain(v: PortIdentity, ip: string, port: number): string {
  const key = portKey(v);
  let byIP = endpointNames.get(key);
  if (byIP === undefined) endpointNames.set(key, (byIP = new Map()));
  const first = byIP.get(ip);
  for (let e = first; e !== undefined; e = e.next) if (e.port === port) return e.name;
  const name = hashedChainName('SVP-SEP-', `${key}${JSON.stringify([ip, port])}`);
  remember();
  byIP.set(ip, { port, name, next: first });
  return name;
}
