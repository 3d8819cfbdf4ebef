// Deletes of per-endpoint elements that no new connection's path depends on once the
// endpoint is out of every DNAT rule, held back from an incremental transaction. nft 1.0.6
// fetches every chain of the namespace before any `delete` (~0.95 MB, most of a change's
// cost at 10k Services), so an endpoint removal's DNAT change goes at once, without a
// delete, and these go with the next transaction that pays that fetch anyway: a JSON one
// (a Service added or removed, a shard change), the next resync (sent first), or when
// MAX_PENDING are waiting. A full sync's read-back deletes any left over itself. Which:
// - `endpoint-traffic`, `nodeport-endpoint-traffic` (main table): counters only, no
//   verdict; meanwhile such an element counts the old endpoint's remaining conntrack
//   traffic, which is what it was.
// - `hairpin` (main table, `ct status dnat ip saddr . ip daddr @hairpin` -> masquerade):
//   the element (X, X) leaves when no Service of ours can DNAT to X any more (it is
//   counted across Services), so no new connection of ours meets it; connections already
//   set up were NATed when they started.
//
// An element added back while its delete waits would be deleted after it: such a
// transaction is not split (split returns undefined) and goes as JSON, deletes first.

import { ENDPOINT_TRAFFIC_SETS } from './endpoint-traffic.js';
import { NFT_NAMES, TABLE_NAME } from './render.js';
import { del, parts, type NftCommand, type NftElementBody } from './transaction.js';

const DEFERRABLE: ReadonlySet<string> = new Set([...Object.values(ENDPOINT_TRAFFIC_SETS), NFT_NAMES.hairpin]);

/** More than this many waiting and the next transaction takes them (a few KB of JSON). */
export const MAX_PENDING = 512;

/** One element of one set: family, set, key without its comment. */
function elementKey(b: NftElementBody, elem: unknown): string {
  const val = typeof elem === 'object' && elem !== null && 'elem' in elem ? (elem as { elem: { val: unknown } }).elem.val : elem;
  return `${b.family} ${b.table} ${b.name} ${JSON.stringify(val)}`;
}

function deferrable(c: NftCommand): { verb: string; body: NftElementBody } | undefined {
  const { verb, object } = parts(c);
  if (!('element' in object)) return undefined;
  const body = object.element;
  return body.table === TABLE_NAME && DEFERRABLE.has(body.name) ? { verb, body } : undefined;
}

export class PendingDeletes {
  /** Each waiting delete, one element per command, by elementKey. */
  private readonly waiting = new Map<string, NftCommand>();

  get size(): number {
    return this.waiting.size;
  }

  /**
   * The commands to send now and the counter-element deletes to hold back; undefined when
   * the transaction must go whole (it adds back an element whose delete waits, or the
   * held-back ones would pass MAX_PENDING).
   */
  split(commands: readonly NftCommand[]): { now: NftCommand[]; later: NftCommand[] } | undefined {
    const now: NftCommand[] = [];
    const later: NftCommand[] = [];
    for (const c of commands) {
      const ce = deferrable(c);
      if (ce?.verb === 'delete') {
        for (const e of ce.body.elem) later.push(del({ element: { ...ce.body, elem: [e] } }));
        continue;
      }
      if (ce?.verb === 'add' && ce.body.elem.some((e) => this.waiting.has(elementKey(ce.body, e)))) return undefined;
      now.push(c);
    }
    if (this.waiting.size + later.length > MAX_PENDING) return undefined;
    return { now, later };
  }

  /** Held back: sent by a later take(). */
  add(deletes: readonly NftCommand[]): void {
    for (const c of deletes) {
      const ce = deferrable(c)!;
      this.waiting.set(elementKey(ce.body, ce.body.elem[0]), c);
    }
  }

  /** Every waiting delete, to go in front of a transaction; forgotten here (a failed sync reads back). */
  take(): NftCommand[] {
    const out = [...this.waiting.values()];
    this.waiting.clear();
    return out;
  }

  clear(): void {
    this.waiting.clear();
  }
}
