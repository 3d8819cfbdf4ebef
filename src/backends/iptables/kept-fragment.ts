// A Service's fragment of one family as the syncer keeps it between syncs, in one record.
// Until session 17 a kept fragment was four objects around its strings: the fragment, its
// nat list (an array around its one SVP-SERVICES rule), its OwnChains (packed-chains.ts)
// and its traffic port ({label, entries}): 192 bytes a Service, 8.4 MB at 44k Services x 1,
// against 72 for this record. It is its own OwnChains (group, index) and, with one Service
// port counted, its own KeptPort (label, entries): read through `own` and `traffic` as
// before, with nothing made. Since session 18 a lone rule in a shared chain (a Service's
// SVP-SERVICES rule, at nearly every Service) is kept as the rule line alone, its chain read
// off the line (`-A NAME …`): the OneRule around it was 40 bytes a Service (1.8 MB at 44k x 1).
// Pure.

import { OneRule, type OwnChains } from './packed-chains.js';
import type { IptChain } from './render.js';
import type { KeptPort, KeptTraffic } from './traffic-set.js';

/** A table's rules in shared chains as kept: the list, or its one rule's line alone (no chain object nor array around it). */
export type KeptShared = readonly IptChain[] | string;

/**
 * The chain a rule line (`-A NAME …`, rule.ts) is in. `guess`: the name it most likely is,
 * returned itself when it matches, so the 44k lookups of a sync make no string.
 */
export function chainOfRule(rule: string, guess?: string): string {
  if (guess !== undefined && rule.startsWith(guess, 3) && rule.charCodeAt(3 + guess.length) === 32) return guess;
  const end = rule.indexOf(' ', 3);
  return rule.slice(3, end < 0 ? rule.length : end);
}

/** The list a KeptShared stands for (a fresh array and OneRule for a lone rule: read it once per use). */
export function sharedList(shared: KeptShared): readonly IptChain[] {
  return typeof shared === 'string' ? [new OneRule(chainOfRule(shared), shared)] : shared;
}

/** `list` as kept: a lone OneRule as its rule line, when the line names its chain (else the list, as it is). */
export function keptShared(list: readonly IptChain[]): KeptShared {
  const one = list.length === 1 ? list[0] : undefined;
  return one instanceof OneRule && chainOfRule(one.rule, one.name) === one.name ? one.rule : list;
}

/** No traffic kept: `entries` when `label` is '' and no port list is held. */
const NO_ENTRIES = '';

export class KeptFragment implements OwnChains, KeptPort {
  /** The one counted port's entries; with several ports (label ''), the ports themselves; '' with none. */
  readonly entries: string | readonly string[];
  /** The one counted port's label; '' when the Service counts several ports, or none. */
  readonly label: string;

  constructor(
    /** Its rules in filter's shared chains. */
    readonly filterShared: KeptShared,
    /** Its rules in nat's shared chains (its SVP-SERVICES rule, most often). */
    readonly natShared: KeptShared,
    traffic: KeptTraffic | undefined,
    /** Its own chains' rules, packed (packed-chains.ts); '' when it owns no chain. */
    readonly group: string,
    /** Its own chains' names and rule counts (packed-chains.ts); '' when it owns no chain. */
    readonly index: string,
  ) {
    if (traffic === undefined) {
      this.label = '';
      this.entries = NO_ENTRIES;
    } else if ('label' in traffic) {
      this.label = traffic.label;
      this.entries = traffic.entries;
    } else {
      // Several ports: kept as their list, in `entries`' slot (the record is not a KeptPort then).
      this.label = '';
      this.entries = traffic as unknown as readonly string[];
    }
  }

  get filter(): readonly IptChain[] {
    return sharedList(this.filterShared);
  }

  get nat(): readonly IptChain[] {
    return sharedList(this.natShared);
  }

  /** Its own chains (ownChains reads them), undefined when it owns none. */
  get own(): OwnChains | undefined {
    return this.index === '' ? undefined : this;
  }

  /** Its traffic elements as traffic-set.ts reads them: the record itself for one port. */
  get traffic(): KeptTraffic | undefined {
    if (this.label !== '') return this;
    return this.entries === NO_ENTRIES ? undefined : (this.entries as unknown as readonly KeptPort[]);
  }
}
