// The pipeline a fuzz case runs through, as the CLI composes it: documents ->
// collectInputs (per backend, since the KubeProxyConfiguration's section depends on
// it) -> every registered backend's render. No I/O.

import { registeredBackends } from '../../src/backends/registry.js';
import { collectInputs, type CollectedInputs } from '../../src/manifests/inputs.js';
import { isInputError } from '../../src/model/errors.js';
import type { ValidationPurpose } from '../../src/model/validate-service.js';
import type { Scenario } from './arbitraries/valid.js';

/** `purpose` as collectInputs takes it: forwarding (the CLI's default) unless a property needs every API-server rule. */
export function collect(s: Scenario, strict: boolean, backend?: string, purpose: ValidationPurpose = 'forwarding'): CollectedInputs {
  return collectInputs(s.docs, { strict, purpose, ...(s.nodeName ? { nodeName: s.nodeName } : {}), ...(backend ? { backend } : {}) });
}

/** backend name -> rendered document; throws what collect or render throws. */
export function renderAll(s: Scenario, strict = true): Map<string, string> {
  const out = new Map<string, string>();
  for (const b of registeredBackends()) {
    const c = collect(s, strict, b.name);
    out.set(b.name, b.render({ plan: c.plan, endpointSlices: c.endpointSlices, node: c.node, config: c.config, mode: s.mode }));
  }
  return out;
}

/**
 * Runs `f`; an InputError is a legitimate outcome and is returned, anything else
 * thrown (TypeError, RangeError, a zod error, a plain Error) is a crash and is
 * rethrown with its stack so that fast-check reports it.
 */
export function inputErrorOr<T>(f: () => T): { value: T } | { error: import('../../src/model/errors.js').InputError } {
  try {
    return { value: f() };
  } catch (e) {
    if (isInputError(e)) return { error: e };
    const err = e instanceof Error ? e : new Error(String(e));
    throw new Error(`crash (${err.constructor.name}, not an InputError): ${err.message}\n${err.stack ?? ''}`);
  }
}
