// What a node's kernel holds, read the way an operator would (nft / iptables-save inside
// the node's namespace), and the blunt fault of deleting it all.

import { nsExec } from '../e2e/lib/netns.js';
import type { AgentBackend } from './agent-process.js';

/** The node's rules as text (nftables ruleset, or iptables-save of every table). */
export async function rulesText(ns: string, backend: AgentBackend): Promise<string> {
  // Generous: at 1k Services on a loaded machine one listing took over 30 s.
  const timeoutMs = 180_000;
  if (backend === 'iptables') return (await nsExec(ns, ['iptables-save'], { timeoutMs })).stdout;
  return (await nsExec(ns, ['nft', 'list', 'ruleset'], { timeoutMs })).stdout;
}

/** Does any rule of the node name this endpoint address? */
export async function rulesMention(ns: string, backend: AgentBackend, ip: string): Promise<boolean> {
  const text = await rulesText(ns, backend);
  // An address followed by a non-digit: 10.244.1.10 must not match 10.244.1.100.
  return new RegExp(`(^|[^0-9.])${ip.replace(/\./g, '\\.')}(?![0-9])`, 'm').test(text);
}

/**
 * Does some DNAT rule of the node send connections to this endpoint address? What a change
 * to the forwarding is checked by: an endpoint removed from a Service is out of its DNAT
 * rules at once, while nftables may keep it a little longer in its counter-only sets
 * (endpoint-traffic, hairpin: pending-deletes.ts), so `rulesMention` would still find it.
 */
export async function dnatsTo(ns: string, backend: AgentBackend, ip: string): Promise<boolean> {
  return textDnatsTo(await rulesText(ns, backend), backend, ip);
}

/** `dnatsTo` on a listing already read: nft's `dnat [ip|ip6] to A:P`, iptables' `--to-destination A:P`. */
export function textDnatsTo(text: string, backend: AgentBackend, ip: string): boolean {
  const addr = ip.replace(/\./g, '\\.');
  const form = backend === 'iptables' ? `--to-destination \\[?${addr}\\]?:` : `dnat (?:ip6? )?to \\[?${addr}\\]?:`;
  return new RegExp(form).test(text);
}

/**
 * Deletes every rule of the node: each nftables table (svcplane's are the only ones in a
 * testbed node), and for iptables every chain of the nat and filter tables.
 */
export async function flushRules(ns: string, backend: AgentBackend): Promise<void> {
  if (backend === 'iptables') {
    for (const table of ['nat', 'filter']) {
      await nsExec(ns, ['iptables', '-t', table, '-F']);
      await nsExec(ns, ['iptables', '-t', table, '-X']);
    }
    return;
  }
  const { stdout } = await nsExec(ns, ['nft', 'list', 'tables']);
  const tables = stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((w) => w[0] === 'table' && w.length === 3);
  if (tables.length === 0) throw new Error(`${ns}: no nftables table to delete`);
  await nsExec(ns, ['nft', '-f', '-'], { input: tables.map(([, family, name]) => `delete table ${family} ${name}\n`).join('') });
}
