// The only IPVS-mode code that touches the kernel. In order: sysctls, the IPVS
// timeouts (ipvsadm --set, when configured and different), the dummy
// interface and its addresses, ipset members added, the static helper rules
// (only when they differ) and their hooks, IPVS virtual/real servers changed,
// then ipset members removed (after IPVS no longer sends traffic their way).
// Every step reads the kernel back first and sends only the difference.

import { execa } from 'execa';
import type { ApplyOptions, ApplyResult } from '../backend.js';
import type { RenderInput } from '../../model/render-input.js';
import { canonicalIP } from '../../model/ip.js';
import type { NodeContext } from '../../model/node.js';
import { readLocalAddresses } from '../local-addresses.js';
import { execWithInput } from '../stdin-file.js';
import { ensureSysctls } from '../sysctl.js';
import { diffIpsets, diffIpvs, parseIpsetSave, parseIpvsadmSave, type LiveVirtualServer } from './diff.js';
import { HOOKS, TABLES } from './iptables-rules.js';
import { ipvsSysctls, ownsVirtualServer, ipvsTimeoutArgs, parseIpvsTimeouts } from './kernel-settings.js';
import { renderIpvs } from './render.js';
import { DUMMY_INTERFACE, type IpvsRuleset, type VirtualServer } from './ruleset.js';

export { IPVS_SYSCTLS } from './kernel-settings.js';

async function run(file: string, args: string[], input?: string): Promise<string> {
  const r = input === undefined ? await execa(file, args, { reject: false }) : await execWithInput(file, args, input);
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${String(r.stderr).trim()}`);
  return String(r.stdout);
}

async function syncInterface(r: IpvsRuleset, removeStale: boolean): Promise<string[]> {
  const sent: string[] = [];
  const links = JSON.parse(await run('ip', ['-j', 'link', 'show'])) as { ifname: string }[];
  if (!links.some((l) => l.ifname === DUMMY_INTERFACE)) {
    await run('ip', ['link', 'add', DUMMY_INTERFACE, 'type', 'dummy']);
    sent.push(`ip link add ${DUMMY_INTERFACE} type dummy`);
  }
  await run('ip', ['link', 'set', DUMMY_INTERFACE, 'up']);
  const info = JSON.parse(await run('ip', ['-j', 'addr', 'show', 'dev', DUMMY_INTERFACE])) as { addr_info?: { local: string; prefixlen: number; scope?: string }[] }[];
  const have = new Set((info[0]?.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`));
  const want = new Set(r.interfaceAddresses);
  for (const a of want) {
    if (have.has(a)) continue;
    await run('ip', ['addr', 'add', a, 'dev', DUMMY_INTERFACE, ...(a.includes(':') ? ['nodad'] : [])]);
    sent.push(`ip addr add ${a} dev ${DUMMY_INTERFACE}`);
  }
  for (const a of have) {
    if (want.has(a) || !removeStale) continue;
    await run('ip', ['addr', 'del', a, 'dev', DUMMY_INTERFACE]);
    sent.push(`ip addr del ${a} dev ${DUMMY_INTERFACE}`);
  }
  return sent;
}

/**
 * Our chains, comparable between the rendered rules and `iptables-save` output:
 * per table, our chain declarations (counters dropped) sorted, then our rules grouped
 * by chain in their order. iptables-save lists chains alphabetically and each chain's
 * rules together, while the render interleaves chains; the rules themselves are
 * rendered in the syntax iptables-save prints (see iptables-rules.ts).
 */
export function ourRules(save: string): string {
  const out: string[] = [];
  let decls: string[] = [];
  let rules = new Map<string, string[]>();
  const flush = () => {
    out.push(...decls.sort(), ...[...rules.keys()].sort().flatMap((c) => rules.get(c)!));
    decls = [];
    rules = new Map();
  };
  for (const l of save.split('\n')) {
    if (l.startsWith('*')) out.push(l);
    else if (l === 'COMMIT') {
      flush();
      out.push(l);
    } else if (l.startsWith(':SVP-')) decls.push(l.replace(/^(:SVP-\S+ \S+) \[\d+:\d+\]$/, '$1 [0:0]'));
    else if (l.startsWith('-A SVP-')) {
      const chain = l.split(' ')[1]!;
      rules.set(chain, [...(rules.get(chain) ?? []), l]);
    }
  }
  return out.join('\n');
}

async function syncIptables(r: IpvsRuleset): Promise<string[]> {
  const sent: string[] = [];
  for (const f of r.families) {
    const v4 = f.family === 'IPv4';
    const [save, restore, tool] = v4 ? ['iptables-save', 'iptables-restore', 'iptables'] : ['ip6tables-save', 'ip6tables-restore', 'ip6tables'];
    let live = '';
    for (const table of TABLES) live += await run(save, ['-t', table]);
    live = ourRules(live);
    if (live !== ourRules(f.iptables)) {
      await run(restore, ['--noflush', '-w'], f.iptables);
      sent.push(f.iptables);
    }
    for (const [table, builtin, chain] of HOOKS) {
      const rule = ['-t', table, '-m', 'comment', '--comment', 'svcplane', '-j', chain];
      const check = await execa(tool, ['-w', '-C', builtin, ...rule], { reject: false });
      if (check.exitCode !== 0) {
        await run(tool, ['-w', '-I', builtin, ...rule]);
        sent.push(`${tool} -I ${builtin} -j ${chain}`);
      }
    }
  }
  return sent;
}

/** Addresses now on our dummy interface (none when it does not exist yet). */
async function dummyAddresses(): Promise<Set<string>> {
  const r = await execa('ip', ['-j', 'addr', 'show', 'dev', DUMMY_INTERFACE], { reject: false });
  if (r.exitCode !== 0) return new Set();
  const info = JSON.parse(String(r.stdout)) as { addr_info?: { local?: string }[] }[];
  return new Set((info[0]?.addr_info ?? []).flatMap((a) => (a.local && canonicalIP(a.local) ? [canonicalIP(a.local)!] : [])));
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

export async function applyIpvs(input: RenderInput, options: ApplyOptions = {}): Promise<ApplyResult> {
  const onDummy = await dummyAddresses();
  const node = nodeForApply(input.node, await readLocalAddresses(), onDummy);
  const r = renderIpvs({ ...input, node });
  const keep = options.preserveServices ?? [];
  // Set members carry no owner: the ones to add come from the input without the
  // preserved Services (theirs stay as the kernel has them; nothing is removed).
  const forSets = keep.length ? renderIpvs({ ...input, node, plan: withoutServices(input, keep) }) : r;
  const sets = forSets.families.flatMap((f) => f.ipsets);
  const setDiff = diffIpsets(sets, parseIpsetSave(await run('ipset', ['save'])));
  const vips = new Set(r.interfaceAddresses.map((a) => a.slice(0, a.indexOf('/'))));
  // Ours: the addresses we want on the dummy interface, those still on it (a deleted
  // Service's virtual server goes with its address), and the node's own.
  const served = new Set([...vips, ...onDummy, ...(node.localAddresses ?? []), ...node.addresses]);
  const liveVs = parseIpvsadmSave(await run('ipvsadm', ['-Sn']));
  const plan = preservePlan(r.families.flatMap((f) => f.virtualServers), liveVs, keep);
  let ipvsCmds = diffIpvs(plan.desired, plan.live, ownsVirtualServer(served, input.config.ipvsExcludeCIDRs));
  if (keep.length) {
    // A Service whose Service object was malformed is not in the input at all, and IPVS
    // keeps no owner per virtual server: while any input is skipped, remove nothing.
    ipvsCmds = ipvsCmds.filter((c) => !c.startsWith('-D '));
    setDiff.dels.length = 0;
  }
  const timeouts = input.config.ipvsTimeouts ? ipvsTimeoutArgs(input.config.ipvsTimeouts, parseIpvsTimeouts(await run('ipvsadm', ['-L', '--timeout']))) : undefined;
  const timeoutLine = timeouts ? [`ipvsadm ${timeouts.join(' ')}`] : [];
  if (options.dryRun) {
    const text = [...timeoutLine, ...setDiff.adds, ...ipvsCmds, ...setDiff.dels].join('\n');
    return { changes: timeoutLine.length + setDiff.adds.length + ipvsCmds.length + setDiff.dels.length, transaction: text ? text + '\n' : '' };
  }
  await ensureSysctls(ipvsSysctls(input.config));
  const sent: string[] = [];
  if (timeouts) {
    await run('ipvsadm', timeouts);
    sent.push(...timeoutLine);
  }
  sent.push(...(await syncInterface(r, keep.length === 0)));
  if (setDiff.adds.length) await run('ipset', ['restore'], setDiff.adds.join('\n') + '\n');
  sent.push(...setDiff.adds, ...(await syncIptables(r)));
  if (ipvsCmds.length) await run('ipvsadm', ['-R'], ipvsCmds.join('\n') + '\n');
  sent.push(...ipvsCmds);
  if (setDiff.dels.length) await run('ipset', ['restore'], setDiff.dels.join('\n') + '\n');
  sent.push(...setDiff.dels);
  return { changes: sent.length, transaction: sent.length ? sent.join('\n') + '\n' : '' };
}

/**
 * Removes everything of ours in IPVS mode: virtual servers, hooks, chains, sets, the interface.
 * Virtual servers are ours when apply would count them so: on an address of our dummy
 * interface (Service addresses) or on one of this namespace's own addresses (NodePorts;
 * apply's diff also deletes stale virtual servers there). IPVS keeps no owner.
 */
export async function cleanupIpvs(): Promise<number> {
  let removed = 0;
  const links = JSON.parse(await run('ip', ['-j', 'link', 'show'])) as { ifname: string }[];
  const hasLink = links.some((l) => l.ifname === DUMMY_INTERFACE);
  const ours = new Set([...(await dummyAddresses()), ...(await readLocalAddresses())]);
  const ipvs = await execa('ipvsadm', ['-Sn'], { reject: false });
  if (ipvs.exitCode === 0) {
    const dels = parseIpvsadmSave(String(ipvs.stdout))
      .filter((v) => ours.has(canonicalIP(v.address) ?? v.address))
      .map((v) => `-D ${v.protocol === 'tcp' ? '-t' : v.protocol === 'udp' ? '-u' : '--sctp-service'} ${v.address.includes(':') ? `[${v.address}]` : v.address}:${v.port}`);
    if (dels.length) await run('ipvsadm', ['-R'], dels.join('\n') + '\n');
    removed += dels.length;
  }
  if (hasLink) {
    await run('ip', ['link', 'del', DUMMY_INTERFACE]);
    removed++;
  }
  for (const [tool, save] of [['iptables', 'iptables-save'], ['ip6tables', 'ip6tables-save']] as const) {
    for (const [table, builtin, chain] of HOOKS) {
      const rule = ['-t', table, '-m', 'comment', '--comment', 'svcplane', '-j', chain];
      while ((await execa(tool, ['-w', '-D', builtin, ...rule], { reject: false })).exitCode === 0) removed++;
    }
    for (const table of TABLES) {
      const listed = await execa(save, ['-t', table], { reject: false });
      if (listed.exitCode !== 0) continue;
      const chains = String(listed.stdout).split('\n').filter((l) => l.startsWith(':SVP-')).map((l) => l.slice(1).split(' ')[0]!);
      for (const c of chains) await execa(tool, ['-w', '-t', table, '-F', c], { reject: false });
      for (const c of chains) if ((await execa(tool, ['-w', '-t', table, '-X', c], { reject: false })).exitCode === 0) removed++;
    }
  }
  // No ipset binary (a node that never ran IPVS mode): no sets of ours either.
  const save = await execa('ipset', ['save'], { reject: false });
  const sets = parseIpsetSave(save.exitCode === 0 ? String(save.stdout) : '');
  for (const name of sets.keys()) {
    if (!/^SVP6?-/.test(name)) continue;
    if ((await execa('ipset', ['destroy', name], { reject: false })).exitCode === 0) removed++;
  }
  return removed;
}

/**
 * Virtual servers of preserved Services (their EndpointSlice was malformed; the
 * Service itself is known, so its virtual servers are) are left out of both
 * sides of the diff: the kernel keeps them exactly as they are.
 */
export function preservePlan(
  desired: readonly VirtualServer[],
  live: readonly LiveVirtualServer[],
  keep: readonly string[],
): { desired: VirtualServer[]; live: LiveVirtualServer[] } {
  if (keep.length === 0) return { desired: [...desired], live: [...live] };
  const kept = (v: VirtualServer) => keep.some((k) => v.service.startsWith(`${k}:`));
  const key = (v: { protocol: string; address: string; port: number }) => `${v.protocol}|${v.address}|${v.port}`;
  const keptKeys = new Set(desired.filter(kept).map(key));
  return { desired: desired.filter((v) => !kept(v)), live: live.filter((v) => !keptKeys.has(key(v))) };
}

function withoutServices(input: RenderInput, keep: readonly string[]): RenderInput['plan'] {
  return { ...input.plan, services: input.plan.services.filter((x) => !keep.includes(`${x.namespace}/${x.name}`)) };
}
