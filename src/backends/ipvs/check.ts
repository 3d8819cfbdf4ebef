// Read-only comparison of IPVS mode's kernel state with what it should hold, through
// the backend's own diffs (diff.ts: diffIpvs, diffIpsets; apply.ts: ourRules): their
// commands are read back as named differences. IPVS and ipsets carry no owner, so
// objects are attributed to Services by address and port, from the desired virtual
// servers (`ns/name:port` labels) and the plan. Also reads a rendered document
// (dist/rules/ipvs.rules) back, so `svcplane diff` can compare two committed ones.
//
// The kernel here has no IPVS: `checkIpvs` (the reading half) runs on a real node or
// in the VM; everything else is pure and unit-tested on saved tool output.

import type { Exec } from '../../exec/exec.js';
import { systemExec } from '../../exec/system-exec.js';
import type { IPFamily } from '../../model/ip.js';
import { canonicalIP } from '../../model/ip.js';
import type { Plan } from '../../model/plan.js';
import type { RenderInput } from '../../model/render-input.js';
import type { ApplyOptions } from '../backend.js';
import { serviceOfLabel, withService, type RulesetDifference } from '../difference.js';
import { ensureJumps, IptablesRunner } from '../iptables/apply.js';
import { tableText } from '../iptables/document.js';
import { readLocalAddresses } from '../local-addresses.js';
import { ourRules } from './apply.js';
import { diffIpsets, diffIpvs, hasCounters, parseIpsetSave, parseIpvsadmSave, type LiveIpset, type LiveVirtualServer } from './diff.js';
import { SECTION, splitSections } from './document.js';
import { HOOK_JUMPS, TABLES } from './iptables-rules.js';
import { ownsVirtualServer } from './kernel-settings.js';
import { addressesOf, FAMILIES, readDummy, readHelperChains, readVirtualServers, run, type IpvsTools } from './kernel.js';
import { preservePlan } from './preserve.js';
import { renderIpvs } from './render.js';
import { nodeForApply } from './sync-plan.js';
import { DUMMY_INTERFACE, type Ipset, type IpsetType, type IpvsRuleset, type VirtualServer } from './ruleset.js';

/** What IPVS mode's part of the kernel holds, as its tools print it. */
export interface IpvsLive {
  /** `ipvsadm -Sn`, parsed. */
  readonly virtualServers: readonly LiveVirtualServer[];
  /** `ipset save`, parsed. */
  readonly ipsets: ReadonlyMap<string, LiveIpset>;
  /** `iptables-save -t mangle`, `-t nat` and `-t filter` (ip6tables-save for IPv6). */
  readonly iptables: Readonly<Record<IPFamily, string>>;
  /** CIDRs on the dummy interface. */
  readonly interfaceAddresses: readonly string[];
  /** Jumps from the built-in chains that are missing, as `table CHAIN -> SVP-…`. */
  readonly missingHooks?: readonly string[];
}

/** Who owns an address, a NodePort, an endpoint: IPVS keeps no owner, so it is looked up. */
export interface IpvsOwners {
  /** `proto|address|port` of a Service address (ClusterIP, external IP, LB IP). */
  readonly byAddress: Map<string, string>;
  /** `proto|port` of a NodePort or healthCheckNodePort. */
  readonly byNodePort: Map<string, string>;
  /** `address|port` of an endpoint. */
  readonly byEndpoint: Map<string, string>;
  /** A Service address alone. */
  readonly byIP: Map<string, string>;
}

/** Owners from plans (every Service address and NodePort) and virtual servers (their endpoints). First owner wins. */
export function ipvsOwners(plans: readonly Plan[], virtualServers: readonly VirtualServer[]): IpvsOwners {
  const o: IpvsOwners = { byAddress: new Map(), byNodePort: new Map(), byEndpoint: new Map(), byIP: new Map() };
  const set = (m: Map<string, string>, k: string, v: string | undefined) => {
    if (v && !m.has(k)) m.set(k, v);
  };
  for (const vs of virtualServers) {
    const svc = serviceOfLabel(vs.service);
    set(o.byAddress, `${vs.protocol}|${vs.address}|${vs.port}`, svc);
    set(o.byIP, vs.address, svc);
    for (const r of vs.realServers) set(o.byEndpoint, `${r.address}|${r.port}`, svc);
  }
  for (const plan of plans) {
    for (const s of plan.services) {
      const key = `${s.namespace}/${s.name}`;
      const ips = [...s.clusterIPs, ...s.externalIPs, ...s.loadBalancerIngress.map((i) => i.ip)];
      for (const ip of ips) set(o.byIP, ip, key);
      for (const p of s.ports) {
        const proto = p.protocol.toLowerCase();
        for (const ip of ips) set(o.byAddress, `${proto}|${ip}|${p.port}`, key);
        if (p.nodePort !== undefined) set(o.byNodePort, `${proto}|${p.nodePort}`, key);
      }
      if (s.healthCheckNodePort !== undefined) set(o.byNodePort, `tcp|${s.healthCheckNodePort}`, key);
    }
  }
  return o;
}

/** `10.0.0.1:80`, `[fd00::1]:80` -> address and port. */
function splitHostPort(s: string): { address: string; port: number } | undefined {
  const m = /^\[(.+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  return m ? { address: m[1]!, port: Number(m[2]) } : undefined;
}

/** The owner of an ipset entry: `ip,proto:port[,…]` by Service address (or endpoint, for LOOP-BACK); a bare port by NodePort. */
function entryOwner(set: string, entry: string, o: IpvsOwners): string | undefined {
  const parts = entry.split(',');
  if (parts.length === 1) {
    if (/^\d+$/.test(entry)) {
      const proto = /HEALTH-CHECK/.test(set) ? 'tcp' : (/-(TCP|UDP|SCTP)$/.exec(set)?.[1] ?? 'tcp').toLowerCase();
      return o.byNodePort.get(`${proto}|${entry}`);
    }
    return o.byIP.get(canonicalIP(entry) ?? entry);
  }
  const [ip, pp] = parts as [string, string];
  const [proto, port] = pp.split(':');
  const addr = canonicalIP(ip) ?? ip;
  if (/LOOP-BACK$/.test(set)) return o.byEndpoint.get(`${addr}|${port}`);
  return o.byAddress.get(`${proto}|${addr}|${port}`);
}

/** Each line of `a` not in `b`. */
function linesNotIn(a: readonly string[], b: readonly string[]): string[] {
  const have = new Set(b);
  return a.filter((l) => !have.has(l));
}

/**
 * The differences between a desired IPVS ruleset and what is live. `owns` says which
 * live virtual servers are ours (apply's rule: on our dummy interface or a node address).
 */
export function compareIpvs(desired: IpvsRuleset, live: IpvsLive, owners: IpvsOwners, owns: (v: LiveVirtualServer) => boolean): RulesetDifference[] {
  const out: RulesetDifference[] = [];
  const addrOwner = (cidr: string) => owners.byIP.get(cidr.slice(0, cidr.indexOf('/')));

  // Addresses on the dummy interface.
  const haveAddrs = new Set(live.interfaceAddresses);
  const wantAddrs = new Set(desired.interfaceAddresses);
  for (const a of desired.interfaceAddresses) {
    if (!haveAddrs.has(a)) out.push(withService({ kind: 'address', object: `${a} on ${DUMMY_INTERFACE}`, change: 'missing' }, addrOwner(a)));
  }
  for (const a of live.interfaceAddresses) {
    if (!wantAddrs.has(a)) out.push(withService({ kind: 'address', object: `${a} on ${DUMMY_INTERFACE}`, change: 'extra' }, addrOwner(a)));
  }

  // ipsets: diffIpsets' restore lines.
  const sets = desired.families.flatMap((f) => f.ipsets);
  const { rebuild, adds, dels } = diffIpsets(sets, new Map(live.ipsets));
  for (const line of rebuild) {
    const w = line.split(' ');
    if (w[0] === 'swap') out.push({ kind: 'ipset', object: w[2]!, change: 'different', detail: 'no counters (created by an older svcplane): a sync rebuilds it with them' });
  }
  const created = new Set<string>();
  for (const line of adds) {
    const w = line.split(' ');
    if (w[0] === 'create') {
      created.add(w[1]!);
      const n = sets.find((s) => s.name === w[1])?.entries.length ?? 0;
      out.push({ kind: 'ipset', object: w[1]!, change: 'missing', detail: `${n} entries` });
    } else if (!created.has(w[1]!)) {
      out.push(withService({ kind: 'ipset entry', object: `${w[1]} ${w[2]}`, change: 'missing' }, entryOwner(w[1]!, w[2]!, owners)));
    }
  }
  for (const line of dels) {
    const w = line.split(' ');
    out.push(withService({ kind: 'ipset entry', object: `${w[1]} ${w[2]}`, change: 'extra' }, entryOwner(w[1]!, w[2]!, owners)));
  }

  // The helper iptables rules (static: they never name a Service).
  for (const f of desired.families) {
    const tool = f.family === 'IPv4' ? 'iptables' : 'ip6tables';
    const want = ourRules(f.iptables).split('\n');
    const have = ourRules(live.iptables[f.family]).split('\n');
    for (const l of linesNotIn(want, have)) out.push({ kind: `${tool} rule`, object: l, change: 'missing' });
    for (const l of linesNotIn(have, want)) out.push({ kind: `${tool} rule`, object: l, change: 'extra' });
  }
  for (const h of live.missingHooks ?? []) out.push({ kind: 'jump', object: h, change: 'missing' });

  // Virtual and real servers: diffIpvs' ipvsadm lines.
  const vss = desired.families.flatMap((f) => f.virtualServers);
  const vsOwner = (proto: string, hp: string) => {
    const a = splitHostPort(hp);
    return a ? owners.byAddress.get(`${proto}|${a.address}|${a.port}`) : undefined;
  };
  const PROTO: Record<string, string> = { '-t': 'tcp', '-u': 'udp', '--sctp-service': 'sctp' };
  const addedVs = new Set<string>();
  for (const line of diffIpvs(vss, live.virtualServers, owns)) {
    const w = line.split(' ');
    const [op, flag, hp] = w as [string, string, string];
    const proto = PROTO[flag] ?? flag;
    const vs = `${proto} ${hp}`;
    const svc = vsOwner(proto, hp);
    const opt = (f: string) => (w.includes(f) ? w[w.indexOf(f) + 1] : undefined);
    switch (op) {
      case '-A':
        addedVs.add(vs);
        out.push(withService({ kind: 'virtual server', object: vs, change: 'missing', detail: `scheduler ${opt('-s')}` }, svc));
        break;
      case '-E':
        out.push(withService({ kind: 'virtual server', object: vs, change: 'different', detail: `wanted scheduler ${opt('-s')}, persistence ${opt('-p') ?? 'none'}` }, svc));
        break;
      case '-D':
        out.push(withService({ kind: 'virtual server', object: vs, change: 'extra' }, svc));
        break;
      case '-a':
        if (!addedVs.has(vs)) out.push(withService({ kind: 'real server', object: `${vs} -> ${opt('-r')}`, change: 'missing' }, svc));
        break;
      case '-e':
        out.push(withService({ kind: 'real server', object: `${vs} -> ${opt('-r')}`, change: 'different', detail: `wanted weight ${opt('-w')}` }, svc));
        break;
      case '-d':
        out.push(withService({ kind: 'real server', object: `${vs} -> ${opt('-r')}`, change: 'extra' }, svc));
        break;
    }
  }
  return out;
}

function ipsetsOf(section: string, family: IPFamily): Ipset[] {
  return [...parseIpsetSave(section).values()].map((s) => ({
    name: s.name,
    type: s.header.split(' ')[0] as IpsetType,
    family,
    comment: '',
    ...(hasCounters(s) ? { counters: true } : {}),
    entries: [...s.entries].sort(),
  }));
}

/**
 * A rendered IPVS document as a ruleset (virtual servers keep their `# ns/name:port`
 * labels) and as the state its tools would print once it is applied.
 */
export function parseIpvsDocument(text: string): { ruleset: IpvsRuleset; live: IpvsLive } {
  const sections = splitSections(text);
  const section = (k: string) => sections.get(k) ?? '';
  // Virtual servers with the label line before each.
  const virtualServers: VirtualServer[] = [];
  const raw = text.slice(Math.max(0, text.indexOf(`# == ${SECTION.ipvs}`)));
  let label = '';
  let block: string[] = [];
  const flush = () => {
    for (const v of parseIpvsadmSave(block.join('\n'))) virtualServers.push({ ...v, service: label });
    block = [];
  };
  for (const line of raw.split('\n').slice(1)) {
    if (line.startsWith('# ')) {
      flush();
      label = line.slice(2);
    } else if (line.trim()) block.push(line);
  }
  flush();
  const isV6 = (a: string) => a.includes(':');
  const families = (['IPv4', 'IPv6'] as const).map((family) => ({
    family,
    ipsets: ipsetsOf(section(family === 'IPv4' ? SECTION.ipset4 : SECTION.ipset6), family),
    iptables: section(family === 'IPv4' ? SECTION.iptables4 : SECTION.iptables6),
    virtualServers: virtualServers.filter((v) => isV6(v.address) === (family === 'IPv6')),
  }));
  const interfaceAddresses = section(SECTION.addresses).split('\n').filter(Boolean);
  const ruleset: IpvsRuleset = { interfaceAddresses, families };
  const live: IpvsLive = {
    virtualServers: parseIpvsadmSave(section(SECTION.ipvs)),
    ipsets: parseIpsetSave(section(SECTION.ipset4) + section(SECTION.ipset6)),
    iptables: { IPv4: families[0].iptables, IPv6: families[1].iptables },
    interfaceAddresses,
  };
  return { ruleset, live };
}

/** Reads IPVS mode's state from this network namespace (or `netns`). Reads only. Needs the ip_vs module. */
export async function readIpvsLive(exec: Exec = systemExec, netns?: string): Promise<IpvsLive> {
  const t: IpvsTools = { exec, ...(netns ? { netns } : {}), iptables: new IptablesRunner(netns, undefined, exec) };
  const missingHooks: string[] = [];
  const iptables = { IPv4: '', IPv6: '' };
  for (const family of FAMILIES) {
    const chains = await readHelperChains(t, family);
    for (const table of TABLES) iptables[family] += tableText(table, [...chains[table]].map(([name, rules]) => ({ name, rules })));
    for (const j of HOOK_JUMPS) {
      // ensureJumps in dry-run mode only checks (-C): 1 means this jump is missing.
      if (await ensureJumps(t.iptables, family, true, [j])) missingHooks.push(`${family === 'IPv4' ? 'iptables' : 'ip6tables'} ${j.table} ${j.chain} -> ${j.rule.at(-1)}`);
    }
  }
  return {
    virtualServers: await readVirtualServers(t),
    ipsets: parseIpsetSave(await run(t, 'ipset', ['save'])),
    iptables,
    interfaceAddresses: [...((await readDummy(t)) ?? [])],
    missingHooks,
  };
}

/** What `svcplane check` reports for IPVS: this namespace against the render, as apply would compute it. Reads only. */
export async function checkIpvs(input: RenderInput, options: Pick<ApplyOptions, 'preserveServices'> = {}): Promise<RulesetDifference[]> {
  const live = await readIpvsLive();
  const onDummy = addressesOf(live.interfaceAddresses);
  const node = nodeForApply(input.node, await readLocalAddresses(), onDummy);
  const desired = renderIpvs({ ...input, node });
  const keep = options.preserveServices ?? [];
  // As apply: preserved Services' virtual servers are on neither side.
  const plan = preservePlan(desired.families.flatMap((f) => f.virtualServers), live.virtualServers, keep);
  const kept = new Set(plan.desired.map((v) => `${v.protocol}|${v.address}|${v.port}`));
  const families = desired.families.map((f) => ({ ...f, virtualServers: f.virtualServers.filter((v) => kept.has(`${v.protocol}|${v.address}|${v.port}`)) }));
  const served = new Set([...desired.interfaceAddresses.map((a) => a.slice(0, a.indexOf('/'))), ...onDummy, ...(node.localAddresses ?? []), ...node.addresses]);
  const owners = ipvsOwners([input.plan], desired.families.flatMap((f) => f.virtualServers));
  const diffs = compareIpvs({ ...desired, families }, { ...live, virtualServers: plan.live }, owners, ownsVirtualServer(served, input.config.ipvsExcludeCIDRs));
  // As apply: while any input is skipped, nothing is removed (IPVS keeps no owner to tell whose it is).
  return keep.length ? diffs.filter((d) => !(d.change === 'extra' && (d.kind === 'virtual server' || d.kind === 'ipset entry'))) : diffs;
}
