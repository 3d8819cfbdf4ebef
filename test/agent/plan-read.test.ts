import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPlanInPieces } from '../../src/agent/plan-read.js';
import { InputError } from '../../src/model/errors.js';
import { loadPlan, serializePlan } from '../../src/model/plan.js';
import { plan, port, svc } from '../helpers/model.js';

/** Seven Services, a plan as serializePlan writes it (with its digest), parsed anew each call. */
const text = serializePlan(
  plan(
    Array.from({ length: 7 }, (_, i) =>
      svc({ name: `s${i}`, clusterIPs: [`10.96.0.${10 + i}`], ports: i % 2 ? [port(80), port(443, 8443, { name: 'tls' })] : [port(53, 53, { protocol: 'UDP' })], ...(i === 3 ? { externalIPs: ['192.0.2.3'] } : {}) }),
    ),
  ),
);
const doc = (edit: (d: { services: Record<string, unknown>[]; digest?: string }) => void = () => {}) => {
  const d = JSON.parse(text) as { services: Record<string, unknown>[]; digest?: string };
  edit(d);
  return d;
};

/** The issues a loader throws, as `field: message` lines. */
function issuesOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    return e.issues.map((i) => `${i.field}: ${i.message}`);
  }
  assert.fail('no error');
}

test('in pieces, the plan is the one loadPlan gives, digest checked, and the document is given away', () => {
  for (const piece of [1, 2, 3, 6, 7, 500]) {
    const given = doc();
    const got = loadPlanInPieces(given, 'plan.json', piece);
    assert.deepEqual(got, loadPlan(doc(), 'plan.json'), `pieces of ${piece}`);
    assert.equal(serializePlan(got), text);
    assert.deepEqual(Object.keys(got), Object.keys(loadPlan(doc(), 'plan.json')));
    if (piece < 7) assert.equal(given.services.length, 0, 'the parsed Services are let go');
  }
});

test('in pieces, every issue loadPlan finds, with its place in the whole list', () => {
  const cases: [string, Parameters<typeof doc>[0]][] = [
    ['bad fields in two pieces', (d) => {
      d.services[1]!.clusterIPs = ['10.96.0.x'];
      d.services[5]!.ports = [{ name: '', protocol: 'TCP', port: 0, targetPort: 80 }];
    }],
    ['out of order across a piece boundary', (d) => {
      [d.services[1], d.services[2]] = [d.services[2]!, d.services[1]!];
    }],
    ['an unknown top-level field (said once)', (d) => {
      (d as Record<string, unknown>).extra = 1;
    }],
    ['a Service edited after synth', (d) => {
      d.services[6]!.publishNotReadyAddresses = true;
    }],
    ['a malformed digest', (d) => {
      d.digest = 'sha1:abc';
    }],
  ];
  for (const [what, edit] of cases) {
    const whole = issuesOf(() => loadPlan(doc(edit), 'plan.json'));
    assert.ok(whole.length > 0, what);
    assert.deepEqual(issuesOf(() => loadPlanInPieces(doc(edit), 'plan.json', 2)), whole, what);
  }
});
