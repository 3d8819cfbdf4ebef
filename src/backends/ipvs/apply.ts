// IPVS mode's one-shot apply and cleanup. Apply is a fresh syncer's full sync
// (syncer.ts: read everything back, send only the difference, in kube-proxy's order),
// after setting the sysctls and reading this namespace's addresses. Cleanup removes
// everything of ours. Every tool runs through src/exec; the helper iptables rules
// through the iptables backend's runner (and so the node's iptables flavour).

import type { ApplyOptions, ApplyResult } from '../backend.js';
import type { Exec } from '../../exec/exec.js';
import { systemExec } from '../../exec/system-exec.js';
import { canonicalIP } from '../../model/ip.js';
import type { RenderInput } from '../../model/render-input.js';
import { IptablesRunner, removeJumps } from '../iptables/apply.js';
import { tableText } from '../iptables/document.js';
import { readLocalAddresses } from '../local-addresses.js';
import { ensureSysctls } from '../sysctl.js';
import { parseIpsetSave, parseIpvsadmSave } from './diff.js';
import { HOOK_JUMPS, TABLES } from './iptables-rules.js';
import { addressesOf, FAMILIES, readDummy, run, tryRun, type IpvsTools } from './kernel.js';
import { ipvsSysctls } from './kernel-settings.js';
import { DUMMY_INTERFACE } from './ruleset.js';
import { IpvsSyncer } from './syncer.js';

export { IPVS_SYSCTLS } from './kernel-settings.js';
export { nodeForApply } from './sync-plan.js';
export { preservePlan } from './preserve.js';

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

export async function applyIpvs(input: RenderInput, options: ApplyOptions = {}, exec: Exec = systemExec): Promise<ApplyResult> {
  const node = { ...input.node, localAddresses: await readLocalAddresses() };
  if (!options.dryRun) await ensureSysctls(ipvsSysctls(input.config));
  const r = await new IpvsSyncer({ exec }).sync({ ...input, node }, { full: true, preserve: options.preserveServices ?? [], dryRun: options.dryRun ?? false });
  return { changes: r.changes, transaction: r.transaction };
}

/**
 * Removes everything of ours in IPVS mode: virtual servers, hooks, chains, sets, the interface.
 * Virtual servers are ours when apply would count them so: on an address of our dummy
 * interface (Service addresses) or on one of this namespace's own addresses (NodePorts;
 * apply's diff also deletes stale virtual servers there). IPVS keeps no owner.
 */
export async function cleanupIpvs(exec: Exec = systemExec): Promise<number> {
  const t: IpvsTools = { exec, iptables: new IptablesRunner(undefined, undefined, exec) };
  let removed = 0;
  const dummy = await readDummy(t);
  const ours = new Set([...addressesOf(dummy ?? []), ...(await readLocalAddresses())]);
  const ipvs = await tryRun(t, 'ipvsadm', ['-Sn']);
  if (ipvs.ok) {
    const dels = parseIpvsadmSave(ipvs.stdout)
      .filter((v) => ours.has(canonicalIP(v.address) ?? v.address))
      .map((v) => `-D ${v.protocol === 'tcp' ? '-t' : v.protocol === 'udp' ? '-u' : '--sctp-service'} ${v.address.includes(':') ? `[${v.address}]` : v.address}:${v.port}`);
    if (dels.length) await run(t, 'ipvsadm', ['-R'], dels.join('\n') + '\n');
    removed += dels.length;
  }
  if (dummy !== undefined) {
    await run(t, 'ip', ['link', 'del', DUMMY_INTERFACE]);
    removed++;
  }
  for (const family of FAMILIES) {
    removed += await removeJumps(t.iptables, family, HOOK_JUMPS);
    for (const table of TABLES) {
      const chains = [...(await t.iptables.savedChains(family, table)).keys()];
      if (chains.length === 0) continue;
      // One transaction per table: flushed, then deleted. It fails whole while another
      // jump still points at one of them (iptables mode's hooks): its own cleanup, which
      // runs next and removes its jumps first, deletes them then.
      try {
        await t.iptables.restore(family, tableText(table, [], chains));
        removed += chains.length;
      } catch {
        continue;
      }
    }
  }
  // No ipset binary (a node that never ran IPVS mode): no sets of ours either.
  const save = await tryRun(t, 'ipset', ['save']);
  for (const name of parseIpsetSave(save.ok ? save.stdout : '').keys()) {
    if (!/^SVP6?-/.test(name)) continue;
    if ((await tryRun(t, 'ipset', ['destroy', name])).ok) removed++;
  }
  return removed;
}
