// The rules half of `svcplane diff`: two rendered rulesets of one backend -> the
// objects that change, each attributed to its Service where the backend can tell.
// The comparison is the backend's own (its check.ts, over its diff.ts), with the
// older ruleset in the place of the kernel: "missing" there is "added" here. Pure.

import type { RulesetSide } from '../backends/backend.js';
import type { RulesetDifference } from '../backends/difference.js';
import { loadReaders } from '../backends/registry.js';
import { RulesetParseError } from '../backends/ruleset-side.js';
import { inputError } from '../model/errors.js';

// Every backend's reader, loaded once with this module: the comparison stays synchronous.
const readerOf = await loadReaders();

export type RuleChange = 'added' | 'removed' | 'changed';
const CHANGE_OF = { missing: 'added', extra: 'removed', different: 'changed' } as const;

/** One rendered object that changes from the old ruleset to the new one. */
export interface RuleObjectChange {
  readonly kind: string;
  readonly object: string;
  readonly change: RuleChange;
  readonly service?: string;
  readonly detail?: string;
}

function asChange(d: RulesetDifference): RuleObjectChange {
  return { kind: d.kind, object: d.object, change: CHANGE_OF[d.change], ...(d.service ? { service: d.service } : {}), ...(d.detail ? { detail: d.detail } : {}) };
}

/** The objects that change in one backend's ruleset, in the backend's order. A rules file that does not parse is bad input: exit 2, naming the side and the file. */
export function rulesetChanges(backend: string, file: string, before: RulesetSide, after: RulesetSide): RuleObjectChange[] {
  try {
    return readerOf(backend).compareRulesets(before, after).map(asChange);
  } catch (e) {
    if (e instanceof RulesetParseError) throw inputError(undefined, file, `cannot read the ruleset: ${e.message}`, e.side);
    throw e;
  }
}

/** `2 chains added, 1 map element changed`: counts by kind and change, in a fixed order. */
export function countWords(changes: readonly RuleObjectChange[]): string {
  const counts = new Map<string, number>();
  for (const c of changes) counts.set(`${c.change}\u0000${c.kind}`, (counts.get(`${c.change}\u0000${c.kind}`) ?? 0) + 1);
  const order: RuleChange[] = ['added', 'removed', 'changed'];
  return [...counts]
    .sort(([a], [b]) => {
      const [ca, ka] = a.split('\u0000') as [RuleChange, string];
      const [cb, kb] = b.split('\u0000') as [RuleChange, string];
      return order.indexOf(ca) - order.indexOf(cb) || (ka < kb ? -1 : ka > kb ? 1 : 0);
    })
    .map(([k, n]) => {
      const [change, kind] = k.split('\u0000') as [RuleChange, string];
      return `${n} ${n === 1 ? kind : plural(kind)} ${change}`;
    })
    .join(', ');
}

function plural(kind: string): string {
  if (/(s|sh|ch|x)$/.test(kind)) return `${kind}es`;
  if (/[^aeiou]y$/.test(kind)) return `${kind.slice(0, -1)}ies`;
  return `${kind}s`;
}
