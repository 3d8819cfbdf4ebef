// What collectInputs keeps of a Service or an EndpointSlice document: the result of
// validating it (or what validating it threw) and the few things its messages name.
//
// Why a record and not the object: reading for forwarding does not depend on any other
// input (the node port range and the service CIDRs only matter to authoring, see
// validate-service-rules.ts), so load.ts validates each Service and EndpointSlice as it
// is read (read.ts's `each`) and keeps only this; at 10k Services × 10 endpoints the
// raw objects were most of what reading kept alive and the GC copied. collect.ts makes
// the same record of a document that was not read that way, so both paths are one code.

import { formatRef, type FieldIssue, type ObjectRef } from '../model/errors.js';
import type { PlanService } from '../model/plan.js';
import type { ServiceValidationOptions } from '../model/validate-service.js';
import { endpointSliceAddressType, endpointSliceRef, readEndpointSlice, type EndpointSliceReadResult } from './endpointslice.js';
import { inputKindOf } from './input-kinds.js';
import { rawServiceKey } from './input-problems.js';
import type { ManifestDocument } from './read.js';
import { ignoredFieldsWarning, serviceToPlan } from './service.js';

/** A value, or what computing it threw (rethrown where the value is used, in input order). */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly thrown: unknown };

function outcome<T>(f: () => T): Outcome<T> {
  try {
    return { ok: true, value: f() };
  } catch (thrown) {
    return { ok: false, thrown };
  }
}

export interface ServiceRead {
  readonly kind: 'Service';
  /** The purpose it was validated for: collect refuses a record made for another. */
  readonly purpose: 'forwarding' | 'authoring';
  readonly result: Outcome<PlanService>;
  /** The warning naming the fields forwarding ignored, when any (pushed before the result is taken). */
  readonly ignoredWarning: string | undefined;
  /** namespace/name as far as the raw object tells it (rawServiceKey). */
  readonly serviceKey: string | undefined;
}

export interface EndpointSliceRead {
  readonly kind: 'EndpointSlice';
  /** Set for an FQDN slice, which is skipped with this warning (result is then not read). */
  readonly fqdnWarning: string | undefined;
  readonly result: Outcome<EndpointSliceReadResult> | undefined;
  readonly ref: ObjectRef;
  readonly serviceKey: string | undefined;
}

export type InputRead = ServiceRead | EndpointSliceRead;

/** A Service object validated for `validation` (collect.ts's reading of it, done now). */
export function readServiceDocument(object: unknown, source: string, validation: ServiceValidationOptions & { purpose: 'forwarding' | 'authoring' }): ServiceRead {
  let ignoredWarning: string | undefined;
  const result = outcome(() => serviceToPlan(object, source, validation, (ignored: readonly FieldIssue[]) => (ignoredWarning = ignoredFieldsWarning(object, ignored, source))));
  return { kind: 'Service', purpose: validation.purpose, result, ignoredWarning, serviceKey: rawServiceKey(object, 'Service') };
}

/** An EndpointSlice object read as collect.ts reads it. */
export function readSliceDocument(object: unknown, source: string): EndpointSliceRead {
  const ref = endpointSliceRef(object);
  const serviceKey = rawServiceKey(object, 'EndpointSlice');
  if (endpointSliceAddressType(object) === 'FQDN') {
    const fqdnWarning = `${source}: ${formatRef(ref)} has addressType FQDN, which no proxy forwards to; skipped`;
    return { kind: 'EndpointSlice', fqdnWarning, result: undefined, ref, serviceKey };
  }
  return { kind: 'EndpointSlice', fqdnWarning: undefined, result: outcome(() => readEndpointSlice(object, source)), ref, serviceKey };
}

/**
 * read.ts's `each` for forwarding: a Service or an EndpointSlice document becomes its
 * record (the object is let go); any other document is kept as it is.
 */
export function readForForwarding(doc: ManifestDocument): ManifestDocument {
  const kind = inputKindOf(doc.object);
  if (kind !== 'Service' && kind !== 'EndpointSlice') return doc;
  const read = kind === 'Service' ? readServiceDocument(doc.object, doc.source, FORWARDING) : readSliceDocument(doc.object, doc.source);
  // A literal per shape, not a spread (this runs once per document of a large List) nor
  // `item` assigned after the literal (a key added later lives in a property array of its
  // own: 40 B more per document, kept to the end of the read).
  return doc.item !== undefined
    ? { object: undefined, file: doc.file, document: doc.document, source: doc.source, read, item: doc.item }
    : { object: undefined, file: doc.file, document: doc.document, source: doc.source, read };
}

const FORWARDING = { purpose: 'forwarding' } as const;

/** The value of `o`, or what computing it threw, thrown now. */
export function take<T>(o: Outcome<T>): T {
  if (!o.ok) throw o.thrown;
  return o.value;
}
