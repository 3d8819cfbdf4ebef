// One sync of IPVS mode as data: the render against what the kernel holds (read back,
// or as the syncer remembers it) -> the commands of each step, in apply order, and the
// state the kernel is in once they are sent. Pure, apart from advanceState, which
// updates the syncer's memory in place after a successful send.

import type { NodeContext } from '../../model/node.js';
import type { RenderInput } from '../../model/render-input.js';
import type { IPFamily } from '../../model/ip.js';
import { advanceIpsets } from '../ipset.js';
import { tableText } from '../iptables/document.js';
import { diffIpsets, diffIpvs, parseIpvsadmSave, splitHostPort, vsKey } from './diff.js';
import { helperChains, TABLES } from './iptables-rules.js';
import { addressesOf, FAMILIES, type IpvsKernelState } from './kernel.js';
import { ownsVirtualServer } from './kernel-settings.js';
import { keepVirtualServers, preservePlan, withoutServices } from './preserve.js';
import { renderIpvs } from './render.js';
import type { IpvsRuleset } from './ruleset.js';

export interface IpvsSyncPlan {
  readonly ruleset: IpvsRuleset;
  readonly createInterface: boolean;
  /** CIDRs to add to and delete from the dummy interface. */
  readonly addressAdds: readonly string[];
  readonly addressDels: readonly string[];
  /** `ipset restore` lines: rebuilt with counters, created and added before IPVS, removed after it. */
  readonly setAdds: readonly string[];
  readonly setDels: readonly string[];
  /** `iptables-restore --noflush` input per family for the helper chains that differ; '' when none. */
  readonly iptables: Readonly<Record<IPFamily, string>>;
  /** `ipvsadm -R` lines. */
  readonly ipvs: readonly string[];
}

/**
 * The node as render sees it at apply: the addresses on its interfaces, minus those on
 * our dummy interface. Those are Service addresses, not node addresses (kube-proxy
 * leaves kube-ipvs0 out the same way); counted as local, every ClusterIP would get
 * NodePort virtual servers from the second sync on.
 */
export function nodeForApply(node: NodeContext, localAddresses: readonly string[], onDummy: ReadonlySet<string>): NodeContext {
  return { ...node, localAddresses: localAddresses.filter((a) => !onDummy.has(a)) };
}

export function planIpvsSync(input: RenderInput, live: IpvsKernelState, keep: readonly string[]): IpvsSyncPlan {
  const onDummy = addressesOf(live.dummy);
  const node = input.node.localAddresses ? nodeForApply(input.node, input.node.localAddresses, onDummy) : input.node;
  const ruleset = renderIpvs({ ...input, node });
  const forSets = keep.length ? renderIpvs({ ...input, node, plan: withoutServices(input, keep) }) : ruleset;
  const sets = diffIpsets(
    forSets.families.flatMap((f) => f.ipsets),
    live.ipsets,
  );
  // Ours: the addresses we want on the dummy interface, those still on it (a deleted
  // Service's virtual server goes with its address), and the node's own.
  const served = new Set([...addressesOf(ruleset.interfaceAddresses), ...onDummy, ...(node.localAddresses ?? []), ...node.addresses]);
  const vs = preservePlan(
    ruleset.families.flatMap((f) => f.virtualServers),
    [...live.virtualServers.values()],
    keep,
  );
  const ipvs = keepVirtualServers(diffIpvs(vs.desired, vs.live, ownsVirtualServer(served, input.config.ipvsExcludeCIDRs)), keep);
  const want = new Set(ruleset.interfaceAddresses);
  const iptables = {} as Record<IPFamily, string>;
  for (const f of ruleset.families) {
    const desired = helperChains(f.iptables);
    let text = '';
    for (const table of TABLES) {
      const have = live.chains[f.family][table];
      const changed = [...desired[table]].filter(([name, rules]) => !sameLines(have.get(name), rules)).map(([name, rules]) => ({ name, rules }));
      if (changed.length) text += tableText(table, changed);
    }
    iptables[f.family] = text;
  }
  return {
    ruleset,
    createInterface: !live.dummyExists,
    addressAdds: [...want].filter((a) => !live.dummy.has(a)),
    addressDels: keep.length ? [] : [...live.dummy].filter((a) => !want.has(a)),
    setAdds: [...sets.rebuild, ...sets.adds],
    setDels: keep.length ? [] : sets.dels,
    iptables,
    ipvs,
  };
}

function sameLines(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The kernel state once `plan` was sent: `state` updated in place. */
export function advanceState(state: IpvsKernelState, plan: IpvsSyncPlan): void {
  state.dummyExists = true;
  for (const a of plan.addressAdds) state.dummy.add(a);
  for (const a of plan.addressDels) state.dummy.delete(a);
  advanceIpsets(state.ipsets, [...plan.setAdds, ...plan.setDels]);
  for (const line of plan.ipvs) advanceVirtualServers(state.virtualServers, line);
  for (const f of FAMILIES) {
    const family = plan.ruleset.families.find((x) => x.family === f);
    if (!family || !plan.iptables[f]) continue;
    const desired = helperChains(family.iptables);
    for (const table of TABLES) for (const [name, rules] of desired[table]) state.chains[f][table].set(name, rules);
  }
}

const FLAG_PROTO: Record<string, string> = { '-t': 'tcp', '-u': 'udp', '--sctp-service': 'sctp' };

/** One `ipvsadm -R` line (as diffIpvs writes them) applied to the virtual servers. */
function advanceVirtualServers(vss: IpvsKernelState['virtualServers'], line: string): void {
  const w = line.split(' ');
  const opt = (flag: string) => (w.includes(flag) ? w[w.indexOf(flag) + 1] : undefined);
  const at = splitHostPort(w[2]!);
  const key = vsKey({ protocol: FLAG_PROTO[w[1]!]!, ...at });
  const vs = vss.get(key);
  const rs = opt('-r') ? splitHostPort(opt('-r')!) : undefined;
  switch (w[0]) {
    case '-A':
      for (const v of parseIpvsadmSave(line)) vss.set(key, v);
      break;
    case '-E':
      if (vs) {
        const p = opt('-p');
        const { persistentSeconds: _, ...rest } = vs;
        vss.set(key, { ...rest, scheduler: opt('-s') ?? vs.scheduler, ...(p ? { persistentSeconds: Number(p) } : {}) });
      }
      break;
    case '-D':
      vss.delete(key);
      break;
    case '-a':
      vs?.realServers.push({ ...rs!, weight: Number(opt('-w') ?? '1') });
      break;
    case '-e':
    case '-d': {
      if (!vs) break;
      const i = vs.realServers.findIndex((r) => r.address === rs!.address && r.port === rs!.port);
      if (i < 0) break;
      if (w[0] === '-d') vs.realServers.splice(i, 1);
      else vs.realServers[i] = { ...vs.realServers[i]!, weight: Number(opt('-w') ?? '1') };
      break;
    }
  }
}

/** Lines for the reader of a transaction. */
export function interfaceLines(plan: IpvsSyncPlan, dummy: string): string[] {
  return [
    ...(plan.createInterface ? [`ip link add ${dummy} type dummy`] : []),
    ...plan.addressAdds.map((a) => `ip addr add ${a} dev ${dummy}`),
    ...plan.addressDels.map((a) => `ip addr del ${a} dev ${dummy}`),
  ];
}

/** IPv6 addresses need `nodad`: a duplicate-address probe would hold them tentative. */
export function addressArgs(cidr: string): string[] {
  return cidr.includes(':') ? ['nodad'] : [];
}
