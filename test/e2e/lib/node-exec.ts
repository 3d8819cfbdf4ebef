// Running commands in the test bed's namespaces, and reading back what the kernel holds
// there (nft ruleset, iptables-save, conntrack), for backend tests.

import type { NodeName } from './addresses.js';
import { nsExec, type ExecOptions, type ExecResult } from './netns.js';
import type { Topology } from './topology.js';

export type { ExecOptions, ExecResult } from './netns.js';

export interface NodeExecOptions extends ExecOptions {
  /** Which node namespace (default node1: the node the backend under test programs). */
  readonly node?: NodeName;
}

/** Runs `argv` in a node namespace, e.g. `nodeExec(t, ['nft', '-j', '-f', '-'], { input })`. Throws on failure unless reject: false. */
export async function nodeExec(topology: Topology, argv: readonly string[], options: NodeExecOptions = {}): Promise<ExecResult> {
  const { node = 'node1', ...rest } = options;
  return nsExec(topology.nodeHost(node).ns, argv, rest);
}

/** Runs `argv` in any host's namespace (pod, node, external). */
export async function hostExec(host: { readonly ns: string }, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return nsExec(host.ns, argv, options);
}

/** `nft -j list ruleset` (or one table) in a node, parsed: the `nftables` array of nft's JSON. */
export async function nftList(
  topology: Topology,
  options: { readonly node?: NodeName; readonly table?: { readonly family: string; readonly name: string } } = {},
): Promise<unknown[]> {
  const what = options.table ? ['table', options.table.family, options.table.name] : ['ruleset'];
  const { stdout } = await nodeExec(topology, ['nft', '-j', 'list', ...what], { node: options.node });
  const parsed = JSON.parse(stdout) as { nftables?: unknown[] };
  return parsed.nftables ?? [];
}

/** `nft list ruleset` (or one table) in a node as text, for assertions and failure messages. */
export async function nftText(
  topology: Topology,
  options: { readonly node?: NodeName; readonly table?: { readonly family: string; readonly name: string } } = {},
): Promise<string> {
  const what = options.table ? ['table', options.table.family, options.table.name] : ['ruleset'];
  return (await nodeExec(topology, ['nft', 'list', ...what], { node: options.node })).stdout;
}

/** `iptables-save` / `ip6tables-save` in a node (optionally one table). */
export async function iptablesSave(
  topology: Topology,
  options: { readonly node?: NodeName; readonly family?: 4 | 6; readonly table?: string } = {},
): Promise<string> {
  const tool = options.family === 6 ? 'ip6tables-save' : 'iptables-save';
  const args = options.table ? [tool, '-t', options.table] : [tool];
  return (await nodeExec(topology, args, { node: options.node })).stdout;
}

/** `conntrack -L` in a node, raw lines (empty table => []). Extra args filter, e.g. ['-p', 'udp']. */
export async function conntrackList(
  topology: Topology,
  args: readonly string[] = [],
  options: { readonly node?: NodeName } = {},
): Promise<string[]> {
  const res = await nodeExec(topology, ['conntrack', '-L', ...args], { node: options.node, reject: false });
  // conntrack -L exits 0 with entries on stdout and a summary line on stderr; errors exit non-zero.
  if (res.exitCode !== 0) throw new Error(`conntrack -L failed: ${res.stderr.trim()}`);
  return res.stdout.split('\n').filter((l) => l.trim() !== '');
}

/** `conntrack -D <args>` in a node; returns how many entries it deleted (0 is not an error). */
export async function conntrackDelete(
  topology: Topology,
  args: readonly string[],
  options: { readonly node?: NodeName } = {},
): Promise<number> {
  const res = await nodeExec(topology, ['conntrack', '-D', ...args], { node: options.node, reject: false });
  const m = /(\d+) flow entries have been deleted/.exec(res.stderr);
  if (m) return Number(m[1]);
  if (res.exitCode === 0) return 0;
  throw new Error(`conntrack -D ${args.join(' ')} failed: ${res.stderr.trim()}`);
}
