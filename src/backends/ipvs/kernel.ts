// IPVS mode's reads of the kernel, and the tool calls that change it: ipvsadm, ipset
// and ip through src/exec (a FakeExec in unit tests), the helper iptables rules through
// the iptables backend's runner (iptables-restore --noflush, its jump handling, and the
// node's iptables flavour, nft or legacy, chosen as iptables mode chooses it).

import { runChecked, type Exec } from '../../exec/exec.js';
import { canonicalIP, type IPFamily } from '../../model/ip.js';
import type { IptablesRunner } from '../iptables/apply.js';
import { parseIpsetSave, parseIpvsadmSave, vsKey, type LiveIpset, type LiveVirtualServer } from './diff.js';
import { TABLES, type HelperChains } from './iptables-rules.js';
import { DUMMY_INTERFACE } from './ruleset.js';

/** Where IPVS mode's tools run: here, or in network namespace `netns` (tests). */
export interface IpvsTools {
  readonly exec: Exec;
  readonly netns?: string;
  readonly iptables: IptablesRunner;
}

export const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

/**
 * What IPVS mode's part of the kernel holds, as last read back plus what was sent
 * since (the syncer's memory). Mutable: the syncer advances it after each send.
 */
export interface IpvsKernelState {
  /** Whether DUMMY_INTERFACE exists. */
  dummyExists: boolean;
  /** CIDRs on DUMMY_INTERFACE (scope not link). */
  readonly dummy: Set<string>;
  /** Virtual servers by `proto|address|port`. */
  readonly virtualServers: Map<string, LiveVirtualServer>;
  readonly ipsets: Map<string, LiveIpset>;
  /** Our chains per family and table, as iptables-save prints them. */
  readonly chains: Record<IPFamily, HelperChains>;
}

function command(t: IpvsTools, file: string, args: readonly string[], input?: string) {
  return { file, args, ...(t.netns ? { netns: t.netns } : {}), ...(input !== undefined ? { input } : {}) };
}

/** Runs one tool; throws an ExecError naming the command when it fails. */
export function run(t: IpvsTools, file: string, args: readonly string[], input?: string): Promise<string> {
  return runChecked(t.exec, command(t, file, args, input));
}

/** Runs one tool; its exit code, never a throw (for "is it there?" questions). */
export async function tryRun(t: IpvsTools, file: string, args: readonly string[]): Promise<{ ok: boolean; stdout: string }> {
  const r = await t.exec.run(command(t, file, args));
  return { ok: r.exitCode === 0, stdout: r.stdout };
}

/** CIDRs on our dummy interface; undefined when it does not exist. */
export async function readDummy(t: IpvsTools): Promise<Set<string> | undefined> {
  const r = await tryRun(t, 'ip', ['-j', 'addr', 'show', 'dev', DUMMY_INTERFACE]);
  if (!r.ok) return undefined;
  const info = JSON.parse(r.stdout) as { addr_info?: { local: string; prefixlen: number; scope?: string }[] }[];
  return new Set((info[0]?.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${canonicalIP(a.local) ?? a.local}/${a.prefixlen}`));
}

/** The addresses of a set of CIDRs. */
export function addressesOf(cidrs: Iterable<string>): Set<string> {
  return new Set([...cidrs].map((c) => c.slice(0, c.indexOf('/'))));
}

export async function readVirtualServers(t: IpvsTools): Promise<LiveVirtualServer[]> {
  return parseIpvsadmSave(await run(t, 'ipvsadm', ['-Sn']));
}

/** Our chains of one family in the helper tables. */
export async function readHelperChains(t: IpvsTools, family: IPFamily): Promise<HelperChains> {
  const out = {} as HelperChains;
  for (const table of TABLES) out[table] = await t.iptables.savedChains(family, table);
  return out;
}

/** Everything of IPVS mode's in the kernel (a full sync's read-back). */
export async function readKernelState(t: IpvsTools): Promise<IpvsKernelState> {
  const dummy = await readDummy(t);
  const chains = {} as Record<IPFamily, HelperChains>;
  for (const f of FAMILIES) chains[f] = await readHelperChains(t, f);
  return {
    dummyExists: dummy !== undefined,
    dummy: dummy ?? new Set(),
    virtualServers: new Map((await readVirtualServers(t)).map((v) => [vsKey(v), v])),
    ipsets: parseIpsetSave(await run(t, 'ipset', ['save'])),
    chains,
  };
}
