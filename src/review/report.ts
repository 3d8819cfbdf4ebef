// `svcplane diff`'s result as data: per Service, what changes in its definition and
// endpoints, and how many rendered objects change in each backend's ruleset. The
// formats (format.ts) only print it. Pure.

import type { Plan } from '../model/plan.js';
import { rulesetChanges, type RuleObjectChange } from './rulesets.js';
import { diffServices, type ServiceSide, type ServiceStatus } from './services.js';

export interface DiffSide extends ServiceSide {
  readonly label: string;
  /** Backend name -> its rendered ruleset's text. */
  readonly rulesets: ReadonlyMap<string, string>;
}

export interface BackendChanges {
  readonly backend: string;
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  readonly objects: RuleObjectChange[];
}

export interface ServiceDiff {
  readonly service: string;
  /** 'changed' also when only the rendered rules change (e.g. a new svcplane renders differently). */
  readonly status: ServiceStatus;
  readonly changes: string[];
  readonly topics: string[];
  readonly rules: BackendChanges[];
}

export interface DiffReport {
  readonly old: string;
  readonly new: string;
  /** The backends compared, in registry order. */
  readonly backends: string[];
  readonly services: ServiceDiff[];
  /** Rendered objects no Service owns (skeleton chains, shared sets without owner...). */
  readonly nodeWide: BackendChanges[];
}

function backendChanges(backend: string, objects: RuleObjectChange[]): BackendChanges {
  const n = (c: RuleObjectChange['change']) => objects.filter((o) => o.change === c).length;
  return { backend, added: n('added'), removed: n('removed'), changed: n('changed'), objects };
}

/** Builds the report; `rulesFiles` maps each backend compared to its rules file name (for messages). */
export function buildReport(a: DiffSide, b: DiffSide, rulesFiles: ReadonlyMap<string, string>): DiffReport {
  const backends = [...rulesFiles.keys()].filter((k) => a.rulesets.has(k) && b.rulesets.has(k));
  // backend -> service ('' when node-wide) -> objects
  const byService = new Map<string, Map<string, RuleObjectChange[]>>();
  for (const backend of backends) {
    const side = (s: DiffSide, plan: Plan) => ({ label: s.label, text: s.rulesets.get(backend)!, plan });
    const objects = rulesetChanges(backend, rulesFiles.get(backend)!, side(a, a.plan), side(b, b.plan));
    const m = new Map<string, RuleObjectChange[]>();
    for (const o of objects) m.set(o.service ?? '', [...(m.get(o.service ?? '') ?? []), o]);
    byService.set(backend, m);
  }
  const rulesOf = (svc: string): BackendChanges[] =>
    backends.flatMap((be) => {
      const objs = byService.get(be)?.get(svc);
      return objs?.length ? [backendChanges(be, objs)] : [];
    });

  const semantic = new Map(diffServices(a, b).map((s) => [s.service, s]));
  const keys = new Set(semantic.keys());
  for (const m of byService.values()) for (const k of m.keys()) if (k !== '') keys.add(k);
  const services: ServiceDiff[] = [...keys].sort().map((service) => {
    const s = semantic.get(service);
    return { service, status: s?.status ?? 'changed', changes: s?.changes ?? [], topics: s?.topics ?? ['rules only'], rules: rulesOf(service) };
  });
  return { old: a.label, new: b.label, backends, services, nodeWide: rulesOf('') };
}

export function hasDifferences(r: DiffReport): boolean {
  return r.services.length > 0 || r.nodeWide.length > 0;
}
