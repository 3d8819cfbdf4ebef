// The plan's digest and revision (issue 18 §3): the digest names the plan's content
// (stable across runs, blind to the revision, checked on load); the revision comes
// from the pipeline (prop or SVCPLANE_REVISION), never from git at synth.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REVISION_ENV } from '../../src/constructs/app.js';
import { SvcplaneSynthError } from '../../src/constructs/synth-error.js';
import { buildExampleApp } from '../../src/example-app.js';
import { isInputError } from '../../src/model/errors.js';
import { canonicalJson } from '../../src/model/plan-digest.js';
import { loadPlan, planDigest, serializePlan } from '../../src/model/plan.js';

function synthPlan(t: { after: (fn: () => void) => void }, revision?: string): Record<string, unknown> {
  const out = mkdtempSync(join(tmpdir(), 'svcplane-digest-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  buildExampleApp({ outdir: out, ...(revision !== undefined ? { revision } : {}) }).synth();
  return JSON.parse(readFileSync(join(out, 'rules', 'plan.json'), 'utf8')) as Record<string, unknown>;
}

/** Runs f with SVCPLANE_REVISION set to v (or unset), restoring it after. */
function withRevisionEnv<T>(v: string | undefined, f: () => T): T {
  const before = process.env[REVISION_ENV];
  if (v === undefined) delete process.env[REVISION_ENV];
  else process.env[REVISION_ENV] = v;
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env[REVISION_ENV];
    else process.env[REVISION_ENV] = before;
  }
}

test('the committed dist/rules/plan.json carries the digest of its content and no revision', () => {
  const doc = JSON.parse(readFileSync('dist/rules/plan.json', 'utf8')) as Record<string, unknown>;
  assert.match(String(doc.digest), /^sha256:[0-9a-f]{64}$/);
  assert.equal(doc.revision, undefined, 'CI compares dist/ with a fresh synth that has no revision');
  assert.equal(loadPlan(doc).digest, doc.digest);
});

test('synth writes the same digest every run; the revision is stamped from the prop or SVCPLANE_REVISION and changes no digest', (t) => {
  const plain = withRevisionEnv(undefined, () => synthPlan(t));
  const again = withRevisionEnv(undefined, () => synthPlan(t));
  assert.equal(plain.digest, again.digest);
  assert.equal(plain.revision, undefined);
  const fromProp = withRevisionEnv(undefined, () => synthPlan(t, 'v1.2.3'));
  assert.equal(fromProp.revision, 'v1.2.3');
  assert.equal(fromProp.digest, plain.digest, 'the same Services from another commit are the same plan');
  const fromEnv = withRevisionEnv('4f2c9e1a', () => synthPlan(t));
  assert.equal(fromEnv.revision, '4f2c9e1a');
  assert.equal(withRevisionEnv('', () => synthPlan(t)).revision, undefined, 'an empty variable is no revision');
  assert.equal(withRevisionEnv('4f2c9e1a', () => synthPlan(t, 'tag-1')).revision, 'tag-1', 'the prop wins over the environment');
});

test('a revision that cannot be a label value fails the synth, naming the field', () => {
  const app = buildExampleApp({ outdir: mkdtempSync(join(tmpdir(), 'svcplane-digest-')), revision: 'has space' });
  assert.throws(() => app.check(), (e: unknown) => {
    assert.ok(e instanceof SvcplaneSynthError);
    assert.match(e.message, /revision \(or SVCPLANE_REVISION\).*"has space" must be 1-128 printable ASCII/);
    return true;
  });
});

test('the digest follows the content: a changed Service changes it, key order does not', (t) => {
  const doc = withRevisionEnv(undefined, () => synthPlan(t));
  const plan = loadPlan(doc);
  const services = plan.services.map((s, i) => (i === 0 ? { ...s, ports: s.ports.map((p) => ({ ...p, port: p.port + 1 })) } : s));
  assert.notEqual(planDigest({ ...plan, services }), plan.digest);
  // Keys written in another order: the same canonical bytes, the same digest.
  const reordered = Object.fromEntries(Object.entries(doc).reverse());
  assert.equal(planDigest(loadPlan(reordered)), plan.digest);
  assert.equal(canonicalJson({ b: 1, a: [{ d: undefined, c: 'x' }] }), '{"a":[{"c":"x"}],"b":1}');
});

test('loadPlan refuses a plan edited after synth (digest mismatch) and names the field; serializePlan recomputes it', (t) => {
  const doc = withRevisionEnv(undefined, () => synthPlan(t));
  const edited: Record<string, unknown> = { ...doc, nodePortRange: { min: 30000, max: 30001 } };
  assert.throws(() => loadPlan(edited, 'plan.json'), (e: unknown) => {
    assert.ok(isInputError(e));
    assert.equal(e.issues[0]!.field, 'digest');
    assert.match(e.issues[0]!.message, /does not match the plan's content/);
    return true;
  });
  const { digest: _d, ...noDigest } = edited;
  const plan = loadPlan(noDigest, 'hand-written.json');
  assert.equal(plan.digest, undefined, 'a plan without a digest loads (hand-written)');
  const rewritten = JSON.parse(serializePlan({ ...plan, digest: doc.digest as string })) as Record<string, unknown>;
  assert.equal(rewritten.digest, planDigest(plan), 'serializePlan never keeps a stale digest');
  assert.notEqual(rewritten.digest, doc.digest);
});
