// One difference between two rulesets of one backend, named in words: what the
// kernel (or the older ruleset) lacks, holds in excess, or holds differently. The
// backends' check.ts files turn their diffs into these; `svcplane check` prints them
// and `svcplane diff` counts them per Service. Pure data.

/** missing: wanted, not there; extra: there, not wanted; different: both, not equal. */
export type DifferenceChange = 'missing' | 'extra' | 'different';

export interface RulesetDifference {
  /** The object kind as the backend calls it: chain, rule, set, map element, virtual server... */
  readonly kind: string;
  /** Which object, e.g. `ip svcplane service-ips {10.96.0.10 . tcp . 80}`. */
  readonly object: string;
  readonly change: DifferenceChange;
  /** namespace/name of the Service the object belongs to, when it can be told. */
  readonly service?: string;
  /** What differs, when `change` is 'different' (or more about the object). */
  readonly detail?: string;
}

/** `namespace/name` when a text (a chain name part, a comment) starts with one followed by ':' or its end. */
export function serviceOfLabel(label: string | undefined): string | undefined {
  if (!label) return undefined;
  const m = /^([a-z0-9][-a-z0-9.]*)\/([a-z0-9][-a-z0-9.]*)(?::|$)/.exec(label);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/** The difference, attributed to `service` when one is known. */
export function withService(d: Omit<RulesetDifference, 'service'>, service: string | undefined): RulesetDifference {
  return service ? { ...d, service } : d;
}

const CHANGE_WORDS: Record<DifferenceChange, string> = {
  missing: 'missing',
  extra: 'extra (not in the ruleset)',
  different: 'different',
};

/** One line: `Service ns/name: KIND OBJECT: missing` (or `node-wide: ...` when no Service owns it). */
export function formatDifference(d: RulesetDifference): string {
  const who = d.service ? `Service ${d.service}` : 'node-wide';
  return `${who}: ${d.kind} ${d.object}: ${CHANGE_WORDS[d.change]}${d.detail ? ` (${d.detail})` : ''}`;
}

/** Stable order: by Service (node-wide last), kind, object, change. */
export function compareDifferences(a: RulesetDifference, b: RulesetDifference): number {
  const key = (d: RulesetDifference) => [d.service === undefined ? 1 : 0, d.service ?? '', d.kind, d.object, d.change, d.detail ?? ''];
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) {
    if (ka[i]! < kb[i]!) return -1;
    if (ka[i]! > kb[i]!) return 1;
  }
  return 0;
}
