import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlanInPieces, readPlanFile } from '../../src/agent/plan-read.js';
import { PlanServicesScan } from '../../src/agent/plan-services-scan.js';
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

// The file read as it streams (plan-services-scan.ts): the same plan and the same errors as the whole read.

/** What the scan hands on for `text` fed in pieces of `size` characters: the head parsed, each element parsed. */
function scanned(text: string, size: number): { head: unknown; elements: unknown[]; streamed: boolean } {
  let head: unknown;
  const elements: unknown[] = [];
  const scan = new PlanServicesScan((t) => (head = JSON.parse(t)), (t) => elements.push(JSON.parse(t)));
  for (let i = 0; i < text.length; i += size) scan.push(text.slice(i, i + size));
  return { head, elements, streamed: scan.streamed() };
}

test('the scan hands on the services array element by element, wherever the chunks are cut', () => {
  const tricky = JSON.stringify({
    apiVersion: 'x',
    'a "services" name': ['services', '[', { services: [1, 2] }],
    note: 'brackets ] } [ { and escapes \\" \\\\ in "strings"',
    services: [{ name: 'a]b', n: [1, [2]], s: '\\"}' }, 'str,with,commas', 3, null, [], {}],
  }, null, 1);
  const whole = JSON.parse(tricky) as { services: unknown[] };
  for (const size of [1, 2, 3, 7, 64, tricky.length]) {
    const got = scanned(tricky, size);
    assert.ok(got.streamed, `size ${size}`);
    assert.deepEqual(got.elements, whole.services, `size ${size}`);
    assert.deepEqual(got.head, { ...whole, services: [] }, `size ${size}`);
  }
  assert.deepEqual(scanned('{"services": [ ]}', 1), { head: { services: [] }, elements: [], streamed: true });
  // Not streamed: a member after the array, no such array, not an object.
  assert.equal(scanned('{"services": [1], "kind": "x"}', 4).streamed, false);
  assert.equal(scanned('{"kind": "x"}', 4).streamed, false);
  assert.equal(scanned('[{"services": [1]}]', 4).streamed, false);
});

test('readPlanFile: the plan and the errors of the whole read, streamed or not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'svp-plan-read-'));
  try {
    const file = join(dir, 'plan.json');
    const read = async (content: string, piece: number) => {
      await writeFile(file, content);
      try {
        return { plan: await readPlanFile(file, piece) };
      } catch (e) {
        return { error: e instanceof InputError ? e.issues.map((i) => `${i.field}: ${i.message}`) : String(e) };
      }
    };
    const whole = async (content: string) => {
      try {
        return { plan: loadPlan(JSON.parse(content), file) };
      } catch (e) {
        return { error: e instanceof InputError ? e.issues.map((i) => `${i.field}: ${i.message}`) : String(e) };
      }
    };
    const edited = (edit: Parameters<typeof doc>[0]) => JSON.stringify(doc(edit));
    const cases: [string, string][] = [
      ['as synth writes it', text],
      ['on one line', JSON.stringify(JSON.parse(text))],
      ['services not last', JSON.stringify((({ services, ...rest }) => ({ services, ...rest }))(doc()))],
      ['bad fields in two pieces', edited((d) => {
        d.services[1]!.clusterIPs = ['10.96.0.x'];
        d.services[5]!.ports = [];
      })],
      ['out of order', edited((d) => {
        [d.services[1], d.services[2]] = [d.services[2]!, d.services[1]!];
      })],
      ['a malformed digest', edited((d) => {
        d.digest = 'sha1:abc';
      })],
      ['not JSON in a Service', text.replace('"s3"', 's3')],
      ['not JSON after the array', `${text.trimEnd()} x`],
      ['cut short', text.slice(0, text.length / 2)],
    ];
    for (const [what, content] of cases) {
      const want = await whole(content);
      for (const piece of [2, 3, 500]) assert.deepEqual(await read(content, piece), want, `${what}, pieces of ${piece}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
