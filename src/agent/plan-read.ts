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

import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { compactService } from '../model/compact.js';
import { InputError, type FieldIssue } from '../model/errors.js';
import { PlanServicesScan } from './plan-services-scan.js';
import { checkPlanDigest, loadPlan, PLAN_KIND, PlanSchema, type Plan, type PlanService } from '../model/plan.js';

/** Services validated at once: small enough that a piece's garbage is a few hundred KB. */
export const PLAN_PIECE = 500;

/**
 * Reads, validates and compacts the plan in `file`. The file's text is scanned as it is read
 * (plan-services-scan.ts) and its Services validated a piece at a time as they come, so
 * neither the text nor the parse of every Service is ever alive at once. A document the scan
 * does not stream (its last member is not the `services` array), or one JSON.parse refuses
 * a part of, is read whole, as before: the same plan, the same errors.
 */
export async function readPlanFile(file: string, piece = PLAN_PIECE): Promise<Plan> {
  const streamed = await readPlanStreamed(file, piece);
  return streamed ?? loadPlanInPieces(JSON.parse(await readFile(file, 'utf8')) as unknown, file, piece);
}

/** The plan read as the file streams in; undefined when it must be read whole (see readPlanFile). */
async function readPlanStreamed(file: string, piece: number): Promise<Plan | undefined> {
  let header: Record<string, unknown> | undefined;
  let digest: unknown;
  // The first `piece` Services wait: a plan of at most one piece is loadPlan's whole, as loadPlanInPieces does.
  let first: unknown[] | undefined = [];
  let pieces: PlanPieces | undefined;
  const scan = new PlanServicesScan(
    (text) => {
      const doc = JSON.parse(text) as unknown;
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new NotStreamed();
      const { digest: d, services: _services, ...rest } = doc as Record<string, unknown>;
      digest = d;
      header = rest;
    },
    (text) => {
      const service = JSON.parse(text) as unknown;
      if (first) {
        first.push(service);
        if (first.length <= piece) return;
        pieces = new PlanPieces(header!, file, piece);
        for (const s of first) pieces.add(s);
        first = undefined;
      } else pieces!.add(service);
    },
  );
  try {
    for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 })) scan.push(chunk as string);
  } catch (e) {
    // Not JSON somewhere (the whole read says where, in JSON.parse's words), or not streamable.
    if (e instanceof SyntaxError || e instanceof NotStreamed) return undefined;
    throw e;
  }
  if (!scan.streamed() || !header) return undefined;
  if (pieces) return pieces.finish(digest);
  return loadPlanInPieces({ ...header, ...(digest !== undefined ? { digest } : {}), services: first }, file, piece);
}

class NotStreamed extends Error {}

/** loadPlan with every Service compacted (compact.ts), validated PLAN_PIECE Services at a time. */
export function loadPlanInPieces(doc: unknown, source: string, piece = PLAN_PIECE): Plan {
  const raw = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>).services : undefined;
  if (!Array.isArray(raw) || raw.length <= piece) {
    const plan = loadPlan(doc, source);
    return { ...plan, services: plan.services.map(compactService) };
  }
  // The digest is of the whole plan: checked once the pieces are put together.
  const { digest, services: _raw, ...header } = doc as Record<string, unknown>;
  const pieces = new PlanPieces(header, source, piece);
  for (let i = 0; i < raw.length; i++) {
    pieces.add(raw[i]);
    raw[i] = undefined;
  }
  raw.length = 0;
  return pieces.finish(digest);
}

/**
 * The Services of a plan validated `piece` at a time as they are added (each piece a plan
 * of its own with `header`, compacted at once and its raw Services let go), then the plan
 * put together, every issue found, and the digest checked on the whole.
 */
class PlanPieces {
  private readonly services: PlanService[] = [];
  private readonly issues = new Map<string, FieldIssue>();
  private first: Plan | undefined;
  /** The Services of the piece under way: the previous piece's last (raw) in front, so that the order check spans pieces. */
  private part: unknown[] = [];
  /** Index in the whole list of the piece's first own Service. */
  private at = 0;
  private added = 0;

  constructor(
    private readonly header: Record<string, unknown>,
    private readonly source: string,
    private readonly piece: number,
  ) {}

  add(service: unknown): void {
    this.part.push(service);
    if (++this.added - this.at === this.piece) this.validate();
  }

  finish(digest: unknown): Plan {
    if (this.added > this.at) this.validate();
    const { issues, source } = this;
    const digestOk = PlanSchema.shape.digest.safeParse(digest);
    if (!digestOk.success) for (const i of digestOk.error.issues) issues.set(`digest\n${i.message}`, { field: 'digest', message: i.message });
    if (issues.size) throw new InputError({ kind: PLAN_KIND }, [...issues.values()], source);
    const { apiVersion, kind, ...rest } = this.first!;
    // In the schema's key order, as loadPlan gives it.
    const plan: Plan = { apiVersion, kind, ...(digest !== undefined ? { digest: digest as string } : {}), ...rest, services: this.services };
    checkPlanDigest(plan, source);
    return plan;
  }

  private validate(): void {
    const { at, part } = this;
    const carried = at > 0 ? 1 : 0;
    const offset = at - carried;
    this.part = [part[part.length - 1]];
    this.at = this.added;
    try {
      const p = loadPlan({ ...this.header, services: part }, this.source);
      this.first ??= p;
      for (let i = carried; i < p.services.length; i++) this.services.push(compactService(p.services[i]!));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      // A header issue repeats in every piece: kept once. The carried Service's own issues were the previous piece's.
      for (const issue of e.issues) {
        const field = renumbered(issue.field, offset);
        this.issues.set(`${field}\n${issue.message}`, { ...issue, field });
      }
    }
  }
}

/** `services[3].ports[0]` of a piece that starts at `offset` in the whole list. */
function renumbered(field: string, offset: number): string {
  return field.replace(/^services\[(\d+)\]/, (_m, i: string) => `services[${Number(i) + offset}]`);
}
