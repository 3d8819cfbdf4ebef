// Bad input never takes working rules away: for a Service whose Service object or
// EndpointSlice was skipped as malformed, the desired tables take whatever the
// kernel holds for it now (its chains, affinity sets and map elements), so the
// transaction leaves it exactly as it was. Pure.

import type { NftChain, NftElement, NftSet, NftTable } from './nft.js';
import { canon } from './document.js';

const CHAIN_PREFIXES = ['svc-', 'ext-', 'local-', 'ep-', 'affinity-'];

/** Does this chain or set name belong to Service `ns/name`? (names are `<kind>-ns/name/proto/port...`) */
function ownedBy(objectName: string, key: string): boolean {
  return CHAIN_PREFIXES.some((p) => objectName.startsWith(`${p}${key}/`));
}

/** Does this element belong to Service `ns/name`? (comments start with `ns/name:`) */
function elementOwnedBy(e: NftElement, key: string): boolean {
  return e.comment !== undefined && (e.comment === key || e.comment.startsWith(`${key}:`));
}

export function preserveServices(desired: NftTable, live: NftTable | undefined, keys: readonly string[]): NftTable {
  if (keys.length === 0) return desired;
  const frozen = (name: string) => keys.some((k) => ownedBy(name, k));
  const frozenElement = (e: NftElement) => keys.some((k) => elementOwnedBy(e, k));
  const chains: NftChain[] = desired.chains.filter((c) => !frozen(c.name));
  for (const c of live?.chains ?? []) if (frozen(c.name)) chains.push(c);
  const liveSets = new Map((live?.sets ?? []).map((s) => [s.name, s]));
  const sets: NftSet[] = [];
  for (const s of desired.sets) {
    if (frozen(s.name)) continue;
    const l = liveSets.get(s.name);
    const kept = s.elements.filter((e) => !frozenElement(e));
    const fromLive = (l?.elements ?? []).filter((e) => frozenElement(e));
    // Hairpin pairs carry no owner; a stale one only masquerades a pod reaching itself: keep them all.
    const hairpin = s.name === 'hairpin' ? (l?.elements ?? []) : [];
    const seen = new Set(kept.map((e) => canon(e.key)));
    const extra = [...fromLive, ...hairpin].filter((e) => !seen.has(canon(e.key)) && (seen.add(canon(e.key)), true));
    sets.push({ ...s, elements: [...kept, ...extra] });
  }
  for (const s of live?.sets ?? []) if (frozen(s.name)) sets.push(s);
  return { ...desired, chains, sets };
}
