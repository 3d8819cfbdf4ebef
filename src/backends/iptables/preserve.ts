// Bad input never takes working rules away: for a Service whose Service object or
// EndpointSlice was skipped as malformed, the desired chains take whatever the
// kernel holds for it now, so the sync leaves it exactly as it was. Pure.
//
// Ownership is read from the rules themselves: every rule render writes for a
// Service has a comment starting with `namespace/name:`. A per-Service chain
// (SVP-SVC/SVL/EXT/FW/SEP-…) holding such a rule belongs to that Service whole;
// in the shared chains (SVP-SERVICES, SVP-NODEPORTS, …) single rules do.

import { CHAINS } from './names.js';
import type { IptChain } from './render.js';

const SHARED = new Set<string>([CHAINS.services, CHAINS.nodePorts, CHAINS.externalServices, CHAINS.proxyFirewall, CHAINS.firewall, CHAINS.input, CHAINS.forward, CHAINS.output, CHAINS.postrouting, CHAINS.markMasq]);

/** The comment of a rule line as iptables-save prints it, unquoted; undefined without one. */
export function ruleComment(line: string): string | undefined {
  const m = / -m comment --comment ("((?:[^"\\]|\\.)*)"|(\S+))/.exec(line);
  if (!m) return undefined;
  return m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
}

function ruleOwnedBy(line: string, keys: readonly string[]): boolean {
  const c = ruleComment(line);
  return c !== undefined && keys.some((k) => c.startsWith(`${k}:`));
}

const NODEPORTS_TAIL = 'service nodeports;';

/** The desired chains of one table with the preserved Services' parts taken from the live chains. */
export function preserveServices(desired: readonly IptChain[], live: ReadonlyMap<string, readonly string[]>, keys: readonly string[]): IptChain[] {
  if (keys.length === 0) return [...desired];
  const owned = (name: string, rules: readonly string[]) => !SHARED.has(name) && rules.some((r) => ruleOwnedBy(r, keys));
  const out: IptChain[] = [];
  for (const c of desired) {
    if (owned(c.name, c.rules)) continue; // replaced by the live chain (or absent, as in the kernel)
    if (!SHARED.has(c.name)) {
      const l = live.get(c.name);
      // A chain name is a hash of its Service port: the live one, if frozen, wins below.
      if (l && owned(c.name, l)) continue;
      out.push(c);
      continue;
    }
    const liveOwned = (live.get(c.name) ?? []).filter((r) => ruleOwnedBy(r, keys)).map((r) => r.replace(/^-A \S+ /, `-A ${c.name} `));
    const kept = c.rules.filter((r) => !ruleOwnedBy(r, keys));
    // The NodePort jump must stay last in nat SVP-SERVICES: preserved rules go before it.
    const tail = kept.findIndex((r) => ruleComment(r)?.startsWith(NODEPORTS_TAIL));
    const rules = tail < 0 ? [...kept, ...liveOwned] : [...kept.slice(0, tail), ...liveOwned, ...kept.slice(tail)];
    out.push({ name: c.name, rules });
  }
  for (const [name, rules] of live) {
    if (owned(name, rules)) out.push({ name, rules: [...rules] });
  }
  return out;
}
