// The agent's plan file, read with the least held at once. `loadPlan` on the whole
// document keeps the parsed JSON of every Service alive beside the schema's output for
// every Service (~2 KB each before compact.ts shrinks it): at 44k Services that load was
// the offline agent's first peak (VmHWM ~175 MiB before anything else ran). Here the
// Services go through the same `loadPlan` a piece at a time, each piece compacted at
// once and its parsed JSON let go (the entries of the document's array are cleared as
// they are taken), so the peak is about the parsed document alone.
//
// Same answers as `loadPlan` on the whole document: the same checks (each piece is a plan
// of its own, with the previous piece's last Service in front of it so that the order is
// checked across pieces too), every issue found (a piece's field paths renumbered to the
// whole list's), and the digest checked on the whole plan once assembled.

import { readFile } from 'node:fs/promises';
import { compactService } from '../model/compact.js';
import { InputError, type FieldIssue } from '../model/errors.js';
import { checkPlanDigest, loadPlan, PLAN_KIND, PlanSchema, type Plan, type PlanService } from '../model/plan.js';

/** Services validated at once: small enough that a piece's garbage is a few hundred KB. */
export const PLAN_PIECE = 500;

/** Reads, validates and compacts the plan in `file` (the document is given away: its Services array is emptied). */
export async function readPlanFile(file: string): Promise<Plan> {
  return loadPlanInPieces(JSON.parse(await readFile(file, 'utf8')) as unknown, file);
}

/** loadPlan with every Service compacted (compact.ts), validated PLAN_PIECE Services at a time. */
export function loadPlanInPieces(doc: unknown, source: string, piece = PLAN_PIECE): Plan {
  const raw = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>).services : undefined;
  if (!Array.isArray(raw) || raw.length <= piece) {
    const plan = loadPlan(doc, source);
    for (const s of plan.services) compactService(s);
    return plan;
  }
  // The digest is of the whole plan: checked once the pieces are put together.
  const { digest, services: _raw, ...header } = doc as Record<string, unknown>;
  const services: PlanService[] = [];
  const issues = new Map<string, FieldIssue>();
  let first: Plan | undefined;
  // The previous piece's last Service (raw), validated again in front of the next piece: the order check spans pieces.
  let carried: unknown;
  for (let at = 0; at < raw.length; at += piece) {
    const end = Math.min(at + piece, raw.length);
    const part: unknown[] = carried === undefined ? [] : [carried];
    for (let i = at; i < end; i++) {
      part.push(raw[i]);
      raw[i] = undefined;
    }
    carried = part[part.length - 1];
    const offset = at - (at > 0 ? 1 : 0);
    try {
      const p = loadPlan({ ...header, services: part }, source);
      first ??= p;
      for (let i = at > 0 ? 1 : 0; i < p.services.length; i++) services.push(compactService(p.services[i]!));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      // A header issue repeats in every piece: kept once. The carried Service's own issues were the previous piece's.
      for (const issue of e.issues) {
        const field = renumbered(issue.field, offset);
        issues.set(`${field}\n${issue.message}`, { ...issue, field });
      }
    }
  }
  raw.length = 0;
  const digestOk = PlanSchema.shape.digest.safeParse(digest);
  if (!digestOk.success) for (const i of digestOk.error.issues) issues.set(`digest\n${i.message}`, { field: 'digest', message: i.message });
  if (issues.size) throw new InputError({ kind: PLAN_KIND }, [...issues.values()], source);
  const { apiVersion, kind, ...rest } = first!;
  // In the schema's key order, as loadPlan gives it.
  const plan: Plan = { apiVersion, kind, ...(digest !== undefined ? { digest: digest as string } : {}), ...rest, services };
  checkPlanDigest(plan, source);
  return plan;
}

/** `services[3].ports[0]` of a piece that starts at `offset` in the whole list. */
function renumbered(field: string, offset: number): string {
  return field.replace(/^services\[(\d+)\]/, (_m, i: string) => `services[${Number(i) + offset}]`);
}
