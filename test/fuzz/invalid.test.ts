// Property 3: an invalid input gets an error that names the object (kind and
// namespace/name) and the broken field, in strict mode as the thrown InputError
// and in lenient mode as a skipped-object error, with the rest still read. The
// mutations break API-server rules, so they are checked as authoring (`plan --strict`)
// reads; which of those rules forwarding also refuses is test/model/validate-service-sides.test.ts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatRef, type InputError } from '../../src/model/errors.js';
import { brokenScenario, wrongTypeScenario, type BrokenScenario } from './arbitraries/invalid.js';
import { collect, inputErrorOr } from './pipeline.js';
import { fuzzParams } from './runs.js';

/** Does this error name the broken field (or a field inside it)? */
function namesField(e: InputError, field: string): boolean {
  return e.issues.some((i) => i.field === field || i.field.startsWith(`${field}.`) || i.field.startsWith(`${field}[`));
}

function describeCase(s: BrokenScenario, e?: InputError): string {
  return `mutation ${JSON.stringify(s.mutation)}: expected ${s.ref} / ${s.field}, got ${e ? JSON.stringify(e.message) : 'no error'}`;
}

function assertNamed(s: BrokenScenario): void {
  // strict: the first bad object throws, and only one object is bad.
  const strict = inputErrorOr(() => collect(s, true, 'nftables', 'authoring'));
  assert.ok('error' in strict, describeCase(s));
  const e = strict.error;
  assert.equal(e.ref ? formatRef(e.ref) : '(none)', s.ref, describeCase(s, e));
  assert.ok(namesField(e, s.field), describeCase(s, e));
  assert.ok(e.message.includes(`${s.ref}: `) && e.message.includes(s.field), describeCase(s, e));
  assert.match(e.message, /^fuzz#\d+: /, `the error names the document: ${e.message}`);

  // lenient: the object is skipped with the same error, and collecting goes on.
  const lenient = inputErrorOr(() => collect(s, false, 'nftables', 'authoring'));
  assert.ok('value' in lenient, `lenient mode threw: ${'error' in lenient ? lenient.error.message : ''}`);
  const skipped = lenient.value.errors.find((x) => x.ref && formatRef(x.ref) === s.ref && namesField(x, s.field));
  assert.ok(skipped, `${describeCase(s)}; lenient errors: ${lenient.value.errors.map((x) => x.message).join(' | ')}`);
}

describe('fuzz: invalid inputs are refused with an error naming the object and the field', () => {
  it('one targeted mutation (bad IPs, ports, enums, names, missing fields, CIDRs, duplicates)', () => {
    fc.assert(fc.property(brokenScenario, assertNamed), fuzzParams(1000));
  });

  it('one field of a Service, EndpointSlice or KubeProxyConfiguration given a value of the wrong type', () => {
    fc.assert(fc.property(wrongTypeScenario, assertNamed), fuzzParams(1000));
  });
});
