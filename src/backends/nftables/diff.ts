// Desired tables vs the live ones -> the smallest nft transaction that makes the
// kernel equal to the desired state. Pure.
//
// Units of change: a set element, a whole chain's rule list (flushed and
// rewritten when any rule differs), a chain or set that appears or goes away.
// A changed declaration (a set's type, a base chain's hook) replaces the whole
// table in the same atomic transaction.

import { canon, tableObjects, uniqueElements } from './document.js';
import type { NftChain, NftElement, NftSet, NftTable } from './nft.js';
import { add, chainObject, del, elementObject, flush, ruleObject, setObject, tableObject, type NftCommand } from './transaction.js';

export interface NftTransaction {
  /** The commands (add, delete or flush an object), in order. */
  readonly commands: NftCommand[];
  /** Objects changed: elements, chains rewritten, chains and sets added or removed. */
  readonly changes: number;
}

/** What of a set's declaration cannot change in place (elements aside). */
export function setDecl(s: NftSet): string {
  return canon({ kind: s.kind, type: s.type, map: s.map, flags: s.flags ?? [], timeout: s.timeout, size: s.dynamic ? undefined : s.size, counter: s.counter === true });
}

/** A chain's rules, compared as a whole: any rule differs, the chain is rewritten. */
export function rulesKey(c: NftChain): string {
  return canon(c.rules.map((r) => ({ expr: r.expr, comment: r.comment ?? null })));
}

export function elementKey(e: NftElement): string {
  return canon(e.key);
}

export function elementFull(e: NftElement): string {
  return canon({ k: e.key, v: e.value ?? null, c: e.comment ?? null });
}

export function fullReplace(desired: NftTable, live: NftTable | undefined): NftCommand[] {
  const cmds: NftCommand[] = [];
  if (live) cmds.push(del(tableObject(live)));
  for (const o of tableObjects([desired])) cmds.push(add(o));
  return cmds;
}

/**
 * What a table's diff needs to know of its live twin: diffTable reads it from the table
 * parsed whole, streamed-diff.ts from what it kept while the listing streamed in.
 */
export interface LiveTableView {
  hasSet(name: string): boolean;
  /** Whether the live chain holds the desired chain's rules (rulesKey equal); undefined when there is no such chain. */
  sameRules(desired: NftChain): boolean | undefined;
  /** Live elements to delete (not wanted, or wanted otherwise) and desired ones to add, for a desired set. */
  elements(desired: NftSet): { readonly remove: readonly NftElement[]; readonly add: readonly NftElement[] };
  /** Live chains (with their rule counts) and sets, in the kernel's order. */
  readonly chains: Iterable<{ readonly chain: NftChain; readonly rules: number }>;
  readonly sets: Iterable<NftSet>;
}

/**
 * The transaction that makes `live` equal `desired`, once no declaration needs the
 * table replaced: sets and chains added, chains rewritten, elements deleted then added,
 * chains and sets no longer wanted removed. `chains`: the desired chains, walked once
 * (desired.chains, or a walk that makes them as it goes: streamed-diff.ts).
 */
export function diffAgainst(desired: NftTable, live: LiveTableView, chains: Iterable<NftChain> = desired.chains): NftTransaction {
  const wantSets = new Set(desired.sets.map((s) => s.name));
  const wantChains = new Set<string>();
  const addDefs: NftCommand[] = [];
  const rewrite: NftCommand[] = [];
  const elemDel: NftCommand[] = [];
  const elemAdd: NftCommand[] = [];
  const removeChains: NftCommand[] = [];
  const removeSets: NftCommand[] = [];
  let changes = 0;

  for (const s of desired.sets) {
    if (!live.hasSet(s.name)) {
      addDefs.push(add(setObject(desired, s)));
      changes++;
    }
  }
  for (const c of chains) {
    wantChains.add(c.name);
    const same = live.sameRules(c);
    if (same === undefined) {
      addDefs.push(add(chainObject(desired, c)));
      for (const r of c.rules) rewrite.push(add(ruleObject(desired, c.name, r)));
      changes++;
    } else if (!same) {
      rewrite.push(flush(chainObject(desired, c)));
      for (const r of c.rules) rewrite.push(add(ruleObject(desired, c.name, r)));
      changes++;
    }
  }

  for (const s of desired.sets) {
    if (s.dynamic) continue; // the kernel owns these elements (affinity)
    const d = live.elements(s);
    if (d.remove.length) elemDel.push(del(elementObject(desired, s, d.remove)));
    if (d.add.length) elemAdd.push(add(elementObject(desired, s, d.add)));
    changes += d.remove.length + d.add.length;
  }

  // Chains and sets we no longer want. Chains first lose their rules (which may
  // jump to each other), then go; sets go once no rule refers to them.
  const goneChains = [...live.chains].filter((c) => !wantChains.has(c.chain.name));
  for (const c of goneChains) if (c.rules) rewrite.push(flush(chainObject(desired, c.chain)));
  for (const c of goneChains) removeChains.push(del(chainObject(desired, c.chain)));
  for (const s of live.sets) {
    if (!wantSets.has(s.name)) removeSets.push(del(setObject(desired, s)));
  }
  changes += goneChains.length + removeSets.length;

  return { commands: [...addDefs, ...rewrite, ...elemDel, ...elemAdd, ...removeChains, ...removeSets], changes };
}

/**
 * Does a declaration differ in a way nft cannot change in place (a set's type, a base
 * chain's hook)? `chains`: the desired chains (as diffAgainst's).
 */
export function needsReplace(
  desired: NftTable,
  liveSet: (name: string) => NftSet | undefined,
  liveChain: (name: string) => NftChain | undefined,
  chains: Iterable<NftChain> = desired.chains,
): boolean {
  for (const s of desired.sets) {
    const l = liveSet(s.name);
    if (l && setDecl({ ...l, dynamic: s.dynamic }) !== setDecl(s)) return true;
  }
  for (const c of chains) if (baseDiffers(liveChain(c.name), c)) return true;
  return false;
}

/** Does a live chain's hook, type or priority differ from its desired twin's (nft cannot change it in place)? */
export function baseDiffers(live: NftChain | undefined, desired: NftChain): boolean {
  return live !== undefined && canon(live.base ?? null) !== canon(desired.base ?? null);
}

/** The transaction for one table. */
export function diffTable(desired: NftTable, live: NftTable | undefined): NftTransaction {
  if (!live) {
    const commands = fullReplace(desired, undefined);
    return { commands, changes: commands.length };
  }
  const liveSets = new Map(live.sets.map((s) => [s.name, s]));
  const liveChains = new Map(live.chains.map((c) => [c.name, c]));
  // Declarations that cannot be changed in place: replace the table.
  if (needsReplace(desired, (n) => liveSets.get(n), (n) => liveChains.get(n))) return replaced(desired, live);
  return diffAgainst(desired, {
    hasSet: (name) => liveSets.has(name),
    sameRules: (desired) => {
      const c = liveChains.get(desired.name);
      return c && rulesKey(c) === rulesKey(desired);
    },
    elements: (s) => {
      const have = new Map((liveSets.get(s.name)?.elements ?? []).map((e) => [elementKey(e), e]));
      const want = uniqueElements(s);
      const wantByKey = new Map(want.map((e) => [elementKey(e), e]));
      const remove = [...have.entries()]
        .filter(([k, e]) => {
          const w = wantByKey.get(k);
          return !w || elementFull(w) !== elementFull(e);
        })
        .map(([, e]) => e);
      const toAdd = want.filter((e) => {
        const h = have.get(elementKey(e));
        return !h || elementFull(h) !== elementFull(e);
      });
      return { remove, add: toAdd };
    },
    chains: live.chains.map((chain) => ({ chain, rules: chain.rules.length })),
    sets: live.sets,
  });
}

function replaced(desired: NftTable, live: NftTable): NftTransaction {
  const commands = fullReplace(desired, live);
  return { commands, changes: commands.length };
}

/** The transaction for all our tables; an empty command list when the kernel already matches. */
export function diffTables(desired: readonly NftTable[], live: readonly (NftTable | undefined)[]): NftTransaction {
  const commands: NftCommand[] = [];
  let changes = 0;
  desired.forEach((t, i) => {
    const d = diffTable(t, live[i]);
    // No spread: a full load is ~10^5 commands, past the engine's argument limit.
    for (const c of d.commands) commands.push(c);
    changes += d.changes;
  });
  return { commands, changes };
}

/** The live table matching each desired one by family and name (undefined where there is none). */
export function matchLive(desired: readonly NftTable[], live: readonly NftTable[]): (NftTable | undefined)[] {
  const byId = new Map(live.map((l) => [`${l.family} ${l.name}`, l]));
  return desired.map((d) => byId.get(`${d.family} ${d.name}`));
}

/**
 * The transaction for all our tables, `live` being every table of ours in the
 * kernel: each desired table diffed against its live twin, and live tables of ours
 * that are no longer desired (a shard whose last Service went) deleted.
 */
export function diffAll(desired: readonly NftTable[], live: readonly NftTable[]): NftTransaction {
  const tx = diffTables(desired, matchLive(desired, live));
  const wanted = new Set(desired.map((d) => `${d.family} ${d.name}`));
  const stale = live.filter((l) => !wanted.has(`${l.family} ${l.name}`));
  if (stale.length === 0) return tx;
  return { commands: [...tx.commands, ...stale.map((l) => del(tableObject(l)))], changes: tx.changes + stale.length };
}
