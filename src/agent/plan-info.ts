// Which plan this agent enforces (issue 18 §3): svcplane_plan_info's labels, the
// plan fields of its log lines and of /configz. Pure.
//
// With a plan file, the plan's digest (recomputed when the file carried none, e.g. a
// hand-written plan) and its revision. Without one (API mode: the Services come from
// the API server, there is no reviewed plan), the digest of the configuration the
// agent runs with — backend, mode and the effective KubeProxyConfiguration — so nodes
// configured alike show one digest, and revision is empty; `source` says which.

import { contentDigest } from '../model/plan-digest.js';
import { planDigest, type Plan } from '../model/plan.js';

export interface PlanIdentity {
  readonly digest: string;
  /** '' when the plan has none (or there is no plan). */
  readonly revision: string;
  readonly source: 'plan' | 'config';
}

export function planIdentity(plan: Plan | undefined, config: { readonly backend: string; readonly mode: string; readonly configz: unknown }): PlanIdentity {
  if (plan) return { digest: plan.digest ?? planDigest(plan), revision: plan.revision ?? '', source: 'plan' };
  return { digest: contentDigest({ backend: config.backend, mode: config.mode, configz: config.configz }), revision: '', source: 'config' };
}

/** The fields a log line carries about the plan. */
export function planLogFields(p: PlanIdentity): { planDigest: string; planRevision: string; planSource: string } {
  return { planDigest: p.digest, planRevision: p.revision, planSource: p.source };
}
